/*
 * An independent timing of first-write copy-up, to check OverlayBench's numbers.
 *
 * usage: verify-copyup MERGED_DIR LOWER_DIR WARMUP_FILE RELATIVE_FILE...
 * For each file: read it fully from LOWER_DIR (warm cache), then time open(O_WRONLY), pwrite of
 * one byte at offset 0, close on MERGED_DIR/file with CLOCK_MONOTONIC. The first file is a
 * warm-up, timed but left out of the median, as OverlayBench's --warmup 1 does. Between samples
 * it does what OverlayBench does outside its timed region: read the copied-up file back (the
 * verification) and write the byte again (the second write), so both tools pace the disk alike.
 * Prints one latency in nanoseconds per line, then "median NS".
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static unsigned long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static void warm(const char *path) {
    static char buffer[1 << 20];
    int fd = open(path, O_RDONLY);
    if (fd < 0) { perror(path); exit(1); }
    while (read(fd, buffer, sizeof buffer) > 0) {}
    close(fd);
}

static int compare(const void *a, const void *b) {
    unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: %s MERGED LOWER WARMUP_FILE FILE...\n", argv[0]); return 64; }
    int n = argc - 3;
    unsigned long long *samples = calloc((size_t)n, sizeof *samples);
    char path[4096];
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", argv[2], argv[i + 3]);
        warm(path);
        snprintf(path, sizeof path, "%s/%s", argv[1], argv[i + 3]);
        unsigned char byte = 0xA5;
        unsigned long long start = now_ns();
        int fd = open(path, O_WRONLY);
        if (fd < 0) { perror(path); return 1; }
        if (pwrite(fd, &byte, 1, 0) != 1) { perror("pwrite"); return 1; }
        if (close(fd) != 0) { perror("close"); return 1; }
        samples[i] = now_ns() - start;
        printf("%llu\n", samples[i]);
        warm(path);
        fd = open(path, O_WRONLY);
        if (fd < 0 || pwrite(fd, &byte, 1, 0) != 1 || close(fd) != 0) { perror("second write"); return 1; }
    }
    /* Drop the warm-up sample. */
    samples++;
    n--;
    qsort(samples, (size_t)n, sizeof *samples, compare);
    unsigned long long median = n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
    printf("median %llu\n", median);
    return 0;
}
