#!/usr/bin/env bash
# Issue 12's bad inputs against the built CLI: each prints one line, in our words, and its exit
# code. Usage: tools/bad-inputs.sh [RESULT.json]   (a valid result file to mutate; default
# results/baseline.json). Works in a fresh temporary directory, removed afterwards.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$here/.build/debug/overlaybench}
valid=$(realpath "${1:-$here/results/baseline.json}")
dir=$(mktemp -d /tmp/overlaybench-bad.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
: > empty.json
mkdir results-dir
printf '{"schema": "overlaybench.result/1", "incomplete": false, "environment": {' > truncated.json
printf '{"schema": "overlaybench.compare/1", "rows": []}\n' > compare.json
python3 - "$valid" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r['measurements'] = r['measurements'][:5]
json.dump(r, open('r.json', 'w'))
del r['measurements'][2]['unit']
json.dump(r, open('results.json', 'w'))
PY
printf 'name: s\nprobes:\n  - probe: copyup\n    sizez: [4KiB]\n' > suite.yaml
printf '{"op":"open","path":"a","flags":["read"],"mode":420}\n{"op":"write","path":"a","offset":0,"length":1}\n' > trace.jsonl
t() { out=$("$B" "$@" 2>&1 >/dev/null); rc=$?; printf -- '- `overlaybench %s` → %s: `%s`\n' "$*" "$rc" "$out"; }
t report empty.json --out rep
t run --suite /dev/null
t report results-dir --out rep
t export missing.json --format csv
t replay missing.jsonl --lower l --upper u --work w
t export truncated.json --format csv
t export compare.json --format csv
t export results.json --format csv
t run --suite suite.yaml
t replay trace.jsonl --lower l --upper u --work w
t export r.json --format csv --out /nonexistent/dir/x.csv
t run copyup --samples 0
t run copyup --samples -3
t run lookup --depths 0
t run copyup --sizes -1KiB
t run copyup --jobs 100000
t compare r.json empty.json
t report r.json --predict 0 --out rep
t compare r.json r.json --threshold 150%
