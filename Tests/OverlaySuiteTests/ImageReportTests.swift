import Foundation
import OverlayCore
import OverlaySuite
import OverlaySystem
import OverlayTestSupport
import Testing

@Suite struct ImageReportTests {
    @Test func theReportSaysWhatTheImageHolds() throws {
        try withTemporaryDirectory(prefix: "overlaybench-report") { directory in
            try TestImage.sample().writeOCILayout(to: directory + "/layout")
            _ = try ImageImporter(options: LayerApplyOptions(rootless: !Host.isRoot))
                .importImage(ImageReference(parsing: "oci:\(directory)/layout:sample"), to: directory + "/image")
            let text = ImageReport.render(try ImageCatalog(directory: directory + "/image"))
            #expect(text.contains("6 layers"))
            #expect(text.contains("deepest path: usr/share/very-long-directory-name"))
            #expect(text.contains("whiteouts: 4:") && text.contains("opaque directories: 4:"))
            #expect(text.contains("file sizes in the merged view:") && text.contains("\n>") == false)
            let layerRows = text.split(separator: "\n").filter { $0.hasPrefix("0 top") || $0.hasPrefix("5 bottom") }
            #expect(layerRows.count == 2, "\(text)")
        }
    }
}
