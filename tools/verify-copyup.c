/*
 * An independent timing of first-write copy-up, to check OverlayBench's numbers.
 *
 * usage: verify-copyup [-q INFLIGHT] MERGED_DIR LOWER_DIR WARMUP_FILE RELATIVE_FILE...
 * For each file: read it fully from LOWER_DIR (warm cache), then time open(O_WRONLY), pwrite of
 * one byte at offset 0, close on MERGED_DIR/file with CLOCK_MONOTONIC. The first file is a
 * warm-up, timed but left out of the median, as OverlayBench's --warmup 1 does. Between samples
 * it does what OverlayBench does outside its timed region: read the copied-up file back (the
 * verification) and write the byte again (the second write), so both tools pace the disk alike.
 * With -q (OverlayBench's default quiescing), before each timed write it syncfs(2)s the
 * filesystem of LOWER_DIR (which holds the upper layer too) and waits until INFLIGHT (e.g.
 * /sys/dev/block/254:0/inflight) reads "0 0".
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

static const char *inflight_path;
static int quiesce_fd = -1;

/* syncfs, then poll the device's in-flight counters until both are zero (at most 10 s). */
static void quiesce(void) {
    if (quiesce_fd < 0) return;
    if (syncfs(quiesce_fd) != 0) { perror("syncfs"); exit(1); }
    for (int i = 0; i < 100000; i++) {
        long r = -1, w = -1;
        FILE *f = fopen(inflight_path, "r");
        if (!f || fscanf(f, "%ld %ld", &r, &w) != 2) { perror(inflight_path); exit(1); }
        fclose(f);
        if (r == 0 && w == 0) return;
        struct timespec pause = {0, 100000};
        nanosleep(&pause, NULL);
    }
}

static int compare(const void *a, const void *b) {
    unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[1], "-q") == 0) {
        inflight_path = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (argc < 5) { fprintf(stderr, "usage: %s [-q INFLIGHT] MERGED LOWER WARMUP_FILE FILE...\n", argv[0]); return 64; }
    if (inflight_path && (quiesce_fd = open(argv[2], O_RDONLY | O_DIRECTORY)) < 0) { perror(argv[2]); return 1; }
    int n = argc - 3;
    unsigned long long *samples = calloc((size_t)n, sizeof *samples);
    char path[4096];
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", argv[2], argv[i + 3]);
        warm(path);
        snprintf(path, sizeof path, "%s/%s", argv[1], argv[i + 3]);
        unsigned char byte = 0xA5;
        quiesce();
        unsigned long long start = now_ns();
        int fd = open(path, O_WRONLY);
        if (fd < 0) { perror(path); return 1; }
        if (pwrite(fd, &byte, 1, 0) != 1) { perror("pwrite"); return 1; }
        if (close(fd) != 0) { perror("close"); return 1; }
        samples[i] = now_ns() - start;
        printf("%llu\n", samples[i]);
        warm(path);
        quiesce();
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
