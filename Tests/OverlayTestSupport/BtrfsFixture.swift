import OverlayCore
import OverlaySystem

/// A btrfs made for one test in a run directory of `root`: a sparse image on a loop device,
/// formatted and mounted at `<run>/fs-btrfs`, as `--fs btrfs` makes it. Torn down (unmounted,
/// detached) after `body`, on success and on error; a teardown error is thrown only when `body`
/// succeeded.
public func withBtrfs<T>(in root: WorkRoot, size: Int64 = 1 << 30, _ body: (String) throws -> T) throws -> T {
    let run = try root.makeRunDirectory()
    let filesystem = try LoopFilesystem.make(.btrfs, size: size, in: run) { _ in }
    let result: T
    do {
        result = try body(filesystem.mountPoint)
    } catch {
        try? filesystem.tearDown { _ in }
        throw error
    }
    try filesystem.tearDown { _ in }
    return result
}
