internal import CLiburing
internal import Glibc


/// Facts about this host that results and `doctor` record.
public enum Host {
    /// `uname(2)`: kernel release, machine and node name.
    public static func uname() -> (release: String, machine: String, nodeName: String, version: String) {
        var u = utsname()
        _ = Glibc.uname(&u)
        func field<T>(_ value: inout T) -> String {
            withUnsafePointer(to: &value) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
        }
        return (field(&u.release), field(&u.machine), field(&u.nodename), field(&u.version))
    }

    /// The kernel release as numbers, e.g. (6, 18) for `6.18.44-…`.
    public static func kernelVersion() -> (major: Int, minor: Int) {
        let parts = uname().release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return (parts.first ?? 0, parts.count > 1 ? parts[1] : 0)
    }

    /// The effective user id.
    public static var effectiveUserID: UInt32 { geteuid() }
    public static var isRoot: Bool { geteuid() == 0 }
    public static var processID: Int32 { getpid() }

    /// Online CPUs.
    public static var cpuCount: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// `statvfs(3)`: bytes and inodes free to this user at `path`.
    public static func freeSpace(at path: String) throws(SystemError) -> (bytes: Int64, inodes: Int64) {
        var s = statvfs()
        _ = try retryingEINTR("statvfs", path: path) { statvfs(path, &s) }
        return (Int64(s.f_bavail) * Int64(s.f_frsize), Int64(s.f_favail))
    }

    /// `realpath(3)`.
    public static func realPath(_ path: String) throws(SystemError) -> String {
        guard let resolved = Glibc.realpath(path, nil) else {
            throw SystemError("realpath", path: path, errno: Errno(rawValue: systemErrno()))
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The environment variable `name`, if set.
    public static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// The file the liburing library was loaded from (its soname carries the version).
    public static var liburingPath: String? {
        cl_liburing_path().map { String(cString: $0) }
    }

    /// Whether this process is in the initial user namespace: there `/proc/self/uid_map` maps
    /// all of 0…4294967294 onto itself. Inside `unshare --user` it does not, and overlay needs
    /// `userxattr` (kernel 5.11+).
    ///
    /// Read once: OverlayBench never moves itself into another namespace (`--rootless` re-executes
    /// under unshare(1)), and a mount inside a timed time-to-ready must not read it again.
    public static let inInitialUserNamespace: Bool = {
        guard let bytes = try? FileSystem.readFile("/proc/self/uid_map") else { return true }
        let fields = String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        return fields.count == 3 && fields[0] == "0" && fields[1] == "0" && fields[2] == "4294967295"
    }()

    /// `execve(2)`: replaces this process with `path` run with `arguments` (argv[0] included) and
    /// this process's environment plus `adding`, or throws. Used to re-run OverlayBench inside a
    /// user namespace; this process's own environment is never changed.
    public static func replaceProcess(
        with path: String, arguments: [String], adding environment: [String: String] = [:]
    ) throws(SystemError) -> Never {
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = ChildProcess.environment(adding: environment).map { strdup($0) } + [nil]
        execve(path, argv, envp)
        let errno = Errno(rawValue: systemErrno())
        for pointer in argv + envp { free(pointer) }
        throw SystemError("execve", path: path, errno: errno)
    }

    /// `sysconf(_SC_PAGESIZE)`.
    public static var pageSize: Int { Int(sysconf(Int32(_SC_PAGESIZE))) }
}
