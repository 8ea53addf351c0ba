import ArgumentParser
import OverlayCore
import OverlaySuite
import OverlaySystem

struct ShiftCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shift",
        abstract: "Time to ready and upper bytes of presenting an image under a shifted uid/gid range.",
        discussion: """
            Each sample starts a container from the same generated image (--files files of \
            --file-size bytes over --layers layers) whose owners must show shifted by --uid-shift \
            (uid and gid, a range of --id-range), and times it to ready: ready = mount + shift. \
            Methods (parameters.method): chown (chown -R through the view), chown-metacopy \
            (through a metacopy=on overlay), idmapped-layers (the kernel overlay over idmapped \
            lower layers, mount_setattr MOUNT_ATTR_IDMAP, kernel 5.19+) and uidmapping \
            (fuse-overlayfs's uidmapping=/gidmapping=); a method a backend cannot do is recorded \
            as skipped with the reason. Every name in the view is checked to show its owner \
            shifted; the container's upperBytes/upperInodes are recorded, then firstWrite, a \
            1-byte write to one file, with the owner it leaves on disk checked.
            """
    )

    @OptionGroup var options: RunOptions

    @Option(name: .long, parsing: .unconditional, help: "Files in the image (1-\(OptionValues.maximumCount)).")
    var files: Int = 10_000

    @Option(name: .long, parsing: .unconditional, help: "Size of each file, with units.")
    var fileSize: String = "4KiB"

    @Option(name: .long, parsing: .unconditional, help: "Lower layers the files are spread over (1-500).")
    var layers: Int = 4

    @Option(name: .long, parsing: .unconditional, help: "What owner 0 shows as: the shift of every uid and gid.")
    var uidShift: UInt32 = 100_000

    @Option(name: .long, parsing: .unconditional, help: "IDs mapped from 0 (a user namespace's range).")
    var idRange: UInt32 = 65_536

    @Option(name: .long, help: "Comma-separated methods: \(ShiftProbe.Method.allCases.map(\.rawValue).joined(separator: ",")).")
    var methods: String = ShiftProbe.Method.allCases.map(\.rawValue).joined(separator: ",")

    func validate() throws {
        do { _ = try ShiftProbe.Method.parseList(methods) } catch { throw ValidationError("\(error)") }
        try OptionValues.check(files, "--files", in: 1...OptionValues.maximumCount)
        _ = try OptionValues.size(fileSize, "--file-size", minimum: 1, why: "firstWrite writes one byte")
        try OptionValues.check(layers, "--layers", in: 1...LayerStackSpec.maximumLayers)
        guard uidShift >= 1 else { throw ValidationError("--uid-shift must be at least 1: a shift of 0 changes no owner") }
        guard idRange >= 1, UInt64(uidShift) + UInt64(idRange) <= UInt64(UInt32.max) else {
            throw ValidationError("--id-range must be at least 1, and --uid-shift + --id-range at most \(UInt32.max)")
        }
    }

    func run() throws {
        var configuration = ShiftProbe.Configuration()
        configuration.methods = try ShiftProbe.Method.parseList(methods)
        configuration.files = files
        configuration.fileSize = try ByteCount.parse(fileSize)
        configuration.layers = layers
        configuration.mapping = IDMapping(inside: 0, outside: uidShift, count: idRange)
        try ProbeRunner(options: options).run(eachFilesystem: { fs, log in
            var configuration = configuration
            configuration.sampling = try options.samplingPlan(fs: fs)
            return ShiftProbe(configuration: configuration, backends: try options.backends(), log: log)
        })
    }
}
