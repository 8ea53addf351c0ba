internal import CLiburing
internal import Glibc

/// One line of a `uid_map` or `gid_map` (user_namespaces(7)): the `count` IDs from `inside` in the
/// namespace are the IDs from `outside` in its parent. `0:100000:65536` is a
/// user-namespaced container's usual range, spelled as `mount(8)`'s `X-mount.idmap=` and
/// fuse-overlayfs's `uidmapping=` spell it.
public struct IDMapping: Sendable, Hashable, CustomStringConvertible {
    /// The first ID in the namespace (in the view).
    public var inside: UInt32
    /// The ID that `inside` is in the parent namespace (on disk).
    public var outside: UInt32
    /// How many consecutive IDs the line maps.
    public var count: UInt32

    public init(inside: UInt32, outside: UInt32, count: UInt32) {
        self.inside = inside
        self.outside = outside
        self.count = count
    }

    /// `inside:outside:count`.
    public var description: String { "\(inside):\(outside):\(count)" }

    /// The line `/proc/PID/uid_map` takes: `inside outside count`.
    var mapLine: String { "\(inside) \(outside) \(count)\n" }

    /// The ID that `id` inside the namespace is outside it, or nil when it is not mapped.
    public func outside(of id: UInt32) -> UInt32? {
        guard id >= inside, UInt64(id) - UInt64(inside) < UInt64(count) else { return nil }
        return outside + (id - inside)
    }
}

/// A user namespace held by a descriptor (`/proc/PID/ns/user`) and by no process: what
/// `mount_setattr(2)`'s `MOUNT_ATTR_IDMAP` takes to say how a mount's owners are shifted.
public struct UserNamespace: ~Copyable {
    /// The open `/proc/PID/ns/user` (`O_CLOEXEC`), closed when the value is dropped.
    public let descriptor: FileDescriptor

    /// `clone(2)` with `CLONE_NEWUSER`, the maps written from here, then the child's namespace
    /// opened and the child killed and reaped (`cl_user_namespace_open`, in C because the child
    /// of a bare `clone` in a threaded process may run nothing but async-signal-safe calls).
    /// Writing a map needs `CAP_SETUID`/`CAP_SETGID` over the IDs outside (root).
    public init(uidMap: [IDMapping], gidMap: [IDMapping]) throws(SystemError) {
        let uid = uidMap.map(\.mapLine).joined(), gid = gidMap.map(\.mapLine).joined()
        let rc = cl_user_namespace_open(uid, gid)
        guard rc >= 0 else {
            throw SystemError("user namespace uid_map \(uidMap.map(\.description).joined(separator: ","))", errno: Errno(rawValue: -rc))
        }
        descriptor = FileDescriptor(rawValue: rc)
    }

    deinit { descriptor.closeIgnoringErrors() }
}

extension Mount {
    /// An idmapped bind mount of `source` on `target`: `open_tree(2)` with `OPEN_TREE_CLONE`,
    /// `mount_setattr(2)` with `MOUNT_ATTR_IDMAP` and `namespace`, then `move_mount(2)`. Through
    /// it a file that `source` has owned by `id` shows as owned by `namespace`'s mapping of `id`
    /// (kernel 5.12+; an overlay takes idmapped layers from 5.19). `source`'s filesystem must
    /// allow idmapping (ext4, xfs, btrfs; tmpfs from 6.3), else `EINVAL`.
    public static func bindIdmapped(_ source: String, at target: String, namespace: borrowing UserNamespace) throws(SystemError) {
        let tree = try retryingEINTR("open_tree", path: source) { cl_open_tree_clone(AT_FDCWD, source) }
        defer { _ = Glibc.close(tree) }
        _ = try retryingEINTR("mount_setattr MOUNT_ATTR_IDMAP", path: source) {
            cl_mount_setattr_idmap(tree, namespace.descriptor.rawValue)
        }
        _ = try retryingEINTR("move_mount", path: target) {
            cl_move_mount(tree, "", AT_FDCWD, target, UInt32(CL_MOVE_MOUNT_F_EMPTY_PATH))
        }
    }
}
