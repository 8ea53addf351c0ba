import Foundation
import OverlaySystem
import OverlayTestSupport
import Testing

/// The fifteen bad inputs of issue 12, run through the built CLI. None needs root: every one is
/// refused before a work root, a mount or a device is touched.
@Suite("overlaybench bad inputs")
struct BadInputTests {
    /// One bad input: the arguments (`$DIR` is a fresh directory holding the fixtures), the exit
    /// code, and what the one line must say.
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var arguments: [String]
        var status: Int32
        var mentions: [String]
        var testDescription: String { name }
    }

    static let never = "/var/tmp/overlaybench-bad-input-never-created"
    static let replayDirectories = ["--lower", "/nonexistent-lower", "--upper", "/nonexistent-upper", "--work", "/nonexistent-work"]

    static let cases: [Case] = [
        Case(name: "an empty file", arguments: ["report", "$DIR/empty.json", "--out", "$DIR/report"], status: 65,
             mentions: ["$DIR/empty.json", "empty"]),
        Case(name: "an empty suite (/dev/null)", arguments: ["run", "--suite", "/dev/null"], status: 65,
             mentions: ["/dev/null", "empty"]),
        Case(name: "a directory", arguments: ["report", "$DIR", "--out", "$DIR/report"], status: 66,
             mentions: ["$DIR", "read", "EISDIR"]),
        Case(name: "a missing result file", arguments: ["export", "$DIR/missing.json", "--format", "csv"], status: 66,
             mentions: ["$DIR/missing.json", "open", "ENOENT"]),
        Case(name: "a missing trace", arguments: ["replay", "$DIR/missing.jsonl"] + replayDirectories, status: 66,
             mentions: ["$DIR/missing.jsonl", "open", "ENOENT"]),
        Case(name: "a truncated JSON", arguments: ["export", "$DIR/truncated.json", "--format", "csv"], status: 65,
             mentions: ["$DIR/truncated.json", "not valid JSON", "unexpected end of file"]),
        Case(name: "a JSON of another schema", arguments: ["export", "$DIR/other-schema.json", "--format", "csv"], status: 65,
             mentions: ["$DIR/other-schema.json", "schema \"overlaybench.compare/1\"", "overlaybench.result/1"]),
        Case(name: "a result missing a field", arguments: ["export", "$DIR/missing-field.json", "--format", "csv"], status: 65,
             mentions: ["$DIR/missing-field.json: measurement 3: missing field \"unit\""]),
        Case(name: "a YAML suite with an unknown key", arguments: ["run", "--suite", "$DIR/unknown-key.yaml"], status: 65,
             mentions: ["$DIR/unknown-key.yaml:4:", "\"sizez\"", "not a known key"]),
        Case(name: "a malformed trace line", arguments: ["replay", "$DIR/malformed.jsonl"] + replayDirectories, status: 65,
             mentions: ["$DIR/malformed.jsonl: line 2:", "field \"byte\" is missing"]),
        Case(name: "--out into a missing directory", arguments: ["export", "$DIR/good.json", "--format", "csv", "--out", "$DIR/nonexistent/dir/x.csv"],
             status: 73, mentions: ["$DIR/nonexistent/dir/x.csv", "open $DIR/nonexistent/dir", "ENOENT"]),
        Case(name: "--samples 0", arguments: ["run", "copyup", "--samples", "0", "--work-root", never], status: 64,
             mentions: ["--samples", "at least 1", "got 0"]),
        Case(name: "--samples -3", arguments: ["run", "copyup", "--samples", "-3", "--work-root", never], status: 64,
             mentions: ["--samples", "at least 1", "got -3"]),
        Case(name: "--depths 0", arguments: ["run", "lookup", "--depths", "0", "--work-root", never], status: 64,
             mentions: ["--depths", "0", "outside 1...500"]),
        Case(name: "--sizes -1KiB", arguments: ["run", "copyup", "--sizes", "-1KiB", "--work-root", never], status: 64,
             mentions: ["--sizes", "-1KiB", "negative"]),
        Case(name: "--jobs 100000", arguments: ["run", "copyup", "--jobs", "100000", "--work-root", never], status: 64,
             mentions: ["--jobs", "at most 1024", "got 100000"]),
        Case(name: "run --out into a missing directory", arguments: ["run", "copyup", "--out", "$DIR/nonexistent/r.json", "--work-root", never],
             status: 73, mentions: ["$DIR/nonexistent/r.json", "ENOENT"]),
        Case(name: "a value of the wrong type", arguments: ["report", "$DIR/wrong-type.json", "--out", "$DIR/report"], status: 65,
             mentions: ["$DIR/wrong-type.json: measurement 3: summary: field \"p50\" must be a number, not a string"]),
        Case(name: "shift --uid-shift 0", arguments: ["run", "shift", "--uid-shift", "0", "--work-root", never], status: 64,
             mentions: ["--uid-shift", "at least 1"]),
        Case(name: "shift --methods with an unknown one", arguments: ["run", "shift", "--methods", "chown,setuid", "--work-root", never], status: 64,
             mentions: ["methods", "\"setuid\"", "idmapped-layers"]),
        Case(name: "shift --uid-shift beyond the ID space", arguments: ["run", "shift", "--uid-shift", "4294967000", "--work-root", never], status: 64,
             mentions: ["--id-range", "4294967295"]),
        Case(name: "an unknown option (ArgumentParser's own usage error)", arguments: ["run", "copyup", "--bogus"], status: 64,
             mentions: ["--bogus"]),
    ]

    /// Writes the fixtures every case refers to into `dir`.
    static func writeFixtures(in dir: String) throws {
        let good = try smallResultData()
        var object = try JSONSerialization.jsonObject(with: good) as! [String: Any]
        var measurements = object["measurements"] as! [[String: Any]]
        let files: [(String, [UInt8])] = [
            ("empty.json", []),
            ("good.json", Array(good)),
            ("truncated.json", Array(good.prefix(good.count / 2))),
            ("other-schema.json", Array("{\"schema\": \"overlaybench.compare/1\", \"rows\": []}\n".utf8)),
            ("unknown-key.yaml", Array("name: t\nprobes:\n  - probe: copyup\n    sizez: [4KiB]\n".utf8)),
            ("malformed.jsonl", Array("{\"op\":\"stat\",\"path\":\"a\"}\n{\"op\":\"write\",\"path\":\"a\",\"offset\":0,\"length\":1}\n".utf8)),
        ]
        for (name, bytes) in files { try FileSystem.writeAtomically(bytes, to: dir + "/" + name, replacing: false) }

        measurements[2]["unit"] = nil
        object["measurements"] = measurements
        try FileSystem.writeAtomically(Array(try JSONSerialization.data(withJSONObject: object)), to: dir + "/missing-field.json", replacing: false)
        measurements = (try JSONSerialization.jsonObject(with: good) as! [String: Any])["measurements"] as! [[String: Any]]
        var summary = measurements[2]["summary"] as! [String: Any]
        summary["p50"] = "fast"
        measurements[2]["summary"] = summary
        object["measurements"] = measurements
        try FileSystem.writeAtomically(Array(try JSONSerialization.data(withJSONObject: object)), to: dir + "/wrong-type.json", replacing: false)
    }

    /// The repository's baseline result with its first four measurements.
    static func smallResultData() throws -> Data {
        let baseline = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("results/baseline.json")
        var object = try JSONSerialization.jsonObject(with: Data(FileSystem.readFile(baseline.path))) as! [String: Any]
        object["measurements"] = Array((object["measurements"] as! [Any]).prefix(4))
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    @Test("each bad input is one line in our words, naming the file, place or option, with its exit code", arguments: cases)
    func badInput(_ badCase: Case) throws {
        try withTemporaryDirectory { dir in
            try Self.writeFixtures(in: dir)
            let outcome = try runOverlayBench(badCase.arguments.map { $0.replacingOccurrences(of: "$DIR", with: dir) })
            let message = outcome.stderr
            #expect(outcome.status == badCase.status, "stderr: \(message)")
            #expect(message.hasPrefix("overlaybench: error: "), "stderr: \(message)")
            #expect(message.hasSuffix("\n") && message.dropLast().split(separator: "\n").count == 1, "not one line: \(message)")
            for mention in badCase.mentions.map({ $0.replacingOccurrences(of: "$DIR", with: dir) }) {
                #expect(message.contains(mention), "\(message) does not mention \(mention)")
            }
            for foreign in ["could not be completed", "NSCocoaErrorDomain", "DecodingError", "CodingKeys", "Fatal error"] {
                #expect(!message.contains(foreign), "\(message) shows \(foreign)")
            }
            #expect(outcome.stdout.isEmpty, "stdout: \(outcome.stdout)")
            // Nothing was created on the way to the error: no parents of a missing --out, no report
            // directory, no work root.
            #expect(!FileSystem.exists(dir + "/nonexistent"))
            #expect(!FileSystem.exists(Self.never))
        }
    }
}
