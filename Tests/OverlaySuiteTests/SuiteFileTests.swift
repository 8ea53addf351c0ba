import Foundation
import OverlayCore
import OverlaySuite
import Testing

@Suite("Suite files")
struct SuiteFileTests {
    @Test("a valid suite decodes every key")
    func valid() throws {
        let suite = try SuiteFile.parse("""
            name: t
            fsSize: 4GiB
            probes:
              - probe: copyup
                backends: [kernel, fuse]
                mountOptions: ["", volatile, metacopy=on]
                filesystems: [root, xfs]
                sizes: [0, 4KiB, 1MiB]
                samples: 3
                warmup: 0
                caches: [warm, cold]
              - probe: lookup
                depths: [1, 8]
                widths: []
                readdir: false
              - probe: copy
                engines: [io_uring]
                sparse: true
            """, file: "t.yaml")
        #expect(suite.name == "t")
        #expect(suite.fsSize == "4GiB")
        #expect(suite.probes.count == 3)
        #expect(suite.probes[0].mountOptions == ["", "volatile", "metacopy=on"])
        #expect(suite.probes[0].sizes == ["0", "4KiB", "1MiB"])
        #expect(suite.probes[0].samples == 3)
        #expect(suite.probes[1].depths == [1, 8])
        #expect(suite.probes[1].widths == [])
        #expect(suite.probes[1].readdir == false)
        #expect(suite.probes[2].sparse == true)
    }

    @Test("an unknown key is an error naming the key and its line")
    func unknownKey() {
        let text = "name: t\nprobes:\n  - probe: copyup\n    sizez: [4KiB]\n"
        do {
            _ = try SuiteFile.parse(text, file: "t.yaml")
            Issue.record("sizez decoded")
        } catch {
            #expect(error.key == "sizez")
            #expect(error.line == 4)
            #expect(error.description.hasPrefix("t.yaml:4: key \"sizez\" is not a known key here"))
        }
        #expect(throws: SuiteFileError.self) { try SuiteFile.parse("name: t\nprobs: []\n") }
    }

    @Test("a wrong type is an error naming the key", arguments: [
        ("samples: ten", "samples"),
        ("samples: [1]", "samples"),
        ("sizes: 4KiB", "sizes"),
        ("sizes: [4 potatoes]", "sizes"),
        ("filesystems: [zfs]", "filesystems"),
        ("caches: [tepid]", "caches"),
        ("readdir: maybe", "readdir"),
        ("mountOptions: [true]", "mountOptions"),
    ])
    func wrongType(line: String, key: String) {
        let text = "name: t\nprobes:\n  - probe: lookup\n    \(line)\n"
        do {
            _ = try SuiteFile.parse(text, file: "t.yaml")
            Issue.record("\(line) decoded")
        } catch {
            #expect(error.key == key)
            #expect(error.line == 4)
            #expect(error.description.hasPrefix("t.yaml:4: key \"\(key)\""))
        }
    }

    @Test("a shift entry takes its file count, methods and shift, and names an unknown method with the line")
    func shiftEntry() throws {
        let suite = try SuiteFile.parse("""
            name: s
            probes:
              - probe: shift
                backends: [kernel, fuse]
                files: 500
                methods: [chown, idmapped-layers]
                uidShift: 200000
            """, file: "s.yaml")
        #expect(suite.probes[0].files == 500)
        #expect(suite.probes[0].methods == ["chown", "idmapped-layers"])
        #expect(suite.probes[0].uidShift == 200_000)
        do {
            _ = try SuiteFile.parse("""
                name: s
                probes:
                  - probe: shift
                    methods: [chown, setuid]
                """, file: "s.yaml")
            Issue.record("an unknown method was taken")
        } catch {
            #expect("\(error)".contains("s.yaml:4:") && "\(error)".contains("\"setuid\"") && "\(error)".contains("idmapped-layers"))
        }
    }

    @Test("the shipped suites decode")
    func shipped() throws {
        let suites = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("suites")
        for name in ["quick", "nightly", "driver-choice"] {
            let suite = try SuiteFile.load(suites.appendingPathComponent("\(name).yaml").path)
            #expect(suite.name == name)
            #expect(!suite.probes.isEmpty)
        }
    }

    @Test("filesystem lists parse, keep order and reject unknown names")
    func filesystemKinds() throws {
        #expect(try BackingFilesystemKind.parseList("root,xfs-noreflink,xfs,root") == [.root, .xfsNoReflink, .xfs])
        #expect(throws: BackingFilesystemError.self) { try BackingFilesystemKind.parseList("ext4,zfs") }
        #expect(BackingFilesystemKind.xfs.mkfsArguments.contains("reflink=1"))
        #expect(BackingFilesystemKind.xfsNoReflink.mkfsArguments.contains("reflink=0"))
    }
}

@Suite("Workload profiles")
struct WorkloadProfileTests {
    @Test("built-in profiles are seeded, and their traces round-trip through the replay format",
          arguments: WorkloadProfile.builtInNames)
    func roundTrip(name: String) throws {
        let profile = try WorkloadProfile.builtIn(name, seed: 7)
        let again = try WorkloadProfile.builtIn(name, seed: 7)
        #expect(profile.operations == again.operations, "seed 7")
        #expect(profile.spec == again.spec, "seed 7")
        #expect(!profile.operations.isEmpty)
        #expect(try ReplayTrace.parse(profile.traceText) == profile.operations)
        try profile.spec.validate()
    }

    @Test("variants expand option sets for kernel and reference only")
    func variants() throws {
        let sets = [OverlayMountOptions.defaults, try OverlayMountOptions(parsing: "volatile")]
        let expanded = MountVariantBackend.expand([KernelOverlayBackend(), PlainDirectoryBackend()], optionSets: sets)
        #expect(expanded.map(\.identifier) == ["kernel", "kernel", "plain"])
        #expect(expanded.compactMap { ($0 as? MountVariantBackend)?.options.description } == ["", "volatile", ""])
        #expect(MountVariantBackend.expand([KernelOverlayBackend()], optionSets: [.defaults]).count == 1)
    }
}
