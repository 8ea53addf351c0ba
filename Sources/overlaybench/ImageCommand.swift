import ArgumentParser
import OverlayCore
import OverlaySuite

struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Describe an imported image: layers, sizes, file counts, whiteouts, opaque directories, the deepest path, the size histogram.",
        discussion: """
            DIR is a directory `overlaybench import` wrote. The layer table is top first; \
            'hidden' counts the names of a layer that upper layers hide or replace, 'shown \
            files' the regular files the merged view takes from it. The histogram is of the \
            merged view's regular files. Exit codes: 65 malformed image.json, 66 no image.json.
            """)

    @Argument(help: "A directory written by overlaybench import.")
    var directory: String

    func run() throws {
        try ImageCommandErrors.reporting {
            print(ImageReport.render(try ImageCatalog(directory: directory)), terminator: "")
        }
    }
}
