#!/usr/bin/env bash
# Checks OverlayBench's copy-up figures against an independent C timing of the same syscalls
# (open O_WRONLY, pwrite 1 byte, close) on the same kind of mount (mount -t overlay, one lower
# layer on the same filesystem), alternating the two tools ROUNDS times. Both run the same
# sequence: one size at a time, one warm-up sample, then 10 timed first writes, each quiesced
# first as OverlayBench does by default (syncfs, then the device's inflight counters at zero).
# usage: tools/verify-copyup.sh [ROUNDS]   (root; run after `swift build -c release`)
#        QUIESCE=0 tools/verify-copyup.sh   compares back-to-back timings (--no-quiesce) instead
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
bin=.build/release/overlaybench
work=/var/tmp/overlaybench-verify
gcc -O2 -o tools/verify-copyup tools/verify-copyup.c
mkdir -p "$work"
quiesce="${QUIESCE:-1}"
inflight="/sys/dev/block/$(findmnt -no MAJ:MIN -T "$work" | tr -d " ")/inflight"
c_flags=() suite_flags=()
if [ "$quiesce" = 1 ]; then c_flags=(-q "$inflight"); else suite_flags=(--no-quiesce); fi
trap 'mountpoint -q "$work/stack/overlay2/merged-c" && umount "$work/stack/overlay2/merged-c"; rm -rf "$work"' EXIT

# The root ext4 here is mounted with online discard: deleting a tree queues discards that compete
# with the next fsyncs. Each tool starts only after the previous deletions have settled.
settle() { sync; sleep 3; }

for round in $(seq 1 "$rounds"); do
  for size in 1MiB 16MiB; do
    rm -rf "$work/stack" && mkdir -p "$work/stack"
    $bin generate --out "$work/stack" --layers 1 --sizes "$size" --files-per-size 11 --seed "$round" > "$work/gen.txt"
    upper=$(awk '/^upperdir:/ {print $2}' "$work/gen.txt")
    wrk=$(awk '/^workdir:/ {print $2}' "$work/gen.txt")
    lower=$(dirname "$(readlink -f "$work/stack/overlay2/l/$(awk -F'[:/]' '/^lowerdir:/ {print $3}' "$work/gen.txt")")")/diff
    merged="$work/stack/overlay2/merged-c"
    mkdir -p "$merged"
    mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$wrk" "$merged"
    bytes=$(ls "$lower/files")
    files=$(for i in $(seq 0 10); do echo "files/$bytes/f$i"; done)
    settle
    tools/verify-copyup "${c_flags[@]}" "$merged" "$lower" $files | awk -v s="$size" '/median/ {printf "round %s  C program      %-6s median %.3f ms\n", '"$round"', s, $2/1e6}'
    umount "$merged"
  done
  for size in 1MiB 16MiB; do
    settle
    $bin run copyup --backend kernel --sizes "$size" --samples 10 --warmup 1 --work-root "$work/root" --json --quiet "${suite_flags[@]}" \
      | python3 -c '
import json, sys
r = json.load(sys.stdin)
for m in r["measurements"]:
    if m["metric"] == "firstWrite":
        print("round %s  overlaybench   %-6s median %.3f ms" % (sys.argv[1], sys.argv[2], m["summary"]["p50"] / 1e6))
' "$round" "$size"
  done
done
