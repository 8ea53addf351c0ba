/// What the runner needs of a probe: the disk it will use, and a run in a directory that records
/// samples into a book (and the mounts it made into the environment).
public protocol Probe {
    /// Bytes the run generates and copies up, checked against free space before anything is written.
    func estimatedBytes() -> Int64
    func run(in runDirectory: String, book: SampleBook, mounts: inout [RunEnvironment.MountRecord]) throws
}

extension CopyUpProbe: Probe {}
extension LookupProbe: Probe {}
extension ReadProbe: Probe {}
extension MetadataProbe: Probe {}
extension ShiftProbe: Probe {}

extension CopyProbe: Probe {
    /// The copy engines mount nothing.
    public func run(in runDirectory: String, book: SampleBook, mounts: inout [RunEnvironment.MountRecord]) throws {
        try run(in: runDirectory, book: book)
    }
}
