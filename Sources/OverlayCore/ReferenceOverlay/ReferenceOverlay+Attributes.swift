import OverlaySystem

// Attribute changes (fs/overlayfs/inode.c `ovl_setattr`, xattrs.c `ovl_xattr_set`): each
// copies the file up first, metadata only under metacopy=on except a truncate, which needs the
// data; then the change is made to the upper file.
extension ReferenceOverlay {
    /// `truncate(2)`, following symlinks.
    public func truncate(_ path: String, to size: Int64) throws(SystemError) {
        try withNamespaceLock { () throws(SystemError) in
            let entry = try existing(path, followFinal: true, "truncate").entry
            if entry.isDirectory { throw SystemError("truncate", path: path, errno: .isDirectory) }
            guard entry.type == .regular else { throw SystemError("truncate", path: path, errno: .invalidArgument) }
            guard size >= 0 else { throw SystemError("truncate", path: path, errno: .invalidArgument) }
            let upper = try copyUp(entry.path, data: .full).upper!
            let fd = try upperLayer.open(upper.path, [.writeOnly])
            defer { fd.closeIgnoringErrors() }
            try fd.truncate(to: size, path: path)
        }
    }

    /// `chmod(2)`, following symlinks.
    public func changeMode(_ path: String, permissions: UInt32) throws(SystemError) {
        try changeUpper(path, followFinal: true, "chmod") { directory, name throws(SystemError) in
            try directory.changeMode(name, permissions: permissions)
        }
    }

    /// `lchown(2)`.
    public func changeOwner(_ path: String, uid: UInt32, gid: UInt32) throws(SystemError) {
        try changeUpper(path, followFinal: false, "chown") { directory, name throws(SystemError) in
            try directory.changeOwner(name, uid: uid, gid: gid)
        }
    }

    /// `utimensat(2)` with `AT_SYMLINK_NOFOLLOW`.
    public func setTimes(_ path: String, access: Timestamp, modification: Timestamp) throws(SystemError) {
        try changeUpper(path, followFinal: false, "utimensat") { directory, name throws(SystemError) in
            try directory.setTimes(name, access: access, modification: modification)
        }
    }

    /// `lsetxattr(2)`. `user.*` attributes exist only on regular files and directories; the VFS
    /// refuses others with `EPERM` before overlay copies anything up.
    public func setExtendedAttribute(_ path: String, name: String, value: [UInt8]) throws(SystemError) {
        try withNamespaceLock { () throws(SystemError) in
            let entry = try existing(path, followFinal: false, "setxattr").entry
            try checkUserAttribute(entry, name: name, path: path, "setxattr")
            guard !OverlayXattr.isPrivate(name) else { throw SystemError("setxattr", path: path, errno: .notPermitted) }
            let upper = try copyUp(entry.path, data: .metadata).upper!
            try upperLayer.withAttributePath(upper.path) { attributePath throws(SystemError) in
                try ExtendedAttributes.set(name, value: value, path: attributePath)
            }
        }
    }

    /// `lremovexattr(2)`. An attribute a lower-only file lacks fails with `ENODATA` before any
    /// copy-up, as `ovl_xattr_set` checks the real file first.
    public func removeExtendedAttribute(_ path: String, name: String) throws(SystemError) {
        try withNamespaceLock { () throws(SystemError) in
            let entry = try existing(path, followFinal: false, "removexattr").entry
            try checkUserAttribute(entry, name: name, path: path, "removexattr")
            guard !OverlayXattr.isPrivate(name) else { throw SystemError("removexattr", path: path, errno: .notPermitted) }
            if entry.upper == nil, let top = entry.top {
                guard try layers[top.layer].attribute(name, of: top.path) != nil else {
                    throw SystemError("removexattr", path: path, errno: .noData)
                }
            }
            let upper = try copyUp(entry.path, data: .metadata).upper!
            try upperLayer.withAttributePath(upper.path) { attributePath throws(SystemError) in
                try ExtendedAttributes.remove(name, path: attributePath)
            }
        }
    }

    private func checkUserAttribute(_ entry: MergedEntry, name: String, path: String, _ operation: String) throws(SystemError) {
        if name.hasPrefix("user."), entry.type != .regular, entry.type != .directory {
            throw SystemError(operation, path: path, errno: .notPermitted)
        }
    }

    /// Copies `path` up (metadata only under metacopy=on) and applies `change` to the upper entry.
    private func changeUpper(
        _ path: String, followFinal: Bool, _ operation: String,
        _ change: (FileDescriptor, String) throws(SystemError) -> Void
    ) throws(SystemError) {
        try withNamespaceLock { () throws(SystemError) in
            let entry = try existing(path, followFinal: followFinal, operation).entry
            let upper = try copyUp(entry.path, data: .metadata).upper!
            if upper.path.isEmpty {
                // The merged root: change the upper root through its parent's view of it.
                try change(upperLayer.root, ".")
                return
            }
            try upperLayer.withParent(upper.path) { directory, name throws(SystemError) in try change(directory, name) }
        }
    }
}
