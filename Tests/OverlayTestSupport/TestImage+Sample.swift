import Foundation

extension TestImage {
    /// A valid `security.capability` value (VFS_CAP_REVISION_2, effective, CAP_NET_BIND_SERVICE).
    public static let netBindCapability: [UInt8] = [0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00] + [UInt8](repeating: 0, count: 12)

    /// Six layers with what real images hold and the cases layer application gets wrong: every
    /// file kind, set-user-ID and set-group-ID files, owners, xattrs (`user.` and
    /// `security.capability`), hard links, absolute and climbing symlinks, whiteouts of files,
    /// directories and symlinks, opaque directories (on an existing directory and on a new one),
    /// a name deleted and created again, a file replaced by a directory and the reverse, parents
    /// implied by a deeper name only, a long (PAX) name, a file larger than the read chunk, and
    /// uncompressed, gzip and zstd layers.
    public static func sample(seed: UInt64 = 1) -> TestImage {
        var random = seed
        func bytes(_ count: Int) -> [UInt8] {
            (0..<count).map { _ in
                random = random &* 6364136223846793005 &+ 1442695040888963407
                return UInt8(truncatingIfNeeded: random >> 33)
            }
        }
        let base: [TestTarMember] = [
            .directory("./"),
            .directory("bin"), .directory("etc"), .directory("usr"), .directory("usr/share"), .directory("usr/share/doc"),
            .directory("home"), .directory("home/user", mode: 0o700, uid: 1000, gid: 1000),
            .directory("var"), .directory("var/cache"), .directory("var/cache/app", mode: 0o750, uid: 0, gid: 4),
            .directory("tmp", mode: 0o1777), .directory("opt"),
            .directory("opt/app", xattrs: [("user.dir", Array("app".utf8))]),
            .directory("opt/app/data"), .directory("dev"), .directory("run"),
            .file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
            .file("etc/shadow", "root:*:19000:0:99999:7:::\n", mode: 0o640, gid: 42),
            TestTarMember("bin/tool", .file(bytes(40_000)), mode: 0o755),
            .hardLink("bin/tool-link", to: "bin/tool", mode: 0o755),
            TestTarMember("bin/su", .file(bytes(3000)), mode: 0o4755),
            TestTarMember("bin/wall", .file(bytes(2000)), mode: 0o2755, gid: 5),
            TestTarMember("bin/ping", .file(bytes(1000)), mode: 0o755, xattrs: [("security.capability", netBindCapability)]),
            .symlink("bin/sh", to: "tool"),
            .symlink("etc/localtime", to: "/usr/share/zoneinfo/UTC"),
            .symlink("usr/lib64", to: "lib"),
            .file("usr/share/doc/readme", "the base layer\n", xattrs: [("user.origin", Array("base".utf8)), ("user.binary", [0, 1, 2, 255])]),
            .file("home/user/.profile", "export PS1='$ '\n", uid: 1000, gid: 1000),
            .file("var/cache/app/c1", "1"), .file("var/cache/app/c2", "2"), .file("var/cache/app/c3", "3"),
            .file("opt/app/config", "debug=false\n"), .file("opt/app/data/d1", "data"),
            TestTarMember("run/ctl", .fifo, mode: 0o600),
            TestTarMember("dev/null", .characterDevice(major: 1, minor: 3), mode: 0o666),
            TestTarMember("dev/loop9", .blockDevice(major: 7, minor: 9), mode: 0o660, gid: 6),
        ]
        let update: [TestTarMember] = [
            .file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n"),
            .whiteout("etc/shadow"),
            .file("usr/share/doc/new", "implied parents\n"),
            .directory("var/cache/app", mode: 0o750, uid: 0, gid: 4),
            .opaque("var/cache/app"),
            .file("var/cache/app/c9", "9"),
            .file("home/user/.bashrc", "alias ll='ls -l'\n", uid: 1000, gid: 1000),
        ]
        let replace: [TestTarMember] = [
            TestTarMember("bin/sh", .file(bytes(500)), mode: 0o755),
            .file("opt/app/data", "a file where a directory was\n"),
            .directory("tmp/newdir", mode: 0o700),
            .whiteout("usr/lib64"),
            .file("etc/hosts", "127.0.0.1 localhost\n"),
            .hardLink("etc/hosts.bak", to: "etc/hosts"),
            .hardLink("etc/hosts.old", to: "./etc/hosts"),
            .whiteout("opt/app/config"),
        ]
        let longName = "usr/share/" + String(repeating: "very-long-directory-name/", count: 5) + "file-with-a-long-name.txt"
        let recreate: [TestTarMember] = [
            .file("etc/shadow", "root:!:19500:0:99999:7:::\n", mode: 0o600),
            .directory("bin/tool-link", mode: 0o755),
            .file("bin/tool-link/inside", "a directory where a file was\n"),
            TestTarMember("bin/su", .file(bytes(3000)), mode: 0o755),
            .directory("var/lib/state", mode: 0o711, xattrs: [("user.state", Array("fresh".utf8))]),
            .opaque("var/lib/state"),
            .file("var/lib/state/db", "state\n", mode: 0o600, uid: 999, gid: 999),
            .file(longName, "a PAX path\n"),
            .symlink("etc/climb", to: "../../../../etc/passwd"),
        ]
        let delete: [TestTarMember] = [
            .whiteout("usr/share/doc"),
            .file("etc/nobody", "owned by nobody\n", mode: 0o600, uid: 65534, gid: 65534),
            .file("etc/empty", ""),
            TestTarMember("opt/big", .file(bytes(3 << 20 | 12345)), mode: 0o644),
        ]
        let top: [TestTarMember] = [
            .directory("usr/share/doc", mode: 0o755),
            .opaque("usr/share/doc"),
            .file("usr/share/doc/fresh", "a new doc directory\n"),
            .opaque("home/user"),
            .file("home/user/.profile", "export PS1='# '\n", uid: 1000, gid: 1000),
            .file("etc/hostname", "sample\n", xattrs: [("user.note", Array("top".utf8)), ("trusted.test", Array("dropped".utf8))]),
        ]
        return TestImage(layers: [
            Layer(base, compression: .gzip),
            Layer(update, compression: .zstd),
            Layer(replace, compression: .none),
            Layer(recreate, compression: .gzip),
            Layer(delete, compression: .zstd),
            Layer(top, compression: .none),
        ], tag: "sample")
    }
}
