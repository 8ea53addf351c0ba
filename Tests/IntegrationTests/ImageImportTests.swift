import Foundation
import OverlayCore
import OverlaySystem
import OverlayTestSupport
import Testing

/// `import` against an independent flattening: the sample image's layers are written as an OCI
/// layout, an OCI archive and a docker archive, each imported, and the kernel overlay's merged
/// view of `DIR/lowerdir` must equal, entry by entry, the root filesystem `umoci unpack` makes
/// of the same image.
@Suite(.serialized, Gate.kernelOverlay.trait, Gate.umoci.trait)
struct ImageImportTests {
    @Test func mergedViewEqualsTheFlattenedImageInEveryForm() throws {
        try Gate.kernelOverlay.require()
        try Gate.umoci.require()
        try withTemporaryDirectory(prefix: "overlaybench-image") { directory in
            let image = TestImage.sample()
            try image.writeOCILayout(to: directory + "/layout")
            try image.writeOCIArchive(to: directory + "/image.oci.tar")
            try image.writeDockerArchive(to: directory + "/image.docker.tar", repoTag: "sample/image:v1")

            let reference = try flattenWithUmoci(image, in: directory)
            // The reference itself holds what the layers say, so agreeing with it means something.
            #expect(reference.entries.count > 40)
            #expect(reference.entries["bin/ping"]?.xattrs.contains { $0.hasPrefix("security.capability=") } == true)
            #expect(reference.entries["bin/wall"]?.permissions == 0o2755 && reference.entries["bin/su"]?.permissions == 0o755)
            #expect(reference.entries["dev/null"]?.device == "1:3" && reference.entries["run/ctl"]?.type == .fifo)
            #expect(reference.entries["var/cache/app/c1"] == nil && reference.entries["var/cache/app/c9"] != nil)
            #expect(reference.entries["home/user/.bashrc"] == nil && reference.entries["usr/share/doc/readme"] == nil)
            #expect(reference.entries["opt/app/data"]?.type == .regular && reference.entries["bin/tool-link"]?.type == .directory)
            #expect(reference.hardLinkGroups == [["etc/hosts", "etc/hosts.bak", "etc/hosts.old"]])

            let sources = [
                "oci:\(directory)/layout:sample",
                "oci-archive:\(directory)/image.oci.tar:sample",
                "docker-archive:\(directory)/image.docker.tar:sample/image:v1",
            ]
            for (index, source) in sources.enumerated() {
                let out = directory + "/imported-\(index)"
                let imported = try ImageImporter().importImage(ImageReference(parsing: source), to: out)
                #expect(imported.layers.count == 6)
                #expect(imported.layers.reduce(0) { $0 + $1.counts.whiteouts } == 4, "\(source)")
                #expect(imported.layers.reduce(0) { $0 + $1.counts.opaqueDirectories } == 4, "\(source)")
                #expect(imported.layers.reduce(0) { $0 + $1.counts.hardLinks } == 3, "\(source)")
                #expect(imported.layers.reduce(0) { $0 + $1.counts.ignoredXattrs } == 1, "\(source): trusted.test is dropped")
                let workload = try ImageWorkload(directory: out)
                let names = workload.lookupNames(seed: 7)
                let (merged, found) = try withLowerdirMount(out) { mountPoint in
                    (try TreeSnapshot(mountPoint), names.map { FileSystem.exists(mountPoint + "/" + $0.path) })
                }
                let differences = merged.differences(from: reference)
                #expect(differences.isEmpty, "\(source): merged view against umoci unpack:\n\(differences.joined(separator: "\n"))")
                // The catalog's model of overlay lookup agrees with the kernel's.
                let catalogued = Dictionary(uniqueKeysWithValues: workload.catalog.entries.map { ($0.path, $0) })
                #expect(Set(catalogued.keys) == Set(merged.entries.keys), "\(source): catalog against the merged view")
                for (path, entry) in merged.entries {
                    #expect(catalogued[path]?.type == entry.type && (entry.type != .regular || catalogued[path]?.size == entry.size), "\(path)")
                }
                #expect(names.map(\.found) == found, "\(source): \(names)")
            }
            // Nothing but the final directories is left beside them.
            let left = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix(".") }
            #expect(left.isEmpty, "left behind: \(left)")
        }
    }

    @Test func whiteoutsAndOpaqueMarkersAreWhatOverlayReads() throws {
        try Gate.kernelOverlay.require()
        try withTemporaryDirectory(prefix: "overlaybench-image") { directory in
            try TestImage.sample().writeOCILayout(to: directory + "/layout")
            let out = directory + "/out"
            let image = try ImageImporter().importImage(ImageReference(parsing: "oci:\(directory)/layout"), to: out)
            // Layer 2 (index 4 top-first) whited out etc/shadow and made var/cache/app opaque.
            let second = out + "/" + image.layers[4].id + "/diff"
            let whiteout = try #require(FileSystem.status(second + "/etc/shadow"))
            #expect(whiteout.isWhiteoutDevice)
            #expect(!FileSystem.exists(second + "/etc/.wh.shadow"))
            #expect(try ExtendedAttributes.get("trusted.overlay.opaque", path: second + "/var/cache/app") == Array("y".utf8))
            #expect(!FileSystem.exists(second + "/var/cache/app/.wh..wh..opq"))
            // Parents only implied by usr/share/doc/new took layer 1's attributes.
            let implied = try #require(FileSystem.status(second + "/home/user"))
            #expect(implied.permissions == 0o700 && implied.uid == 1000 && implied.gid == 1000)
            // lower files name the layers below, top-first, by their l/ links.
            let lower = try FileSystem.readText(out + "/" + image.layers[0].id + "/lower")
            #expect(lower == image.layers.dropFirst().map { "l/" + $0.shortName }.joined(separator: ":"))
            #expect(!FileSystem.exists(out + "/" + image.layers[5].id + "/lower"))
            for layer in image.layers {
                #expect(try FileDescriptor.currentWorkingDirectory.readSymlink(out + "/l/" + layer.shortName) == "../\(layer.id)/diff")
            }
        }
    }

    /// `umoci unpack` of the same image (gzip layers: Debian's umoci 0.4.7 reads no zstd).
    private func flattenWithUmoci(_ image: TestImage, in directory: String) throws -> TreeSnapshot {
        let layout = directory + "/umoci-layout"
        try image.recompressed(.gzip).writeOCILayout(to: layout)
        let umoci = try #require(ChildProcess.findExecutable("umoci"))
        let result = try ChildProcess.run(umoci, ["unpack", "--image", layout + ":" + image.tag, directory + "/bundle"], timeout: 120)
        try #require(result.exit.succeeded, "umoci unpack: \(result.standardError)")
        return try TreeSnapshot(directory + "/bundle/rootfs")
    }
}

/// Mounts the image read-only from `DIR/lowerdir` alone (no upper), runs `body` on the mount
/// point, and unmounts on every path.
func withLowerdirMount<T>(_ imageDirectory: String, _ body: (String) throws -> T) throws -> T {
    let lowerdir = try FileSystem.readText(imageDirectory + "/lowerdir").trimmingCharacters(in: .whitespacesAndNewlines)
    let mountPoint = imageDirectory + ".mnt"
    try FileSystem.makeDirectory(mountPoint)
    defer { try? FileManager.default.removeItem(atPath: mountPoint) }
    try Mount.mount(source: "overlay", target: mountPoint, type: "overlay", data: "lowerdir=" + lowerdir)
    let result: T
    do {
        result = try body(mountPoint)
    } catch {
        try? Mount.unmount(mountPoint)
        throw error
    }
    try Mount.unmount(mountPoint)
    return result
}
