#!/usr/bin/env bash
# Checks `run shift`'s figures on a stack of the same shape (FILES files of 4 KiB, 100 to a
# directory, file i in lower layer i % 4) against independent timings, alternating, ROUNDS times:
# - chown: coreutils' own chown -R through a kernel overlay with the defaults, timed by bash;
# - idmapped-layers: tools/verify-idmap.c (user namespace, idmapped bind mounts, overlay mount,
#   timed with CLOCK_MONOTONIC; built here with cc). Everything lives in a fresh directory under /var/tmp that is unmounted and removed on
# exit, also on error and Ctrl-C. Usage: tools/verify-shift.sh [ROUNDS] (FILES=10000).
set -euo pipefail
rounds=${1:-3}
files=${FILES:-10000}
bench=${OVERLAYBENCH:-.build/release/overlaybench}
scratch=$(mktemp -d /var/tmp/verify-shift.XXXXXX)
cleanup() {
  mountpoint -q "$scratch/merged" && umount "$scratch/merged"
  for m in "$scratch"/idmap/r*/merged "$scratch"/idmap/r*/l?; do mountpoint -q "$m" 2>/dev/null && umount "$m"; done
  rm -rf --one-file-system "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for layer in 0 1 2 3; do mkdir -p "$scratch/l$layer"; done
for ((i = 0; i < files; i++)); do
  d="$scratch/l$((i % 4))/d$((i / 100))"
  [ -d "$d" ] || mkdir -p "$d"
  head -c 4096 /dev/urandom > "$d/f$i"
done
sync

for ((r = 1; r <= rounds; r++)); do
  rm -rf "$scratch/upper" "$scratch/work"
  mkdir -p "$scratch/upper" "$scratch/work" "$scratch/merged"
  find "$scratch"/l? > /dev/null   # warm, as the suite's warm preparation does
  sync
  mount -t overlay overlay -o "lowerdir=$scratch/l3:$scratch/l2:$scratch/l1:$scratch/l0,upperdir=$scratch/upper,workdir=$scratch/work" "$scratch/merged"
  start=$(date +%s%N)
  chown -R 100000:100000 "$scratch/merged"
  end=$(date +%s%N)
  umount "$scratch/merged"
  by_hand=$(( (end - start) / 1000000 ))
  suite=$("$bench" run shift --backend kernel --methods chown --files "$files" --samples 3 --json 2>/dev/null \
    | python3 -c 'import json,sys; r=json.load(sys.stdin); print(round([m for m in r["measurements"] if m["metric"]=="ready"][0]["summary"]["p50"]/1e6))')
  echo "round $r: chown -R by hand ${by_hand} ms, run shift chown ready p50 ${suite} ms, suite/hand $(python3 -c "print(round($suite/$by_hand, 2))")"
done

cc -O2 -Wall -o tools/verify-idmap tools/verify-idmap.c
for ((r = 1; r <= rounds; r++)); do
  rm -rf "$scratch/idmap" && mkdir "$scratch/idmap"
  tools/verify-idmap "$scratch/idmap" 9 "$scratch/l3" "$scratch/l2" "$scratch/l1" "$scratch/l0"
  "$bench" run shift --backend kernel --methods idmapped-layers --files "$files" --samples 9 --json 2>/dev/null \
    | python3 -c 'import json,sys; r=json.load(sys.stdin); print("run shift idmapped-layers ready p50 %.3f ms" % ([m for m in r["measurements"] if m["metric"]=="ready"][0]["summary"]["p50"]/1e6))'
done
