import ArgumentParser
import Foundation
import OverlayCore
import OverlaySystem

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import an OCI or docker-archive image into Docker overlay2's layout.",
        discussion: """
            SOURCE is oci:PATH[:TAG] (an OCI image layout), oci-archive:FILE[:TAG] (the same as a \
            tar) or docker-archive:FILE[:REPO:TAG] (docker save, podman save). Layers are applied \
            as containerd applies them for overlay: whiteouts become 0/0 character devices, opaque \
            markers trusted.overlay.opaque (user.overlay.opaque with --rootless), and every name \
            stays beneath its layer's diff directory. Every blob's SHA-256 and every layer's diff ID \
            is checked while it streams. DIR gets <id>/diff, <id>/link, <id>/lower, l/, image.json \
            and lowerdir (the lowerdir= value that mounts the image by hand); it is built beside \
            DIR and renamed into place, so a failed import leaves nothing. Exit codes: 64 bad \
            SOURCE, 65 malformed image (bad digest, truncated blob, unknown media type, bad tar), \
            66 missing input (no such layout, blob or tag), 69 not root (use --rootless), \
            73 cannot create DIR (it exists, no space), 74 I/O error, 130/143 interrupted.
            """)

    @Argument(help: "oci:PATH[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE[:REPO:TAG].")
    var source: String

    @Option(name: .long, help: "The directory to create (it must not exist).")
    var out: String

    @Flag(name: .long, help: "For a rootless overlay (userxattr): user.overlay.opaque, and owners or devices that cannot be made are counted instead of failing.")
    var rootless = false

    @Flag(name: .shortAndLong, help: "Only errors on stderr.")
    var quiet = false

    func run() throws {
        SignalTrap.install()
        try ImageCommandErrors.reporting {
            let reference = try ImageReference(parsing: source)
            var importer = ImageImporter(options: LayerApplyOptions(rootless: rootless))
            if !quiet {
                importer.progress = { line in FileHandle.standardError.write(Data("overlaybench: \(line)\n".utf8)) }
            }
            let image = try importer.importImage(reference, to: out)
            guard !quiet else { return }
            let seconds = Double(image.importNanoseconds) / 1e9
            let megabytes = Double(image.uncompressedBytes) / 1e6
            let files = image.layers.reduce(0) { $0 + $1.counts.files }
            print("imported \(reference) into \(out): \(image.layers.count) layers, \(files) files, "
                  + String(format: "%.1f MB of layers in %.2f s (%.0f MB/s)", megabytes, seconds, seconds > 0 ? megabytes / seconds : 0))
            print("manifest \(image.manifestDigest)")
            print("mount it: mount -t overlay overlay -o lowerdir=$(cat \(out)/\(ImportedImage.lowerdirFileName)) MOUNTPOINT")
        }
    }
}

/// The image commands' errors: one line on stderr and the exit code ``ImageError`` documents
/// (66 missing input among them); everything else goes on to ``ExitStatus``.
enum ImageCommandErrors {
    static func reporting(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as ImageError {
            var message = error.message
            if error.kind == .unavailable && !Host.isRoot { message += " (not root: import with --rootless)" }
            FileHandle.standardError.write(Data("overlaybench: error: \(message)\n".utf8))
            throw ExitCode(error.exitCode)
        }
    }
}
