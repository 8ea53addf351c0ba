#!/usr/bin/env bash
# The regression gate's evidence (issue 14): five same-configuration pairs of
# suites/nightly-short.yaml, each compared; a run with a busy loop on every CPU compared with the
# last quiet one; and a copy-up run with volatile as the baseline against the defaults (--force).
# Usage: tools/gate-pairs.sh OUTDIR   (after `swift build -c release`; run as root)
#        REPEAT=3 tools/gate-pairs.sh OUTDIR   runs every suite run with --repeat 3, so that compare
#        takes its run-to-run allowance from the measured between-repeat spread
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$here/.build/release/overlaybench}
S=$here/suites/nightly-short.yaml
out=${1:?usage: tools/gate-pairs.sh OUTDIR}
mkdir -p "$out"
repeat=(--repeat "${REPEAT:-1}")
for i in $(seq 1 "${PAIRS:-5}"); do
  "$B" run --suite "$S" --out "$out/a$i.json" --force --quiet "${repeat[@]}" > "$out/a$i.log" 2>&1
  "$B" run --suite "$S" --out "$out/b$i.json" --force --quiet "${repeat[@]}" > "$out/b$i.log" 2>&1
  "$B" compare "$out/a$i.json" "$out/b$i.json" > "$out/cmp$i.txt" 2>&1; rc=$?
  echo "pair $i rc=$rc $(grep -E 'regression\(s\)' "$out/cmp$i.txt" | tail -1)" | tee -a "$out/summary.txt"
done
pids=()
for _ in $(seq "$(nproc)"); do ( while :; do :; done ) & pids+=($!); done
"$B" run --suite "$S" --out "$out/busy.json" --force --quiet "${repeat[@]}" > "$out/busy.log" 2>&1
kill "${pids[@]}"
"$B" compare "$out/b${PAIRS:-5}.json" "$out/busy.json" > "$out/cmp-busy.txt" 2>&1; rc=$?
echo "busy rc=$rc $(grep -E 'regression\(s\)' "$out/cmp-busy.txt" | tail -1)" | tee -a "$out/summary.txt"
"$B" run copyup --backend kernel --sizes 4KiB,1MiB --samples 10 --mount-options volatile --out "$out/volatile.json" --force --quiet > "$out/volatile.log" 2>&1
"$B" run copyup --backend kernel --sizes 4KiB,1MiB --samples 10 --out "$out/defaults.json" --force --quiet > "$out/defaults.log" 2>&1
"$B" compare "$out/volatile.json" "$out/defaults.json" --force > "$out/cmp-volatile.txt" 2>&1; rc=$?
echo "volatile-vs-defaults rc=$rc $(grep -E 'regression\(s\)' "$out/cmp-volatile.txt" | tail -1)" | tee -a "$out/summary.txt"
