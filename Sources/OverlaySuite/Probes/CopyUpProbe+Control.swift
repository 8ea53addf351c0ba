import OverlayCore
import OverlayStatistics
import OverlaySystem

/// The control of a copy-up: the same bytes copied and made durable without overlay, on the
/// filesystem the upper layer is on, sampled in the same rounds as the copy-ups. The kernel's
/// copy-up of a file is, at its core, a new file in the work directory, the data copied in
/// (`do_splice_direct` in 1 MiB chunks, or a clone), `vfs_fsync`, and a rename or link into upper
/// (fs/overlayfs/copy_up.c, `ovl_copy_up_tmpfile`); the control is the same without overlay:
/// `open(O_TMPFILE)` in the control directory, `copy_file_range(2)` of the whole file, `fsync(2)`,
/// `linkat(AT_EMPTY_PATH)` to its name, `close(2)`. The file is named only after the fsync, as
/// the kernel's copy-up is: a file created under its name first would make a journal-less ext4's
/// fsync also write the parent directory (`ext4_sync_parent`), which copy-up never pays. What
/// overlay adds is firstWrite ÷ control: `overhead`.
extension CopyUpProbe {
    /// `parameters.method` of `control`: the data copy; the file is an O_TMPFILE linked after its fsync.
    static let controlMethod = "tmpfile+copy_file_range+fsync"

    func controlKey(size: Int64) -> SampleBook.Key {
        SampleBook.Key(probe: Self.name, backend: Self.controlBackend, metric: "control", unit: "ns", parameters: [
            "size": .int(size), "layers": .int(Int64(configuration.layers)), "trigger": .string(configuration.trigger.rawValue),
            "method": .string(Self.controlMethod),
        ])
    }

    /// One round's control copies, one per size, from the first view's lower file of that
    /// round into `directory` (on the same filesystem as every view's upper).
    func controlTrials(_ views: [(stack: LayerStack, view: any MergedView)], in directory: String, round i: Int) throws -> [Trial] {
        guard let (stack, _) = views.first else { return [] }
        let quiescer = try sampler.quiescer(for: [directory] + stack.lowerPaths)
        return configuration.sizes.map { size in
            let source = stack.lowerLayers[0].diff + "/" + Self.path(size: size, pass: "w", index: i)
            let destination = directory + "/\(size)-\(i)"
            return Trial(
                key: controlKey(size: size), writes: true, quiescer: quiescer,
                warm: { try SourceFile.readThrough(source) },
                operation: { _ in try Self.durableCopy(from: source, to: destination, size: size) },
                verify: { _ in
                    let input = try FileDescriptor.open(source, .readOnly)
                    defer { input.closeIgnoringErrors() }
                    let copy = try FileDescriptor.open(destination, .readOnly)
                    defer { copy.closeIgnoringErrors() }
                    try SourceFile.verifyCopy(source: input, copy: copy, size: size, sparse: false, engine: "control")
                    return []
                },
                release: {
                    try PageCache.release(destination)
                    try PageCache.release(source)
                })
        }
    }

    /// `open(O_TMPFILE)` in `destination`'s directory, `copy_file_range` until `size` bytes are
    /// copied, `fsync`, `linkat` to `destination`, `close`.
    static func durableCopy(from source: String, to destination: String, size: Int64) throws {
        let input = try FileDescriptor.open(source, .readOnly)
        defer { input.closeIgnoringErrors() }
        let directory = String(destination[..<destination.lastIndex(of: "/")!])
        let output = try FileDescriptor.open(directory, [.writeOnly, .temporaryFile], mode: 0o644)
        do {
            var done: Int64 = 0
            while done < size {
                let n = try output.copyFileRange(from: input, sourceOffset: done, to: done, length: Int(min(size - done, 1 << 30)))
                guard n > 0 else { throw ProbeError.verificationFailed("control: copy_file_range copied nothing at \(done) of \(size) bytes") }
                done += Int64(n)
            }
            try output.fsync(path: destination)
            try output.link("", to: destination, in: .currentWorkingDirectory, emptyPath: true)
        } catch {
            output.closeIgnoringErrors()
            throw error
        }
        try output.closeChecked(path: destination)
    }

    /// `overhead` per view and size.
    func recordOverhead(_ views: [(stack: LayerStack, view: any MergedView)], cache: CacheState, book: SampleBook) {
        for size in configuration.sizes {
            let control = sampler.complete(controlKey(size: size), cache, true)
            for (_, view) in views {
                Self.recordOverhead(firstWrite: sampler.complete(key(view, "firstWrite", size: size), cache, true), control: control,
                                    as: sampler.complete(key(view, "overhead", size: size, unit: "ratio"), cache, true),
                                    book: book, seed: plan.seed)
            }
        }
    }

    /// `overhead` (ratio) under `key`: the median of `firstWrite` over the median of `control`
    /// in this repeat, and a bootstrap interval of that ratio over every repeat's samples so far.
    /// Nothing is recorded while either has no sample in this repeat.
    static func recordOverhead(firstWrite: SampleBook.Key, control: SampleBook.Key, as key: SampleBook.Key, book: SampleBook, seed: UInt64) {
        let controlNow = book.values(for: control, repeat: book.currentRepeat)
        let firstNow = book.values(for: firstWrite, repeat: book.currentRepeat)
        guard !controlNow.isEmpty, !firstNow.isEmpty else { return }
        let ratio = Summary(samples: firstNow).p50 / Summary(samples: controlNow).p50
        guard ratio.isFinite else { return }
        book.record(ratio, for: key)
        let pooled = Bootstrap.ratioOfMediansCI(baseline: book.values(for: control), current: book.values(for: firstWrite), seed: seed)
        book.setInterval(pooled.ci, for: key)
    }
}
