import Foundation
import OverlayCore
import OverlaySuite
import OverlaySystem
import OverlayTestSupport
import Testing

/// Semantics of the metadata probe on the kernel overlay, with the defaults, `metacopy=on` and
/// `redirect_dir=on` mounted side by side. The probe verifies each sample itself; these tests
/// check what it reports and look at the upper layers it left behind. No timing is asserted.
@Suite("Metadata probe", .serialized, Gate.kernelOverlay.trait)
struct MetadataProbeTests {
    static let optionSets = try! ["", "metacopy=on", "redirect_dir=on"].map { try OverlayMountOptions(parsing: $0) }

    /// Runs the probe once into `directory` and returns its measurements.
    func run(in directory: String) throws -> [OverlaySuite.Measurement] {
        var configuration = MetadataProbe.Configuration()
        configuration.sampling.samples = 2
        configuration.sampling.warmup = 0
        configuration.fileSize = 256 << 10
        configuration.pathDepths = [1, 4]
        let backends = MountVariantBackend.expand([KernelOverlayBackend()], optionSets: Self.optionSets)
        let book = SampleBook()
        var mounts: [RunEnvironment.MountRecord] = []
        try MetadataProbe(configuration: configuration, backends: backends, log: ProgressLog(level: .quiet))
            .run(in: directory, book: book, mounts: &mounts)
        #expect(mounts.count == 3)
        return book.measurements()
    }

    func measurement(_ all: [OverlaySuite.Measurement], _ metric: String, options: String, op: String? = nil, depth: Int64? = nil) throws -> OverlaySuite.Measurement {
        let found = all.first { (m: OverlaySuite.Measurement) -> Bool in
            let p = m.parameters
            guard m.metric == metric, p["mountOptions"]?.stringValue == options, p["op"]?.stringValue == op else { return false }
            return depth == nil || p["pathDepth"]?.intValue == depth
        }
        return try #require(found, "no \(metric) for '\(options)' op \(op ?? "-")")
    }

    /// Paths below `directory` that end in `suffix`.
    func paths(under directory: String, endingIn suffix: String) -> [String] {
        let walker = FileManager.default.enumerator(atPath: directory)
        var found: [String] = []
        while let relative = walker?.nextObject() as? String {
            if relative.hasSuffix(suffix) { found.append(directory + "/" + relative) }
        }
        return found
    }

    @Test("whiteouts, opaque directories, EXDEV without redirect_dir, metacopy chown, ancestor chains")
    func semantics() throws {
        try Gate.kernelOverlay.require()
        try withTemporaryDirectory { directory in
            let all = try run(in: directory)
            #expect(overlayMountPoints().allSatisfy { !$0.hasPrefix(directory) })

            // Every operation was timed on every variant.
            for metric in ["unlink", "rmdir", "mkdir", "rmdirMkdir", "renameFile", "renameDir", "chmod", "chown", "createDeep"] {
                for options in ["", "metacopy=on", "redirect_dir=on"] {
                    #expect(try measurement(all, metric, options: options).samples.count == 2)
                }
            }

            // A lower directory cannot be renamed without redirect_dir: EXDEV is the outcome.
            #expect(try measurement(all, "renameDir", options: "").parameters["outcome"]?.stringValue == "EXDEV")
            #expect(try measurement(all, "renameDir", options: "redirect_dir=on").parameters["outcome"]?.stringValue == "ok")

            // chown and chmod copy only the inode under metacopy=on, so upper grows by far less.
            for op in ["chmod", "chown"] {
                #expect(try measurement(all, op, options: "metacopy=on").parameters["copyUp"]?.stringValue == "metacopy")
                #expect(try measurement(all, op, options: "").parameters["copyUp"]?.stringValue == "full")
                let full = try measurement(all, "upperBytes", options: "", op: op).samples
                let meta = try measurement(all, "upperBytes", options: "metacopy=on", op: op).samples
                #expect(full.allSatisfy { $0 >= Double(256 << 10) })
                #expect(meta.allSatisfy { $0 < Double(256 << 10) })
            }

            // Creating a file d lower-only levels down copies up d directories, then the file.
            for depth: Int64 in [1, 4] {
                let inodes = try measurement(all, "upperInodes", options: "", op: "createDeep", depth: depth)
                #expect(inodes.samples.allSatisfy { $0 == Double(depth + 1) })
            }

            // What upper holds: a 0/0 device for the unlinked file, an opaque mark on the directory
            // removed and made again.
            let cwd = FileDescriptor.currentWorkingDirectory
            let unlinked = paths(under: directory, endingIn: "diff/unlink/f0")
            #expect(unlinked.contains { (try? cwd.status(of: $0))?.isWhiteoutDevice == true })
            let remade = paths(under: directory, endingIn: "diff/rmdir/d0")
            #expect(remade.contains { (try? ExtendedAttributes.get("trusted.overlay.opaque", path: $0)) == Array("y".utf8) })

            // The footprint after the run is recorded once per view.
            let footprint = all.filter { $0.parameters["scope"]?.stringValue == "run" }
            #expect(Set(footprint.map(\.metric)) == ["upperBytes", "upperInodes", "workBytes", "workInodes"])
            #expect(footprint.count == 4 * 3)
        }
    }
}
