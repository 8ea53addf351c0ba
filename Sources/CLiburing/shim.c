// Compiled with _GNU_SOURCE (Package.swift), so the constants and struct layouts below are
// glibc's and the kernel's own.
#include "CLiburing.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <unistd.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

const int CL_IOSQE_FIXED_FILE = IOSQE_FIXED_FILE;
const int CL_IOSQE_IO_DRAIN = IOSQE_IO_DRAIN;
const int CL_IOSQE_IO_LINK = IOSQE_IO_LINK;
const int CL_IOSQE_IO_HARDLINK = IOSQE_IO_HARDLINK;
const int CL_IOSQE_ASYNC = IOSQE_ASYNC;
const int CL_SEEK_DATA = SEEK_DATA;
const int CL_SEEK_HOLE = SEEK_HOLE;
const int CL_O_TMPFILE = O_TMPFILE;
const int CL_O_PATH = O_PATH;
const int CL_O_NOATIME = O_NOATIME;
const int CL_AT_EMPTY_PATH = AT_EMPTY_PATH;
const unsigned int CL_SPLICE_F_MOVE = SPLICE_F_MOVE;
const unsigned int CL_FSOPEN_CLOEXEC = FSOPEN_CLOEXEC;
const unsigned int CL_FSCONFIG_SET_FLAG = FSCONFIG_SET_FLAG;
const unsigned int CL_FSCONFIG_SET_STRING = FSCONFIG_SET_STRING;
const unsigned int CL_FSCONFIG_CMD_CREATE = FSCONFIG_CMD_CREATE;
const unsigned int CL_FSMOUNT_CLOEXEC = FSMOUNT_CLOEXEC;
const unsigned int CL_MOVE_MOUNT_F_EMPTY_PATH = MOVE_MOUNT_F_EMPTY_PATH;
const int CL_MNT_FORCE = MNT_FORCE;
const int CL_MNT_DETACH = MNT_DETACH;
const int CL_UMOUNT_NOFOLLOW = UMOUNT_NOFOLLOW;
const unsigned long CL_MS_RDONLY = MS_RDONLY;
const uint64_t CL_RESOLVE_NO_XDEV = RESOLVE_NO_XDEV;
const uint64_t CL_RESOLVE_NO_MAGICLINKS = RESOLVE_NO_MAGICLINKS;
const uint64_t CL_RESOLVE_NO_SYMLINKS = RESOLVE_NO_SYMLINKS;
const uint64_t CL_RESOLVE_BENEATH = RESOLVE_BENEATH;
const uint64_t CL_RESOLVE_IN_ROOT = RESOLVE_IN_ROOT;
const unsigned int CL_RENAME_NOREPLACE = RENAME_NOREPLACE;
const unsigned int CL_RENAME_EXCHANGE = RENAME_EXCHANGE;
const unsigned int CL_RENAME_WHITEOUT = RENAME_WHITEOUT;

int cl_mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data) {
    return mount(source, target, fstype, flags, data);
}
int cl_umount2(const char *target, int flags) { return umount2(target, flags); }
int cl_fsopen(const char *fsname, unsigned int flags) { return fsopen(fsname, flags); }
int cl_fsconfig(int fd, unsigned int cmd, const char *key, const void *value, int aux) {
    return fsconfig(fd, cmd, key, value, aux);
}
int cl_fsmount(int fd, unsigned int flags, unsigned int attr_flags) { return fsmount(fd, flags, attr_flags); }
int cl_move_mount(int from_dfd, const char *from_path, int to_dfd, const char *to_path, unsigned int flags) {
    return move_mount(from_dfd, from_path, to_dfd, to_path, flags);
}
// glibc 2.36 has no openat2 wrapper.
int cl_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct open_how how = { .flags = flags, .mode = mode, .resolve = resolve };
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}
int cl_openat(int dirfd, const char *path, int flags, unsigned int mode) { return openat(dirfd, path, flags, (mode_t)mode); }
int cl_statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf) {
    return (int)syscall(SYS_statx, dirfd, path, flags, mask, buf);
}
long cl_copy_file_range(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out, size_t len, unsigned int flags) {
    return copy_file_range(fd_in, (off64_t *)off_in, fd_out, (off64_t *)off_out, len, flags);
}
long cl_splice(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out, size_t len, unsigned int flags) {
    return splice(fd_in, (off64_t *)off_in, fd_out, (off64_t *)off_out, len, flags);
}
int cl_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags) {
    return renameat2(olddirfd, oldpath, newdirfd, newpath, flags);
}
int cl_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }
int cl_ficlone(int dest_fd, int src_fd) { return ioctl(dest_fd, FICLONE, src_fd); }
int cl_pipe_size(int fd, int size) { return fcntl(fd, F_SETPIPE_SZ, size); }
int cl_syncfs(int fd) { return syncfs(fd); }

int cl_open_tree_clone(int dirfd, const char *path) {
    return open_tree(dirfd, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
}
int cl_mount_setattr_idmap(int mount_fd, int userns_fd) {
    struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd };
    return mount_setattr(mount_fd, "", AT_EMPTY_PATH, &attr, sizeof attr);
}

// The child of clone(2) has a copy of this address space but only the calling thread, so it
// runs nothing of Swift's and calls only pause(2) until it is killed.
static int cl_user_namespace_child(void *unused) {
    (void)unused;
    for (;;) pause();
    return 0;
}

static int cl_write_id_map(pid_t pid, const char *file, const char *map) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    // The kernel takes a map in one write(2) only (user_namespaces(7)).
    size_t length = strlen(map);
    ssize_t written = write(fd, map, length);
    int result = written == (ssize_t)length ? 0 : (written < 0 ? -errno : -EIO);
    close(fd);
    return result;
}

int cl_user_namespace_open(const char *uid_map, const char *gid_map) {
    const size_t stack_size = 64 * 1024;
    void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return -errno;
    // CLONE_FILES: the child shares this descriptor table instead of holding a copy of every
    // descriptor, so a file another thread closes meanwhile is released at once (a copied
    // table would keep a file open for writing, and executing it would fail with ETXTBSY).
    pid_t pid = clone(cl_user_namespace_child, (char *)stack + stack_size, CLONE_NEWUSER | CLONE_FILES | SIGCHLD, NULL);
    if (pid < 0) {
        int error = errno;
        munmap(stack, stack_size);
        return -error;
    }
    int result = cl_write_id_map(pid, "uid_map", uid_map);
    if (result == 0) result = cl_write_id_map(pid, "gid_map", gid_map);
    if (result == 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
        result = open(path, O_RDONLY | O_CLOEXEC);
        if (result < 0) result = -errno;
    }
    // The namespace lives on in the descriptor; the child is ended and reaped here, by PID.
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    munmap(stack, stack_size);
    return result;
}

const unsigned long CL_BTRFS_SUPER_MAGIC = BTRFS_SUPER_MAGIC;
const uint64_t CL_BTRFS_FIRST_FREE_OBJECTID = BTRFS_FIRST_FREE_OBJECTID;
const uint32_t CL_FIEMAP_EXTENT_LAST = FIEMAP_EXTENT_LAST;
const uint32_t CL_FIEMAP_EXTENT_SHARED = FIEMAP_EXTENT_SHARED;
const uint32_t CL_FIEMAP_EXTENT_UNKNOWN = FIEMAP_EXTENT_UNKNOWN;
const uint32_t CL_FIEMAP_EXTENT_DELALLOC = FIEMAP_EXTENT_DELALLOC;
const uint32_t CL_FIEMAP_FLAG_SYNC = FIEMAP_FLAG_SYNC;

long cl_fstatfs_type(int fd) {
    struct statfs buffer;
    if (fstatfs(fd, &buffer) != 0) return -1;
    return (long)buffer.f_type;
}

// The names are copied into fixed-size fields; a longer one is refused rather than truncated.
static int cl_copy_name(char *field, size_t size, const char *name) {
    size_t length = strlen(name);
    if (length == 0 || length >= size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(field, name, length + 1);
    return 0;
}

int cl_btrfs_subvol_create(int parent_fd, const char *name) {
    struct btrfs_ioctl_vol_args args;
    memset(&args, 0, sizeof args);
    if (cl_copy_name(args.name, sizeof args.name, name) != 0) return -1;
    return ioctl(parent_fd, BTRFS_IOC_SUBVOL_CREATE, &args);
}
int cl_btrfs_snap_create(int parent_fd, int source_fd, const char *name, int read_only) {
    struct btrfs_ioctl_vol_args_v2 args;
    memset(&args, 0, sizeof args);
    if (cl_copy_name(args.name, sizeof args.name, name) != 0) return -1;
    args.fd = source_fd;
    args.flags = read_only ? BTRFS_SUBVOL_RDONLY : 0;
    return ioctl(parent_fd, BTRFS_IOC_SNAP_CREATE_V2, &args);
}
int cl_btrfs_snap_destroy(int parent_fd, const char *name) {
    struct btrfs_ioctl_vol_args_v2 args;
    memset(&args, 0, sizeof args);
    if (cl_copy_name(args.name, sizeof args.name, name) != 0) return -1;
    return ioctl(parent_fd, BTRFS_IOC_SNAP_DESTROY_V2, &args);
}
int cl_btrfs_set_read_only(int subvolume_fd, int read_only) {
    uint64_t flags = 0;
    if (ioctl(subvolume_fd, BTRFS_IOC_SUBVOL_GETFLAGS, &flags) != 0) return -1;
    flags = read_only ? (flags | BTRFS_SUBVOL_RDONLY) : (flags & ~(uint64_t)BTRFS_SUBVOL_RDONLY);
    return ioctl(subvolume_fd, BTRFS_IOC_SUBVOL_SETFLAGS, &flags);
}
int cl_btrfs_is_read_only(int subvolume_fd) {
    uint64_t flags = 0;
    if (ioctl(subvolume_fd, BTRFS_IOC_SUBVOL_GETFLAGS, &flags) != 0) return -1;
    return (flags & BTRFS_SUBVOL_RDONLY) ? 1 : 0;
}
int cl_fiemap(int fd, uint64_t start, uint32_t flags, uint64_t *logical, uint64_t *length, uint32_t *extent_flags, uint32_t capacity) {
    struct fiemap *map = calloc(1, sizeof(struct fiemap) + (size_t)capacity * sizeof(struct fiemap_extent));
    if (map == NULL) return -1;
    map->fm_start = start;
    map->fm_length = FIEMAP_MAX_OFFSET - start;
    map->fm_flags = flags;
    map->fm_extent_count = capacity;
    if (ioctl(fd, FS_IOC_FIEMAP, map) != 0) {
        int saved = errno;
        free(map);
        errno = saved;
        return -1;
    }
    uint32_t mapped = map->fm_mapped_extents;
    for (uint32_t i = 0; i < mapped; i++) {
        logical[i] = map->fm_extents[i].fe_logical;
        length[i] = map->fm_extents[i].fe_length;
        extent_flags[i] = map->fm_extents[i].fe_flags;
    }
    free(map);
    return (int)mapped;
}

dev_t cl_makedev(unsigned int major, unsigned int minor) { return makedev(major, minor); }
unsigned int cl_major(dev_t dev) { return major(dev); }
unsigned int cl_minor(dev_t dev) { return minor(dev); }
int cl_wifexited(int status) { return WIFEXITED(status); }
int cl_wexitstatus(int status) { return WEXITSTATUS(status); }
int cl_wifsignaled(int status) { return WIFSIGNALED(status); }
int cl_wtermsig(int status) { return WTERMSIG(status); }

const char *cl_liburing_path(void) {
    Dl_info info;
    if (dladdr((const void *)&io_uring_queue_init, &info) == 0) return NULL;
    return info.dli_fname;
}
int cl_current_cpu(void) { return sched_getcpu(); }
int cl_register_iowq_cpu(struct io_uring *ring, int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) return -EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return io_uring_register_iowq_aff(ring, sizeof set, &set);
}
int cl_spawn_addchdir(void *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np((posix_spawn_file_actions_t *)actions, path);
}

void cl_sqe_set_flags(struct io_uring_sqe *sqe, unsigned flags) { io_uring_sqe_set_flags(sqe, flags); }
void cl_sqe_set_data64(struct io_uring_sqe *sqe, uint64_t data) { sqe->user_data = data; }
uint64_t cl_cqe_get_data64(const struct io_uring_cqe *cqe) { return cqe->user_data; }
