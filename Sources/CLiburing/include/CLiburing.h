// The C side of OverlayBench's System layer: liburing, plus thin non-variadic helpers for what
// Swift cannot call or import (variadic syscall/ioctl/fcntl, function-like macros, IOSQE_* flags,
// constants that glibc declares only under _GNU_SOURCE).
//
// Only OverlaySystem imports this module, and only with `internal import`. The helpers are
// defined in shim.c, which is compiled with _GNU_SOURCE, so every constant and struct layout
// comes from the real headers rather than being spelled out here.
#ifndef OVERLAYBENCH_CLIBURING_H
#define OVERLAYBENCH_CLIBURING_H

// <liburing.h> alone clashes with Glibc's fd_set, sigset_t and cpu_set_t; these must come first.
#include <sys/select.h>
#include <signal.h>
#include <sched.h>

#include <stdint.h>
#include <sys/types.h>
#include <sys/sendfile.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <linux/stat.h>

#include <liburing.h>

// MARK: - Constants, each the value of the glibc or kernel macro of the same name

extern const int CL_IOSQE_FIXED_FILE, CL_IOSQE_IO_DRAIN, CL_IOSQE_IO_LINK, CL_IOSQE_IO_HARDLINK, CL_IOSQE_ASYNC;
extern const int CL_SEEK_DATA, CL_SEEK_HOLE;
extern const int CL_O_TMPFILE, CL_O_PATH, CL_O_NOATIME;
extern const int CL_AT_EMPTY_PATH;
extern const unsigned int CL_SPLICE_F_MOVE;
extern const unsigned int CL_FSOPEN_CLOEXEC, CL_FSCONFIG_SET_FLAG, CL_FSCONFIG_SET_STRING, CL_FSCONFIG_CMD_CREATE;
extern const unsigned int CL_FSMOUNT_CLOEXEC, CL_MOVE_MOUNT_F_EMPTY_PATH;
extern const int CL_MNT_FORCE, CL_MNT_DETACH, CL_UMOUNT_NOFOLLOW;
extern const unsigned long CL_MS_RDONLY;
extern const uint64_t CL_RESOLVE_NO_XDEV, CL_RESOLVE_NO_MAGICLINKS, CL_RESOLVE_NO_SYMLINKS, CL_RESOLVE_BENEATH, CL_RESOLVE_IN_ROOT;
extern const unsigned int CL_RENAME_NOREPLACE, CL_RENAME_EXCHANGE, CL_RENAME_WHITEOUT;

// MARK: - Syscalls without a usable prototype. Each returns -1 and sets errno on failure.

int cl_mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data);
int cl_umount2(const char *target, int flags);
int cl_fsopen(const char *fsname, unsigned int flags);
int cl_fsconfig(int fd, unsigned int cmd, const char *key, const void *value, int aux);
int cl_fsmount(int fd, unsigned int flags, unsigned int attr_flags);
int cl_move_mount(int from_dfd, const char *from_path, int to_dfd, const char *to_path, unsigned int flags);
int cl_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);
int cl_openat(int dirfd, const char *path, int flags, unsigned int mode);
int cl_statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf);
long cl_copy_file_range(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out, size_t len, unsigned int flags);
long cl_splice(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out, size_t len, unsigned int flags);
int cl_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);
int cl_pipe2(int fds[2], int flags);
int cl_ficlone(int dest_fd, int src_fd);
/// fcntl(F_SETPIPE_SZ).
int cl_pipe_size(int fd, int size);
/// syncfs(2): writes back the filesystem that holds fd.
int cl_syncfs(int fd);

// MARK: - btrfs subvolumes and extent maps (<linux/btrfs.h>, <linux/fiemap.h>)

/// BTRFS_SUPER_MAGIC (<linux/magic.h>): statfs(2)'s f_type on btrfs.
extern const unsigned long CL_BTRFS_SUPER_MAGIC;
/// BTRFS_FIRST_FREE_OBJECTID: the inode number of every subvolume's root directory.
extern const uint64_t CL_BTRFS_FIRST_FREE_OBJECTID;
extern const uint32_t CL_FIEMAP_EXTENT_LAST, CL_FIEMAP_EXTENT_SHARED, CL_FIEMAP_EXTENT_UNKNOWN, CL_FIEMAP_EXTENT_DELALLOC;

/// fstatfs(2)'s f_type of the filesystem holding fd; -1 and errno on failure.
long cl_fstatfs_type(int fd);
/// ioctl(parent_fd, BTRFS_IOC_SUBVOL_CREATE): a new empty subvolume `name` in the directory.
int cl_btrfs_subvol_create(int parent_fd, const char *name);
/// ioctl(parent_fd, BTRFS_IOC_SNAP_CREATE_V2): a snapshot of the subvolume open as source_fd,
/// named `name` in the directory, read-only (BTRFS_SUBVOL_RDONLY) when `read_only` is nonzero.
int cl_btrfs_snap_create(int parent_fd, int source_fd, const char *name, int read_only);
/// ioctl(parent_fd, BTRFS_IOC_SNAP_DESTROY_V2) by name (kernel 5.7+): deletes the subvolume.
int cl_btrfs_snap_destroy(int parent_fd, const char *name);
/// BTRFS_IOC_SUBVOL_GETFLAGS, then SETFLAGS with BTRFS_SUBVOL_RDONLY set or cleared.
int cl_btrfs_set_read_only(int subvolume_fd, int read_only);
/// BTRFS_IOC_SUBVOL_GETFLAGS: 1 when read-only, 0 when writable, -1 and errno on failure.
int cl_btrfs_is_read_only(int subvolume_fd);
/// One FS_IOC_FIEMAP call from `start` to the file's end with `flags` (FIEMAP_FLAG_SYNC and so
/// on), filling at most `capacity` extents' logical offsets, lengths and flags; returns the
/// number mapped, or -1 and errno.
int cl_fiemap(int fd, uint64_t start, uint32_t flags, uint64_t *logical, uint64_t *length, uint32_t *extent_flags, uint32_t capacity);
extern const uint32_t CL_FIEMAP_FLAG_SYNC;

// MARK: - Idmapped mounts (mount_setattr(2), user_namespaces(7))

/// open_tree(2) with OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW: a detached bind
/// mount of `path`, as a descriptor; -1 and errno on failure.
int cl_open_tree_clone(int dirfd, const char *path);
/// mount_setattr(2) of the detached mount `mount_fd` with MOUNT_ATTR_IDMAP and the user namespace
/// `userns_fd`; -1 and errno on failure.
int cl_mount_setattr_idmap(int mount_fd, int userns_fd);
/// A new user namespace whose uid_map and gid_map are the given texts (lines of "inside outside
/// count"), as an open /proc/PID/ns/user descriptor: the kernel selftests' get_userns_fd
/// (tools/testing/selftests/mount_setattr). No process is left in it; -errno on failure.
int cl_user_namespace_open(const char *uid_map, const char *gid_map);

// MARK: - Function-like macros

dev_t cl_makedev(unsigned int major, unsigned int minor);
unsigned int cl_major(dev_t dev);
unsigned int cl_minor(dev_t dev);
int cl_wifexited(int status);
int cl_wexitstatus(int status);
int cl_wifsignaled(int status);
int cl_wtermsig(int status);

// MARK: - Library calls declared only under _GNU_SOURCE

/// The file liburing was loaded from (dladdr(3)); its soname carries the version. liburing 2.3
/// has no version API. NULL if unknown.
const char *cl_liburing_path(void);
/// sched_getcpu(3): the CPU this thread runs on; -1 and errno on failure.
int cl_current_cpu(void);
/// io_uring_register_iowq_aff(3) with a set of one CPU; -errno on failure, as liburing returns.
int cl_register_iowq_cpu(struct io_uring *ring, int cpu);
/// posix_spawn_file_actions_addchdir_np(3) (glibc 2.29+): the child starts in `path`, and the
/// parent's working directory is untouched.
int cl_spawn_addchdir(void *actions, const char *path);

// MARK: - liburing: what Swift cannot import as-is

void cl_sqe_set_flags(struct io_uring_sqe *sqe, unsigned flags);
void cl_sqe_set_data64(struct io_uring_sqe *sqe, uint64_t data);
uint64_t cl_cqe_get_data64(const struct io_uring_cqe *cqe);

#endif
