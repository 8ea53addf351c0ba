// An independent timing of run shift's idmapped-layers time-to-ready: a user namespace with
// 0:100000:65536 (clone(CLONE_NEWUSER), maps written, /proc/PID/ns/user opened), one idmapped
// bind mount per lower layer (open_tree, mount_setattr MOUNT_ATTR_IDMAP, move_mount), then the
// kernel overlay over them, timed with CLOCK_MONOTONIC from the namespace to the overlay mount.
// Each round unmounts everything and starts a new, empty upper. Prints the median of the rounds.
// Usage: verify-idmap SCRATCH ROUNDS LOWER... (top-first; SCRATCH must exist and be empty).
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int child(void *unused) { (void)unused; for (;;) pause(); return 0; }

static void write_map(pid_t pid, const char *file) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
    int fd = open(path, O_WRONLY);
    if (fd < 0 || write(fd, "0 100000 65536\n", 15) != 15) { perror(path); exit(1); }
    close(fd);
}

static int userns(void) {
    char *stack = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    pid_t pid = clone(child, stack + 65536, CLONE_NEWUSER | SIGCHLD, NULL);
    if (pid < 0) { perror("clone"); exit(1); }
    write_map(pid, "uid_map");
    write_map(pid, "gid_map");
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/user", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    munmap(stack, 65536);
    return fd;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int compare(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return (x > y) - (x < y); }

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s SCRATCH ROUNDS LOWER...\n", argv[0]); return 2; }
    const char *scratch = argv[1];
    int rounds = atoi(argv[2]), layers = argc - 3;
    double *times = calloc(rounds, sizeof *times);
    char path[4096], data[4096];
    for (int r = 0; r < rounds; r++) {
        snprintf(path, sizeof path, "%s/r%d", scratch, r);
        mkdir(path, 0700);
        for (const char *d = "upper\0work\0merged\0"; *d; d += strlen(d) + 1) {
            snprintf(path, sizeof path, "%s/r%d/%s", scratch, r, d);
            mkdir(path, 0755);
        }
        snprintf(path, sizeof path, "%s/r%d/upper", scratch, r);
        chown(path, 100000, 100000);
        double start = now();
        int ns = userns();
        int used = snprintf(data, sizeof data, "lowerdir=");
        for (int i = 0; i < layers; i++) {
            snprintf(path, sizeof path, "%s/r%d/l%d", scratch, r, i);
            mkdir(path, 0755);
            int tree = open_tree(AT_FDCWD, argv[3 + i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
            struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = ns };
            if (tree < 0 || mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0
                || move_mount(tree, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0) { perror(argv[3 + i]); return 1; }
            close(tree);
            used += snprintf(data + used, sizeof data - used, "%s%s", i ? ":" : "", path);
        }
        snprintf(data + used, sizeof data - used, ",upperdir=%s/r%d/upper,workdir=%s/r%d/work", scratch, r, scratch, r);
        snprintf(path, sizeof path, "%s/r%d/merged", scratch, r);
        if (mount("overlay", path, "overlay", 0, data) < 0) { perror("mount overlay"); return 1; }
        times[r] = now() - start;
        close(ns);
        umount2(path, 0);
        for (int i = 0; i < layers; i++) {
            snprintf(path, sizeof path, "%s/r%d/l%d", scratch, r, i);
            umount2(path, 0);
        }
        usleep(20000);
    }
    qsort(times, rounds, sizeof *times, compare);
    printf("idmapped-layers ready by hand: median %.3f ms over %d rounds (min %.3f, max %.3f), %d layers\n",
           times[rounds / 2], rounds, times[0], times[rounds - 1], layers);
    return 0;
}
