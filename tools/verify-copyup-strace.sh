#!/usr/bin/env bash
# Checks OverlayBench's copy-up timings against an independent timing of the very same syscalls:
# `strace -T` records the time the kernel spent in each openat/pwrite64/close of the run, and the
# first openat of each lower-only file (plus its pwrite64 and close) is the first write.
# usage: tools/verify-copyup-strace.sh [SIZES]   (root; after `swift build -c release`)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes="${1:-1MiB,16MiB}"
trace=$(mktemp /tmp/overlaybench-strace.XXXXXX)
result=$(mktemp /tmp/overlaybench-result.XXXXXX)
trap 'rm -f "$trace" "$result"' EXIT
strace -f -T -e trace=openat,pwrite64,close -o "$trace" \
  .build/release/overlaybench run copyup --backend kernel --sizes "$sizes" --samples 10 --warmup 1 \
  --work-root /var/tmp/overlaybench-verify-strace --json --quiet > "$result"
python3 - "$trace" "$result" <<'PY'
import json, re, statistics, sys
trace, result = sys.argv[1], sys.argv[2]
r = json.load(open(result))
ob = {m["parameters"]["size"]: m["summary"]["p50"] for m in r["measurements"] if m["metric"] == "firstWrite"}
lines = open(trace).read().splitlines()
pat = re.compile(r'openat\(\d+, "copyup/(\d+)/w(\d+)", O_WRONLY\|O_CLOEXEC\) = (\d+) <([\d.]+)>')
seen, samples = set(), {}
for i, line in enumerate(lines):
    m = pat.search(line)
    if not m or (int(m[1]), int(m[2])) in seen:
        continue                      # a second open of the same file is the second write
    seen.add((int(m[1]), int(m[2])))
    fd, total = m[3], float(m[4])
    for follow in lines[i + 1:i + 6]:
        w = re.search(r"pwrite64\(%s, .*= 1 <([\d.]+)>" % fd, follow)
        c = re.search(r"close\(%s\)\s+= 0 <([\d.]+)>" % fd, follow)
        if w: total += float(w[1])
        if c: total += float(c[1]); break
    if int(m[2]) >= 1:                # w0 is the warm-up
        samples.setdefault(int(m[1]), []).append(total * 1e9)
for size in sorted(samples):
    s = statistics.median(samples[size])
    print(f"{size:>10} B  strace -T median {s/1e6:8.3f} ms   overlaybench p50 {ob[size]/1e6:8.3f} ms   ratio {ob[size]/s:.3f}")
PY
