import OverlayCore
import OverlaySystem

extension WorkloadProfile {
    /// A built-in profile run on an imported image instead of a generated tree: the image's
    /// layers are the lower directories, and the trace does what the built-in one does, to the
    /// image's own files (its largest for `database`, small ones for `build`, files from every
    /// layer for `webapp`, its biggest directory tree for `chown-r`). What the trace creates goes
    /// under `/overlaybench-<profile>`, a name no image holds.
    public static func onImage(_ name: String, _ workload: ImageWorkload, seed: UInt64 = 1) throws(ProbeError) -> WorkloadProfile {
        var random = SplitMix64(seed: seed ^ 0x1_3A6E)
        let files = workload.catalog.regularFiles
        guard !files.isEmpty else { throw ProbeError.invalidArgument("image", "\(workload.directory) has no regular files") }
        let scratch = "overlaybench-\(name)"
        func pick(_ pool: [ImageCatalog.Entry]) -> ImageCatalog.Entry { pool[Int(random.next() % UInt64(pool.count))] }
        var operations: [ReplayOperation] = [.mkdir(path: scratch, mode: 0o755)]
        var expected: [Int: String] = [:]
        let summary: String
        switch name {
        case "database":
            let tables = Array(files.sorted { ($0.size, $1.path) > ($1.size, $0.path) }.prefix(4))
            operations.append(.read(path: tables[0].path, offset: 0, length: 1 << 20))
            operations.append(.open(path: scratch + "/wal.log", flags: ["write", "create"], mode: 0o644))
            for i in 0..<400 {
                let table = pick(tables)
                let offset = Int64(random.next() % UInt64(max(1, table.size / 4096))) * 4096
                if i % 3 == 0 {
                    operations.append(.read(path: table.path, offset: offset, length: 4096))
                } else {
                    operations.append(.write(path: table.path, offset: offset, length: 4096, byte: UInt8(i % 251)))
                    operations.append(.write(path: scratch + "/wal.log", offset: Int64(i) * 512, length: 512, byte: 0x57))
                }
            }
            summary = "random 4 KiB writes and reads in the image's \(tables.count) largest files"
        case "build":
            let small = files.filter { $0.size <= 64 << 10 }
            let sources = (0..<600).map { _ in pick(small.isEmpty ? files : small) }
            for m in 0..<20 { operations.append(.mkdir(path: "\(scratch)/m\(m)", mode: 0o755)) }
            for (i, source) in sources.enumerated() {
                let object = "\(scratch)/m\(i % 20)/f\(i).o"
                operations.append(.stat(path: source.path))
                operations.append(.read(path: source.path, offset: 0, length: 16_384))
                operations.append(.open(path: object, flags: ["write", "create", "trunc"], mode: 0o644))
                operations.append(.write(path: object, offset: 0, length: 8192, byte: UInt8(i % 251)))
            }
            for m in 0..<20 { operations.append(.readdir(path: "\(scratch)/m\(m)")) }
            for i in 0..<sources.count { operations.append(.unlink(path: "\(scratch)/m\(i % 20)/f\(i).o")) }
            for m in 0..<20 { operations.append(.rmdir(path: "\(scratch)/m\(m)")) }
            for source in Set(sources.map(\.path)).sorted().prefix(60) {
                operations.append(.utimes(path: source, atime: 1_700_000_000, mtime: 1_700_000_000))
            }
            summary = "the image's small files read as sources, objects created and deleted, sources touched"
        case "webapp":
            operations.append(.open(path: scratch + "/access.log", flags: ["write", "create"], mode: 0o644))
            for i in 0..<3000 {
                let file = pick(files)
                switch i % 20 {
                case 0: operations.append(.write(path: scratch + "/access.log", offset: Int64(i) * 128, length: 128, byte: 0x4C))
                case 1...8: operations.append(.stat(path: file.path))
                case 9:
                    expected[operations.count] = Errno.noSuchFileOrDirectory.name
                    operations.append(.stat(path: file.path + ".overlaybench-missing"))
                default: operations.append(.read(path: file.path, offset: 0, length: 4096))
                }
            }
            summary = "stat and reads across the image's \(workload.image.layers.count) layers, log appends"
        case "chown-r":
            // The top-level directory holding the most files, recursively, capped at 3000 entries.
            let top = Dictionary(grouping: files) { String($0.path.split(separator: "/").first ?? "") }
                .filter { !$0.key.isEmpty && $0.value.count > 1 }.max { ($0.value.count, $1.key) < ($1.value.count, $0.key) }?.key
            let tree = workload.catalog.entries.filter { entry in
                top.map { entry.path == $0 || entry.path.hasPrefix($0 + "/") } ?? true
            }.filter { $0.type == .regular || $0.type == .directory }.prefix(3000)
            for entry in tree { operations.append(.chown(path: entry.path, uid: 1000, gid: 1000)) }
            for entry in tree.enumerated() where entry.offset % 3 == 0 && entry.element.type == .regular {
                operations.append(.chmod(path: entry.element.path, mode: 0o640))
            }
            summary = "chown -R and chmod over the image's /\(top ?? "") (\(tree.count) entries)"
        default:
            throw ProbeError.invalidArgument("profile", "unknown profile \(name) (known: \(builtInNames.joined(separator: ", ")))")
        }
        var profile = WorkloadProfile(
            name: name, summary: summary + " (image \(workload.image.source))",
            spec: LayerStackSpec(layerCount: workload.image.layers.count, seed: seed),
            lowerDirectories: workload.lowerPaths, operations: operations)
        profile.expectedErrors = expected
        return profile
    }
}
