import OverlayCore
import OverlaySystem

extension Doctor {
    /// Unmounts what a check mounted; detaches it if it is busy, so nothing stays behind.
    static func unmount(_ target: String) throws(SystemError) {
        do { try Mount.unmount(target) } catch {
            try? Mount.unmount(target, detach: true)
            throw error
        }
    }

    /// Makes an idmapped bind mount of a one-file directory in `scratch/idmap` (the mapping
    /// `0:100000:65536`), checks that the file shows owner 100000, and unmounts it: what `run
    /// shift`'s idmapped layers need (`mount_setattr(2)`, kernel 5.12+; in an overlay 5.19+).
    func idmappedMountCheck(scratch: String) -> Check {
        let name = "idmapped mounts"
        let directory = scratch + "/idmap"
        let cwd = FileDescriptor.currentWorkingDirectory
        do {
            for path in [directory, directory + "/source", directory + "/target"] { try cwd.makeDirectory(path, mode: 0o755) }
            try cwd.makeDirectory(directory + "/source/d", mode: 0o755)
            let mapping = IDMapping(inside: 0, outside: 100_000, count: 65_536)
            let namespace = try UserNamespace(uidMap: [mapping], gidMap: [mapping])
            try Mount.bindIdmapped(directory + "/source", at: directory + "/target", namespace: namespace)
            let shown = (try? cwd.status(of: directory + "/target/d"))?.uid
            try Self.unmount(directory + "/target")
            let kernel = Host.kernelVersion()
            let overlayTakes = kernel.major > 5 || (kernel.major == 5 && kernel.minor >= 19)
            guard shown == mapping.outside(of: 0) else {
                return Check(name: name, status: .warn, detail: "an idmapped mount (\(mapping)) showed owner \(shown.map(String.init) ?? "none") instead of 100000",
                             advice: nil)
            }
            return Check(name: name, status: overlayTakes ? .ok : .warn,
                         detail: "mount_setattr MOUNT_ATTR_IDMAP (\(mapping)) shifts owners on the work root's filesystem"
                             + (overlayTakes ? "; the overlay takes idmapped layers (kernel 5.19+)" : "; but kernel \(kernel.major).\(kernel.minor) does not take idmapped layers in an overlay (5.19+)")
                             + " (mounted at \(directory)/target, then unmounted)",
                         advice: overlayTakes ? nil : "run shift's idmapped-layers method needs kernel 5.19+")
        } catch {
            return Check(name: name, status: .warn, detail: "an idmapped mount failed: \(error)",
                         advice: "idmapped mounts need kernel 5.12+ and a filesystem that allows them (ext4, xfs, btrfs; tmpfs from 6.3)")
        }
    }

    /// Mounts a read-only overlay over a data-only lower layer (`lowerdir=<meta>::<data>`, kernel
    /// 6.5+) in `scratch/dataonly` and reads the option back from `/proc/self/mountinfo`: the
    /// layout composefs uses, whose metadata layer redirects into a content store.
    func dataOnlyLayersCheck(scratch: String) -> Check {
        let name = "data-only lower layers"
        let directory = scratch + "/dataonly"
        let cwd = FileDescriptor.currentWorkingDirectory
        do {
            for path in [directory, directory + "/meta", directory + "/data", directory + "/merged"] { try cwd.makeDirectory(path, mode: 0o755) }
            let data = "lowerdir=\(directory)/meta::\(directory)/data,metacopy=on"
            try Mount.mount(source: "overlay", target: directory + "/merged", type: "overlay", flags: .readOnly, data: data)
            let options = MountTable.current().mount(at: directory + "/merged")?.superOptions ?? ""
            try Self.unmount(directory + "/merged")
            let kept = options.contains("::")
            return Check(name: name, status: kept ? .ok : .warn,
                         detail: kept ? "an overlay takes lowerdir=meta::data (mounted at \(directory)/merged, then unmounted)"
                             : "the overlay mounted but shows no data-only layer: \(options)",
                         advice: nil)
        } catch {
            return Check(name: name, status: .warn, detail: "an overlay over a data-only layer failed to mount: \(error)",
                         advice: "data-only lower layers (composefs's layout) need kernel 6.5+")
        }
    }
}
