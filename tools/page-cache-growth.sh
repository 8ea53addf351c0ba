#!/usr/bin/env bash
# Shows what a growing page cache does to a 1 MiB write into a new file on this machine (issue 13,
# SamplingPlan.releasePages): little cached, 900 MiB of earlier data cached, that data dropped.
# usage: tools/page-cache-growth.sh   (root; writes about 1 GiB under /var/tmp and removes it)
set -euo pipefail
cd "$(dirname "$0")/.."
work=/var/tmp/overlaybench-page-cache-growth
gcc -O2 -o tools/page-cache-growth tools/page-cache-growth.c
rm -rf "$work" && mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
probe() { echo "$1: $(tools/page-cache-growth "$work" 25 1048576)"; rm -f "$work"/p*; }
grep -o 'page_reporting[^ ]*' /proc/cmdline || echo "no page_reporting option on the kernel command line"
sync; echo 3 > /proc/sys/vm/drop_caches
probe "little cached"
dd if=/dev/urandom of="$work/big" bs=1M count=900 conv=fsync status=none
probe "900 MiB cached"
python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "$work/big"
probe "900 MiB dropped (POSIX_FADV_DONTNEED)"
