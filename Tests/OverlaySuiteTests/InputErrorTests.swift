import Foundation
import OverlayCore
import OverlaySuite
import OverlaySystem
import OverlayTestSupport
import Testing

/// The words an error may never show a user: Foundation's and Swift's own renderings.
let foreignWording = ["could not be completed", "NSCocoaErrorDomain", "DecodingError", "CodingKeys"]

/// A small valid result file: the repository's baseline with its first four measurements.
func smallResult() throws -> [String: Any] {
    let baseline = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("results/baseline.json")
    var object = try JSONSerialization.jsonObject(with: Data(FileSystem.readFile(baseline.path))) as! [String: Any]
    object["measurements"] = Array((object["measurements"] as! [Any]).prefix(4))
    return object
}

func jsonData(_ object: Any) throws -> Data {
    try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
}

/// `object` with `edit` applied to its measurement at `index`.
func editingMeasurement(_ object: [String: Any], _ index: Int, _ edit: (inout [String: Any]) -> Void) -> [String: Any] {
    var object = object
    var measurements = object["measurements"] as! [[String: Any]]
    edit(&measurements[index])
    object["measurements"] = measurements
    return object
}

@Suite("Input files: errors in our words")
struct InputErrorTests {
    private func expectOurWords(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for foreign in foreignWording {
            #expect(!text.contains(foreign), "\"\(text)\" shows \(foreign)", sourceLocation: sourceLocation)
        }
        #expect(!text.contains("\n"), "\"\(text)\" is more than one line", sourceLocation: sourceLocation)
    }

    private func decodeError(_ data: Data, path: String = "r.json") -> ResultFileError? {
        do {
            _ = try ResultFile.decode(data, path: path)
            return nil
        } catch {
            return error
        }
    }

    @Test("the small fixture decodes, so each edit below is the only fault")
    func fixtureDecodes() throws {
        #expect(decodeError(try jsonData(try smallResult())) == nil)
    }

    @Test("a missing field names the measurement (1-based) and the field")
    func missingField() throws {
        let object = editingMeasurement(try smallResult(), 2) { $0["unit"] = nil }
        let error = try #require(decodeError(try jsonData(object)))
        #expect(error.description == "r.json: measurement 3: missing field \"unit\"")
        expectOurWords(error.description)
    }

    @Test("a missing top-level field is named without a place")
    func missingTopLevelField() throws {
        var object = try smallResult()
        object["incomplete"] = nil
        let error = try #require(decodeError(try jsonData(object)))
        #expect(error.description == "r.json: missing field \"incomplete\"")
    }

    @Test("a nested missing field names the path to it")
    func missingNestedField() throws {
        let object = editingMeasurement(try smallResult(), 2) { m in
            var summary = m["summary"] as! [String: Any]
            summary["p50"] = nil
            m["summary"] = summary
        }
        let error = try #require(decodeError(try jsonData(object)))
        #expect(error.description == "r.json: measurement 3: summary: missing field \"p50\"")
    }

    @Test("a value of the wrong type says what was expected and what was found")
    func typeMismatch() throws {
        let object = editingMeasurement(try smallResult(), 2) { m in
            var summary = m["summary"] as! [String: Any]
            summary["p50"] = "fast"
            m["summary"] = summary
        }
        let error = try #require(decodeError(try jsonData(object)))
        #expect(error.description == "r.json: measurement 3: summary: field \"p50\" must be a number, not a string")
        expectOurWords(error.description)
    }

    @Test("a null value is named as null")
    func valueNotFound() throws {
        let object = editingMeasurement(try smallResult(), 0) { $0["samples"] = [1.0, NSNull()] }
        let error = try #require(decodeError(try jsonData(object)))
        #expect(error.description == "r.json: measurement 1: sample 2 is null; it must be a number")
    }

    @Test("truncated JSON says so, with the byte count")
    func truncated() throws {
        let data = try jsonData(try smallResult())
        let error = try #require(decodeError(data.prefix(data.count / 2)))
        #expect(error.description == "r.json: not valid JSON: unexpected end of file after \(data.count / 2) bytes (truncated?)")
        expectOurWords(error.description)
    }

    @Test("a syntax error is placed by line and column")
    func syntaxError() throws {
        let error = try #require(decodeError(Data("{\"schema\": \"overlaybench.result/1\",\n  \"incomplete\": nope}".utf8)))
        #expect(error.description.hasPrefix("r.json: not valid JSON: invalid value at line 2, column "))
    }

    @Test("JSON of another program or schema is named as such", arguments: [
        ("{\"name\":\"left-pad\",\"version\":\"1.3.0\"}", "r.json: no \"schema\" field: not an OverlayBench result file (overlaybench.result/1)"),
        ("{\"schema\":\"overlaybench.compare/1\"}", "r.json: schema \"overlaybench.compare/1\" is not overlaybench.result/1"),
        ("{\"schema\":1}", "r.json: field \"schema\" must be a string, not a number"),
        ("[1,2,3]", "r.json: not an OverlayBench result file: the JSON is a list, not an object"),
    ])
    func otherSchema(text: String, expected: String) throws {
        let error = try #require(decodeError(Data(text.utf8)))
        #expect(error.description == expected)
    }

    @Test("DecodingErrorMessage renders coding paths in the file's terms")
    func paths() {
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int?
            init(_ string: String) { stringValue = string }
            init(_ int: Int) { stringValue = "Index \(int)"; intValue = int }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { self.init(intValue) }
        }
        #expect(DecodingErrorMessage.render([Key("measurements"), Key(2), Key("summary"), Key("p50")])
                == ["measurement 3", "summary", "field \"p50\""])
        #expect(DecodingErrorMessage.render([Key("environment"), Key("mounts"), Key(0)]) == ["environment", "mount 1"])
        #expect(DecodingErrorMessage.render([Key("thing"), Key(4)]) == ["thing item 5"])
        let corrupted = DecodingError.dataCorrupted(.init(codingPath: [Key("measurements"), Key(0), Key("unit")], debugDescription: "x"))
        #expect(DecodingErrorMessage.describe(corrupted) == "measurement 1: field \"unit\" has an invalid value")
    }

    @Test("a missing input file is ENOENT, a directory EISDIR, an empty file empty")
    func unreadable() throws {
        try withTemporaryDirectory { dir in
            for (path, expected) in [
                (dir + "/missing.json", "cannot read result file \(dir)/missing.json: open: No such file or directory (ENOENT)"),
                (dir, "cannot read result file \(dir): read: Is a directory (EISDIR)"),
            ] {
                do {
                    _ = try ResultFile.load(path)
                    Issue.record("\(path) loaded")
                } catch let error as InputFileError {
                    #expect(error.description == expected)
                    guard case .unreadable = error.problem else { Issue.record("\(error.problem)"); continue }
                }
            }
            try FileSystem.writeAtomically([], to: dir + "/empty.yaml", replacing: false)
            try FileSystem.writeAtomically(Array(" \n\t\n".utf8), to: dir + "/blank.jsonl", replacing: false)
            #expect(throws: InputFileError(path: dir + "/empty.yaml", kind: "suite file", problem: .empty(bytes: 0))) {
                try SuiteFile.load(dir + "/empty.yaml")
            }
            #expect(throws: InputFileError(path: dir + "/blank.jsonl", kind: "trace", problem: .empty(bytes: 4))) {
                try ReplayTrace.load(dir + "/blank.jsonl")
            }
            #expect(InputFileError(path: "/dev/null", kind: "suite file", problem: .empty(bytes: 0)).description
                    == "/dev/null: the suite file is empty (0 bytes)")
        }
    }

    @Test("a malformed trace line names the file, the line and the field")
    func traceLine() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/t.jsonl"
            try FileSystem.writeAtomically(Array("{\"op\":\"stat\",\"path\":\"a\"}\n\n{\"op\":\"write\",\"path\":\"a\",\"offset\":0}\n".utf8),
                                           to: path, replacing: false)
            do {
                _ = try ReplayTrace.load(path)
                Issue.record("a malformed trace loaded")
            } catch let error as ReplayTraceError {
                #expect(error.description == "\(path): line 3: field \"byte\" is missing")
            }
        }
    }

    @Test("a suite with an unknown key names the key and line; invalid YAML is one line")
    func suite() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/s.yaml"
            try FileSystem.writeAtomically(Array("name: t\nprobes:\n  - probe: copyup\n    sizez: [4KiB]\n".utf8), to: path, replacing: false)
            do {
                _ = try SuiteFile.load(path)
                Issue.record("sizez decoded")
            } catch let error as SuiteFileError {
                #expect(error.description.hasPrefix("\(path):4: key \"sizez\" is not a known key here"))
            }
        }
        do {
            _ = try SuiteFile.parse("name: t\nprobes: [\n  - probe: x\n", file: "bad.yaml")
            Issue.record("invalid YAML decoded")
        } catch {
            #expect(error.description.hasPrefix("bad.yaml:"))
            expectOurWords(error.description)
        }
    }

    @Test("an output into a missing directory is ENOENT, and the directory is not created")
    func outputDirectory() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/missing/deeper/x.csv"
            #expect(throws: OutputFileError(path: path, problem: .failed(SystemError("open", path: dir + "/missing/deeper", errno: .noSuchFileOrDirectory)))) {
                try AtomicFile.write("a,b\n", to: path, overwrite: true)
            }
            #expect(throws: OutputFileError(path: path, problem: .failed(SystemError("open", path: dir + "/missing/deeper", errno: .noSuchFileOrDirectory)))) {
                try AtomicFile.checkWritable(path, overwrite: true)
            }
            #expect(!FileSystem.exists(dir + "/missing"))
            #expect(throws: OutputFileError.self) { try AtomicFile.makeDirectory(dir + "/missing/deeper") }
            #expect(!FileSystem.exists(dir + "/missing"))

            try AtomicFile.write("1\n", to: dir + "/r.csv", overwrite: false)
            #expect(throws: OutputFileError(path: dir + "/r.csv", problem: .exists)) {
                try AtomicFile.write("2\n", to: dir + "/r.csv", overwrite: false)
            }
            #expect(throws: OutputFileError(path: dir + "/r.csv", problem: .exists)) {
                try AtomicFile.checkWritable(dir + "/r.csv", overwrite: false)
            }
            #expect(try FileSystem.readText(dir + "/r.csv") == "1\n")
            let error = OutputFileError(path: "/nonexistent/dir/x.csv", problem: .failed(SystemError("open", path: "/nonexistent/dir", errno: .noSuchFileOrDirectory)))
            #expect(error.description == "cannot create /nonexistent/dir/x.csv: open /nonexistent/dir: No such file or directory (ENOENT)")
        }
    }

    @Test("a report is not written below a directory that does not exist")
    func reportDirectory() throws {
        try withTemporaryDirectory { dir in
            let result = try ResultFile.decode(try jsonData(try smallResult()), path: "r.json")
            let writer = ReportWriter(inputs: [.init(path: "r.json", result: result)],
                                      options: .init(outDirectory: dir + "/a/b", plotter: nil))
            #expect(throws: OutputFileError.self) { try writer.write() }
            #expect(!FileSystem.exists(dir + "/a"))
            #expect(throws: OutputFileError.self) { try MergeReport(inputs: [.init(path: "r.json", result: result)]).write(to: dir + "/a/b") }
            #expect(!FileSystem.exists(dir + "/a"))
        }
    }
}
