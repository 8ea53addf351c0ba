/*
 * An independent timing of a cold lookup through an overlay mount, to check OverlayBench's
 * `lookup --cache cold` figures and what "cold" leaves cached.
 *
 * usage: verify-lookup MERGED_DIR NAME SAMPLES [MODE]
 * The process changes into MERGED_DIR (so the merged root stays pinned, as the suite's open
 * root descriptor pins it), then per sample: sync, drop_caches=3 twice, and times one
 * statx(AT_FDCWD, NAME) with CLOCK_MONOTONIC. It reads its own read_bytes from /proc/self/io
 * before and after the call (what this process read from storage, whatever else the machine
 * does) and prints "ns bytes" per line, then "median NS BYTES".
 * MODE "warmfirst" stats NAME once before each drop, as the suite's warm rounds leave it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static unsigned long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static long long read_bytes(void) {
    FILE *f = fopen("/proc/self/io", "r");
    char line[256];
    long long value = -1;
    if (!f) { perror("/proc/self/io"); exit(1); }
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "read_bytes: %lld", &value) == 1) break;
    }
    fclose(f);
    return value;
}

static void drop(void) {
    sync();
    for (int pass = 0; pass < 2; pass++) {
        int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
        if (fd < 0 || write(fd, "3\n", 2) != 2) { perror("drop_caches"); exit(1); }
        close(fd);
    }
}

static int compare(const void *a, const void *b) {
    unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s MERGED NAME SAMPLES [warmfirst]\n", argv[0]); return 64; }
    int n = atoi(argv[3]);
    int warm_first = argc > 4 && strcmp(argv[4], "warmfirst") == 0;
    if (chdir(argv[1]) != 0) { perror(argv[1]); return 1; }
    unsigned long long *samples = calloc((size_t)n, sizeof *samples);
    unsigned long long *counts = calloc((size_t)n, sizeof *counts);
    struct statx sx;
    for (int i = 0; i < n; i++) {
        if (warm_first) statx(AT_FDCWD, argv[2], AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx);
        drop();
        long long before = read_bytes();
        unsigned long long start = now_ns();
        int rc = statx(AT_FDCWD, argv[2], AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx);
        samples[i] = now_ns() - start;
        counts[i] = (unsigned long long)(read_bytes() - before);
        if (rc != 0) { perror(argv[2]); return 1; }
        printf("%llu %llu\n", samples[i], counts[i]);
    }
    qsort(samples, (size_t)n, sizeof *samples, compare);
    qsort(counts, (size_t)n, sizeof *counts, compare);
    printf("median %llu %llu\n", samples[n / 2], counts[n / 2]);
    return 0;
}
