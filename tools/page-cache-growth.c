/*
 * Why a copy-up's figure depended on what ran before it (issue 13): times write(2) of SIZE bytes
 * into a new file and its fsync(2), N times 200 ms apart, and prints the medians.
 *
 * usage: page-cache-growth DIR N SIZE
 * Run by tools/page-cache-growth.sh with little cached, with 900 MiB of earlier data cached, and
 * after that data is dropped with POSIX_FADV_DONTNEED. On a VM with free page reporting the
 * write(2) is slower with much cached: its new pages come from memory the host took back.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s DIR N SIZE\n", argv[0]); return 64; }
    int n = atoi(argv[2]);
    size_t size = (size_t)atol(argv[3]);
    if (n < 1 || n > 1000 || size == 0) { fprintf(stderr, "N must be 1-1000 and SIZE positive\n"); return 64; }
    char *buffer = malloc(size);
    memset(buffer, 7, size);
    double writes[1000], fsyncs[1000];
    char path[4096];
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/p%d", argv[1], i);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) { perror(path); return 1; }
        double start = now_ms();
        if (write(fd, buffer, size) != (ssize_t)size) { perror("write"); return 1; }
        double written = now_ms();
        if (fsync(fd) != 0) { perror("fsync"); return 1; }
        double synced = now_ms();
        close(fd);
        writes[i] = written - start;
        fsyncs[i] = synced - written;
        usleep(200000);
    }
    qsort(writes, (size_t)n, sizeof *writes, compare);
    qsort(fsyncs, (size_t)n, sizeof *fsyncs, compare);
    printf("write median %.3f ms  fsync median %.3f ms\n", writes[n / 2], fsyncs[n / 2]);
    return 0;
}
