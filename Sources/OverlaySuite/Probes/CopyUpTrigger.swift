import OverlayCore
import OverlaySystem

/// What makes overlay copy a lower file up (`Documentation/filesystems/overlayfs.rst`, "Copy
/// up"): an open for write or with `O_TRUNC` copies up at open time, even if nothing is written;
/// truncate, attribute and xattr changes, `link(2)` and rename copy up before they act. Under
/// `metacopy=on` the ones that change no data (chmod, chown, setxattr, link, rename) copy up
/// only the inode (`ovl_need_meta_copy_up` in fs/overlayfs/copy_up.c).
public enum CopyUpTrigger: String, CaseIterable, Sendable {
    /// `open(O_WRONLY)`, `pwrite` of 1 byte at 0, `close`.
    case write
    /// `open(O_RDWR)`, `close`: the wasted copy-up of a program that opens read-write and only reads.
    case rdwrOpen = "rdwr-open"
    /// `open(O_WRONLY|O_TRUNC)`, `close`.
    case truncOpen = "trunc-open"
    /// `truncate(2)` to half the size (a quarter the second time).
    case truncate
    /// `open(O_WRONLY|O_APPEND)`, `pwrite` of 1 byte (appended: Linux ignores the offset), `close`.
    case append
    /// `fchmodat(2)`.
    case chmod
    /// `fchownat(2)`.
    case chown
    /// `lsetxattr(2)` of `user.overlaybench`.
    case setxattr
    /// `linkat(2)` to `<name>.link`.
    case link
    /// `renameat2(2)` to `<name>.renamed`.
    case rename

    public static func parse(_ text: String) throws(ProbeError) -> CopyUpTrigger {
        guard let trigger = CopyUpTrigger(rawValue: text) else {
            throw .invalidArgument("trigger", "\"\(text)\" is not one of \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return trigger
    }

    /// The metrics of the first call (the copy-up) and of the same call on the now-upper file.
    var metrics: (first: String, second: String) {
        self == .write ? ("firstWrite", "secondWrite") : ("firstOp", "secondOp")
    }

    /// Whether a metadata-only copy-up is correct for this trigger under `metacopy=on`.
    var allowsMetacopy: Bool {
        [.chmod, .chown, .setxattr, .link, .rename].contains(self)
    }

    static let attributeName = "user.overlaybench"
    static let owner: UInt32 = 4242

    /// Where the file is after the call (`second`: after the second call).
    func name(after path: String, second: Bool = false) -> String {
        switch self {
        case .rename: path + (second ? ".renamed2" : ".renamed")
        default: path
        }
    }

    /// Runs the trigger on `path` (a file of `size` bytes in the lower layer): the syscalls the
    /// sampler times and nothing else. `byte` is the one byte a write or append writes.
    func perform(_ calls: ViewCalls, _ path: String, size: Int64, second: Bool, byte: UnsafeRawBufferPointer) throws {
        let target = second ? name(after: path) : path
        switch self {
        case .write, .append:
            let fd = try calls.open(target, self == .write ? .writeOnly : [.writeOnly, .append])
            _ = try fd.pwrite(byte, at: 0)
            try fd.closeChecked(path: target)
        case .rdwrOpen, .truncOpen:
            let fd = try calls.open(target, self == .rdwrOpen ? .readWrite : [.writeOnly, .truncate])
            try fd.closeChecked(path: target)
        case .truncate:
            try calls.truncate(target, to: second ? size / 4 : size / 2)
        case .chmod:
            try calls.changeMode(target, permissions: second ? 0o640 : 0o600)
        case .chown:
            try calls.changeOwner(target, uid: Self.owner + (second ? 1 : 0), gid: Self.owner)
        case .setxattr:
            try calls.setExtendedAttribute(target, attributePath: calls.attributePath(target), name: Self.attributeName,
                                           value: [second ? 2 : 1])
        case .link:
            try calls.link(target, to: path + (second ? ".link2" : ".link"))
        case .rename:
            try calls.rename(target, to: name(after: path, second: second))
        }
    }

    /// What upper must hold after the first call on a lower file of `size` bytes.
    func expectation(_ path: String, size: Int64, sparse: Bool, metacopy: Bool) -> CopyUpVerifier.Expectation {
        var expected = CopyUpVerifier.Expectation(upperName: name(after: path), lowerName: path, lowerSize: size,
                                                  size: size, sparse: sparse, allowMetacopy: metacopy && allowsMetacopy)
        switch self {
        case .write:
            expected.size = max(size, 1)
            expected.written[0] = CopyUpVerifier.writtenByte
        case .append:
            expected.size = size + 1
            expected.written[size] = CopyUpVerifier.writtenByte
        case .truncOpen:
            expected.size = 0
        case .truncate:
            expected.size = size / 2
        case .rdwrOpen, .chmod, .chown, .setxattr, .link, .rename:
            break
        }
        return expected
    }
}
