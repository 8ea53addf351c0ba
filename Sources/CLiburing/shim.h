// The C side of OverlayBench's System layer: liburing, plus thin non-variadic
// helpers for what Swift cannot call or import (variadic syscall/ioctl, macros,
// IOSQE_* flags). Only OverlaySystem imports this module.
#ifndef OVERLAYBENCH_CLIBURING_SHIM_H
#define OVERLAYBENCH_CLIBURING_SHIM_H

// <liburing.h> alone clashes with Glibc's fd_set, sigset_t and cpu_set_t;
// these must come first.
#include <sys/select.h>
#include <signal.h>
#include <sched.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>
#include <dlfcn.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/sendfile.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <linux/stat.h>

#include <liburing.h>

// MARK: - Constants Swift cannot see (macros behind _GNU_SOURCE or with casts)

enum {
    CL_IOSQE_FIXED_FILE = IOSQE_FIXED_FILE,
    CL_IOSQE_IO_DRAIN = IOSQE_IO_DRAIN,
    CL_IOSQE_IO_LINK = IOSQE_IO_LINK,
    CL_IOSQE_IO_HARDLINK = IOSQE_IO_HARDLINK,
    CL_IOSQE_ASYNC = IOSQE_ASYNC,

    CL_SEEK_DATA = 3,
    CL_SEEK_HOLE = 4,
    CL_O_TMPFILE = 020000000 | O_DIRECTORY,
    CL_O_PATH = 010000000,
    CL_O_NOATIME = 01000000,
    CL_AT_EMPTY_PATH = 0x1000,
    CL_SPLICE_F_MOVE = 1,

    // <linux/mount.h>: the new mount API. Including that header beside
    // glibc's <sys/mount.h> redefines these, so they are spelled out here.
    CL_FSOPEN_CLOEXEC = 0x00000001,
    CL_FSCONFIG_SET_FLAG = 0,
    CL_FSCONFIG_SET_STRING = 1,
    CL_FSCONFIG_CMD_CREATE = 6,
    CL_FSMOUNT_CLOEXEC = 0x00000001,
    CL_MOVE_MOUNT_F_EMPTY_PATH = 0x00000004,
    CL_MNT_FORCE = 1,
    CL_MNT_DETACH = 2,
    CL_UMOUNT_NOFOLLOW = 8,

    // <linux/openat2.h>
    CL_RESOLVE_NO_XDEV = 0x01,
    CL_RESOLVE_NO_MAGICLINKS = 0x02,
    CL_RESOLVE_NO_SYMLINKS = 0x04,
    CL_RESOLVE_BENEATH = 0x08,
    CL_RESOLVE_IN_ROOT = 0x10,

    CL_RENAME_NOREPLACE = 1,
    CL_RENAME_EXCHANGE = 2,
    CL_RENAME_WHITEOUT = 4,
};

// FICLONE is _IOW(0x94, 9, int); <linux/fs.h> conflicts with <sys/mount.h>.
#define CL_FICLONE _IOW(0x94, 9, int)

// MARK: - Non-variadic syscall helpers. Each returns -1 and sets errno on failure.

static inline int cl_mount(const char *source, const char *target, const char *fstype,
                           unsigned long flags, const void *data) {
    return (int)syscall(SYS_mount, source, target, fstype, flags, data);
}
static inline int cl_umount2(const char *target, int flags) {
    return (int)syscall(SYS_umount2, target, flags);
}
static inline int cl_fsopen(const char *fsname, unsigned int flags) {
    return (int)syscall(SYS_fsopen, fsname, flags);
}
static inline int cl_fsconfig(int fd, unsigned int cmd, const char *key, const void *value, int aux) {
    return (int)syscall(SYS_fsconfig, fd, cmd, key, value, aux);
}
static inline int cl_fsmount(int fd, unsigned int flags, unsigned int attr_flags) {
    return (int)syscall(SYS_fsmount, fd, flags, attr_flags);
}
static inline int cl_move_mount(int from_dfd, const char *from_path, int to_dfd, const char *to_path,
                                unsigned int flags) {
    return (int)syscall(SYS_move_mount, from_dfd, from_path, to_dfd, to_path, flags);
}

struct cl_open_how { uint64_t flags; uint64_t mode; uint64_t resolve; };
static inline int cl_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct cl_open_how how = { flags, mode, resolve };
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}
static inline int cl_openat(int dirfd, const char *path, int flags, unsigned int mode) {
    return openat(dirfd, path, flags, (mode_t)mode);
}
static inline int cl_fcntl_int(int fd, int cmd, int arg) { return fcntl(fd, cmd, arg); }

static inline int cl_statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf) {
    return (int)syscall(SYS_statx, dirfd, path, flags, mask, buf);
}
static inline long cl_copy_file_range(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out,
                                      size_t len, unsigned int flags) {
    return syscall(SYS_copy_file_range, fd_in, (loff_t *)off_in, fd_out, (loff_t *)off_out, len, flags);
}
static inline long cl_splice(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out,
                             size_t len, unsigned int flags) {
    return syscall(SYS_splice, fd_in, (loff_t *)off_in, fd_out, (loff_t *)off_out, len, flags);
}
static inline int cl_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                               unsigned int flags) {
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
}
static inline int cl_pipe2(int fds[2], int flags) { return (int)syscall(SYS_pipe2, fds, flags); }
static inline int cl_ficlone(int dest_fd, int src_fd) { return ioctl(dest_fd, CL_FICLONE, src_fd); }

// F_SETPIPE_SZ is F_LINUX_SPECIFIC_BASE + 7, visible only under _GNU_SOURCE.
static inline int cl_pipe_size(int fd, int size) { return fcntl(fd, 1024 + 7, size); }

static inline dev_t cl_makedev(unsigned int major, unsigned int minor) { return makedev(major, minor); }
static inline unsigned int cl_major(dev_t dev) { return major(dev); }
static inline unsigned int cl_minor(dev_t dev) { return minor(dev); }

static inline int cl_wifexited(int status) { return WIFEXITED(status); }
static inline int cl_wexitstatus(int status) { return WEXITSTATUS(status); }
static inline int cl_wifsignaled(int status) { return WIFSIGNALED(status); }
static inline int cl_wtermsig(int status) { return WTERMSIG(status); }

// The file liburing was loaded from (its soname carries the version, e.g. liburing.so.2.3);
// liburing 2.3 has no version API.
// Dl_info and dladdr(3) are declared only under _GNU_SOURCE; this is glibc's layout.
struct cl_dl_info { const char *dli_fname; void *dli_fbase; const char *dli_sname; void *dli_saddr; };
extern int dladdr(const void *addr, struct cl_dl_info *info);
static inline const char *cl_liburing_path(void) {
    struct cl_dl_info info;
    if (dladdr((const void *)&io_uring_queue_init, &info) == 0) return 0;
    return info.dli_fname;
}

// MARK: - liburing: what Swift cannot import as-is

static inline void cl_sqe_set_flags(struct io_uring_sqe *sqe, unsigned flags) { io_uring_sqe_set_flags(sqe, flags); }
static inline void cl_sqe_set_data64(struct io_uring_sqe *sqe, uint64_t data) { sqe->user_data = data; }
static inline uint64_t cl_cqe_get_data64(const struct io_uring_cqe *cqe) { return cqe->user_data; }

// The CPU this thread runs on (sched_getcpu(3), declared only under _GNU_SOURCE); -1 and errno on failure.
extern int sched_getcpu(void);
static inline int cl_current_cpu(void) { return sched_getcpu(); }

// io_uring_register_iowq_aff(3) with a set of one CPU. CPU_ZERO and CPU_SET exist only under
// _GNU_SOURCE; this sets the bit in glibc's layout (an array of unsigned longs).
static inline int cl_register_iowq_cpu(struct io_uring *ring, int cpu) {
    cpu_set_t set;
    unsigned long *bits = (unsigned long *)&set;
    const int per = 8 * (int)sizeof(unsigned long);
    if (cpu < 0 || cpu >= 8 * (int)sizeof(set)) return -EINVAL;
    for (size_t i = 0; i < sizeof(set) / sizeof(unsigned long); i++) bits[i] = 0;
    bits[cpu / per] |= 1UL << (cpu % per);
    return io_uring_register_iowq_aff(ring, sizeof(set), &set);
}

#endif
