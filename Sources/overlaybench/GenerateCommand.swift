import ArgumentParser
import Foundation
import OverlayCore
import OverlaySuite

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate a seeded layer stack in Docker overlay2's layout.",
        discussion: "The same --seed and arguments always give the same tree, byte for byte.")

    @Option(name: .long, help: "Directory to create the stack in (it gets an overlay2/ directory; made if missing, but its parent must exist).")
    var out: String

    @Option(name: .long, parsing: .unconditional, help: "Lower layers (1-500).")
    var layers: Int = 3

    @Option(name: .long, parsing: .unconditional, help: "Comma-separated file sizes with units.")
    var sizes: String = "4KiB,1MiB"

    @Option(name: .long, parsing: .unconditional, help: "Files per size.")
    var filesPerSize: Int = 4

    @Option(name: .long, parsing: .unconditional, help: "Layer that holds the files: 0 is the top lower layer.")
    var layer: Int = 0

    @Option(name: .long, parsing: .unconditional, help: "Seed for ids, names and content.")
    var seed: UInt64 = 1

    func validate() throws {
        try OptionValues.check(layers, "--layers", in: 1...LayerStackSpec.maximumLayers)
        try OptionValues.check(layer, "--layer", in: 0...(layers - 1), why: "0 is the top of the \(layers) lower layers")
        try OptionValues.check(filesPerSize, "--files-per-size", in: 0...OptionValues.maximumCount)
        _ = try OptionValues.sizes(sizes, "--sizes")
    }

    func run() throws {
        let files = try ByteCount.parseList(sizes).flatMap { size in
            (0..<filesPerSize).map { FileSpec(path: "files/\(size)/f\($0)", size: size, layer: layer) }
        }
        try AtomicFile.makeDirectory(out)
        let stack = try LayerStackBuilder(spec: LayerStackSpec(layerCount: layers, seed: seed, files: files)).build(in: out)
        print("generated \(stack.lowerLayers.count) lower layer(s) and a container layer in \(stack.root)")
        print("lowerdir: \(stack.lowerLayers.map { "l/" + $0.shortName }.joined(separator: ":"))")
        print("upperdir: \(stack.upperPath)")
        print("workdir:  \(stack.workPath)")
        print("merged:   \(stack.mergedPath)")
    }
}
