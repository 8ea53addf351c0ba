import OverlayCore
import OverlaySystem

extension ShiftProbe {
    /// The container one sample starts, while it is up: set up, mounted by the timed call,
    /// ended by the trial's tear-down.
    final class Container {
        var stack: LayerStack?
        var view: (any MergedView)?
        /// The lower file `firstWrite` writes through the view, and the byte written over its first.
        var lowerFile = ""
        var written: UInt8 = 0
    }

    /// One container started by one method on one backend.
    struct Sample {
        let probe: ShiftProbe
        let method: Method
        let backend: any OverlayBackend
        let image: LayerStack
        let index: Int

        static func key(_ probe: String, _ backend: String, _ metric: String, _ parameters: [String: ParameterValue],
                        unit: String = "ns") -> SampleBook.Key {
            SampleBook.Key(probe: probe, backend: backend, metric: metric, unit: unit, parameters: parameters)
        }

        func key(_ metric: String, unit: String = "ns") -> SampleBook.Key {
            Self.key(ShiftProbe.name, backend.identifier, metric, probe.parameters(method, backend.capabilities), unit: unit)
        }

        /// The file `firstWrite` writes: a different one each round.
        var target: String {
            ShiftProbe.path(index % probe.configuration.files, perDirectory: probe.configuration.filesPerDirectory)
        }

        /// `onMount` is given the view once it is up (to record the mount), outside the clock.
        func trial(onMount: @escaping (any MergedView) -> Void) throws -> Trial {
            let container = Container()
            let backend = backend, method = method, image = image, index = index
            let mapping = probe.configuration.mapping
            let options = probe.options(method, backend.capabilities)
            let target = target
            let quiescer = try probe.sampler.quiescer(for: [image.root] + image.lowerPaths)
            return Trial(
                key: key("ready"), writes: true, quiescer: quiescer,
                setUp: {
                    let stack = try image.withNewContainer("c-\(method.rawValue)-\(index)")
                    container.stack = stack
                    // The merged root is the upper directory itself, which no idmapped layer
                    // covers: a runtime makes it owned by the container's root, as here.
                    if method == .idmappedLayers, let top = image.lowerPaths.first {
                        let owner = try FileDescriptor.currentWorkingDirectory.status(of: top)
                        try FileDescriptor.currentWorkingDirectory.changeOwner(
                            stack.upperPath, uid: mapping.outside(of: owner.uid) ?? owner.uid, gid: mapping.outside(of: owner.gid) ?? owner.gid)
                    }
                },
                // Warm: the image's names and inodes were just read, as a runtime that pulled it has.
                warm: { for layer in image.lowerPaths { _ = try Footprint.measure(layer) } },
                operation: { watch in
                    let view = try backend.mount(container.stack!, options: options)
                    container.view = view
                    watch.lap("mount")
                    if method.walks { watch.outcome = Int64(try ChownWalk.shift(view.root, by: mapping)) }
                    watch.lap("shift")
                },
                verify: { watch in
                    guard let view = container.view else { throw ProbeError.verificationFailed("\(backend.identifier): no view after mounting") }
                    onMount(view)
                    try verifyReady(view, watch)
                    guard let layer = image.lowerPaths.first(where: { FileSystem.exists($0 + "/" + target) }) else {
                        throw ProbeError.verificationFailed("\(view.backend): \(target) is in no layer")
                    }
                    container.lowerFile = layer + "/" + target
                    container.written = ~(try FileSystem.readFile(container.lowerFile).first ?? 0)
                    let upper = try Footprint.measure(view.upperPath)
                    return [
                        Reading(key: key("mount"), value: Double(watch.laps(named: "mount")[0])),
                        Reading(key: key("shift"), value: Double(watch.laps(named: "shift")[0])),
                        Reading(key: key("upperBytes", unit: "bytes"), value: Double(upper.bytes)),
                        Reading(key: key("upperInodes", unit: "inodes"), value: Double(upper.inodes)),
                    ]
                },
                tearDown: {
                    var firstError: (any Error)?
                    // A backend that is not layered made its copy of the image for this container.
                    let copy = container.view.flatMap { $0.capabilities.layered ? nil : $0.upperPath }
                    do { try container.view?.unmount() } catch { firstError = error }
                    container.view = nil
                    // Unmounted first: only then is the container's directory removed.
                    if firstError == nil, let stack = container.stack {
                        for directory in [stack.container.directory] + (copy.map { [$0] } ?? []) {
                            do { try TreeRemover.remove(directory) } catch { if firstError == nil { firstError = error } }
                        }
                    }
                    if let firstError { throw firstError }
                },
                then: [firstWrite(container)])
        }

        /// The names the view must show, and their owners shifted.
        private func verifyReady(_ view: any MergedView, _ watch: Stopwatch) throws {
            let configuration = probe.configuration
            let checked = try ChownWalk.check(view.root, against: image.lowerPaths, mapping: configuration.mapping, backend: view.backend)
            let directories = (configuration.files + configuration.filesPerDirectory - 1) / configuration.filesPerDirectory
            let names = 1 + directories + configuration.files
            guard checked == names else {
                throw ProbeError.verificationFailed("\(view.backend) \(method.rawValue): the view shows \(checked) names, not the image's \(names)")
            }
            if method.walks && watch.outcome != Int64(names) {
                throw ProbeError.verificationFailed("\(view.backend) \(method.rawValue): chown -R changed \(watch.outcome) of \(names) names")
            }
        }

        /// A 1-byte write at offset 0 of ``target`` through the view, the whole file copying up
        /// unless the shift already did.
        private func firstWrite(_ container: Container) -> Trial {
            let target = target, method = method, mapping = probe.configuration.mapping
            let size = probe.configuration.fileSize
            return Trial(
                key: key("firstWrite"), writes: true, quiescer: nil,
                operation: { _ in
                    let view = container.view!
                    let fd = try view.open(target, .writeOnly, mode: 0)
                    do {
                        try fd.writeAll([container.written], at: 0)
                    } catch {
                        fd.closeIgnoringErrors()
                        throw error
                    }
                    try fd.closeChecked(path: target)
                },
                verify: { _ in
                    let view = container.view!
                    let cwd = FileDescriptor.currentWorkingDirectory
                    let lower = try FileSystem.readFile(container.lowerFile)
                    let lowerStatus = try cwd.status(of: container.lowerFile)
                    let upperPath = view.upperPath + "/" + target
                    let upper = try cwd.status(of: upperPath)
                    // The kernel's methods store the shifted owner; fuse-overlayfs stores the
                    // image's and maps it on the way out.
                    let stored = method == .uidmapping
                        ? (lowerStatus.uid, lowerStatus.gid)
                        : (mapping.outside(of: lowerStatus.uid) ?? lowerStatus.uid, mapping.outside(of: lowerStatus.gid) ?? lowerStatus.gid)
                    guard upper.type == .regular, upper.size == size, upper.uid == stored.0, upper.gid == stored.1 else {
                        throw ProbeError.verificationFailed(
                            "\(view.backend) \(method.rawValue): upper \(target) is \(upper.type) of \(upper.size) bytes owned \(upper.uid):\(upper.gid), not a copy of \(size) bytes owned \(stored.0):\(stored.1)")
                    }
                    var expected = lower
                    expected[0] = container.written
                    guard try FileSystem.readFile(upperPath) == expected else {
                        throw ProbeError.verificationFailed("\(view.backend) \(method.rawValue): upper \(target) is not the lower file with byte 0 written")
                    }
                    return []
                })
        }
    }
}
