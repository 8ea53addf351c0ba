#!/usr/bin/env bash
# Checks OverlayBench's cold bottom-layer lookup against an independent C timing
# (tools/verify-lookup.c) on a stack built and mounted by hand, alternating the two tools
# ROUNDS times. The hand-made stack has DEPTH lower layers, each with a directory `merged`
# and a file of its own; only the bottom one holds the name `bottom`, as the suite's does.
# Both tools sync and drop the caches twice before every sample and keep the merged root
# pinned (the C program by its working directory, the suite by its root descriptor).
# usage: tools/verify-lookup.sh [ROUNDS] [DEPTH]   (root; run after `swift build -c release`)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
depth="${2:-128}"
samples=11
bin=.build/release/overlaybench
work=/var/tmp/overlaybench-verify-lookup
gcc -O2 -o tools/verify-lookup tools/verify-lookup.c
rm -rf "$work" && mkdir -p "$work/layers" "$work/upper" "$work/work" "$work/merged"
trap 'mountpoint -q "$work/merged" && umount "$work/merged"; rm -rf "$work"' EXIT

lowers=""
for i in $(seq 0 $((depth - 1))); do
  mkdir -p "$work/layers/$i/merged"
  : > "$work/layers/$i/merged/f$i"
  : > "$work/layers/$i/own$i"
  lowers="$lowers${lowers:+:}$i"
done
: > "$work/layers/$((depth - 1))/bottom"
sync
# Relative lower paths keep the option string under a page at any depth.
(cd "$work/layers" && mount -t overlay overlay -o "lowerdir=$lowers,upperdir=../upper,workdir=../work" ../merged)

for round in $(seq 1 "$rounds"); do
  tools/verify-lookup "$work/merged" bottom "$samples" \
    | awk -v r="$round" '/^median/ {printf "round %s  C program      median %.3f ms  read %d KiB\n", r, $2 / 1e6, $3 / 1024}'
  $bin run lookup --backend kernel --depths "$depth" --cache cold --samples "$samples" --warmup 1 \
      --work-root "$work/root" --json --quiet \
    | python3 -c '
import json, sys
r = json.load(sys.stdin)
stat = reads = None
for m in r["measurements"]:
    p = m["parameters"]
    if p.get("position") == "bottom" and p.get("cache") == "cold":
        if m["metric"] == "stat": stat = m["summary"]["p50"]
        if m["metric"] == "readBytes": reads = m["summary"]["p50"]
print("round %s  overlaybench   median %.3f ms  read %d KiB" % (sys.argv[1], stat / 1e6, reads / 1024))
' "$round"
done
