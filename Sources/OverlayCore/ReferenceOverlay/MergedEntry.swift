import OverlaySystem

/// A name in one layer: the layer, the path inside it, and what `statx(2)` said.
public struct LayerEntry: Sendable, Hashable {
    /// 0 is the upper layer; 1… the lower layers, top-first.
    public var layer: Int
    /// The path inside the layer (it differs from the merged path after a redirect).
    public var path: String
    public var status: FileStatus

    public var isUpper: Bool { layer == 0 }
}

/// What a lookup found for one merged path: the overlay dentry of fs/overlayfs/namei.c.
///
/// A directory merges its upper directory (if any) with the lower directories below it, down to
/// the first opaque one. A non-directory is its upper file, or the topmost lower one; a
/// metacopy upper file keeps the lower file that holds its data in ``lowers``.
public struct MergedEntry: Sendable, Hashable {
    /// The merged path, without symlinks ("" is the root).
    public var path: String
    public var upper: LayerEntry?
    /// Directories: the lower directories merged below the upper one. Non-directories: the
    /// lower file (the data of a metacopy upper file), or none.
    public var lowers: [LayerEntry] = []
    /// The upper directory is opaque (`trusted.overlay.opaque=y`), or the name is whited out in
    /// upper (the kernel's `ovl_dentry_is_opaque`).
    public var opaque = false
    /// The name is a whiteout in upper.
    public var upperWhiteout = false
    /// The upper file is a metacopy: its data is still in ``lowers``.
    public var metacopy = false
    /// `trusted.overlay.redirect` of the upper entry.
    public var redirect: String?
    /// Where ``lowers`` came from in the overlay's ``LowerLayerIndex``, so a lookup in this
    /// directory can find its lower walk there.
    var lowerSlice: LowerSlice?

    public init(path: String) { self.path = path }

    public var exists: Bool { upper != nil || !lowers.isEmpty }
    /// The entry whose attributes the merged inode shows.
    public var top: LayerEntry? { upper ?? lowers.first }
    public var status: FileStatus? { top?.status }
    public var type: FileType? { top?.status.type }
    public var isDirectory: Bool { type == .directory }
    /// Upper and nothing below (`ovl_pure_upper`).
    public var isPureUpper: Bool { upper != nil && lowers.isEmpty }
    /// A directory with upper and lower parts (`OVL_TYPE_MERGE`).
    public var isMergedDirectory: Bool { upper != nil && !lowers.isEmpty && isDirectory }
    /// Where reads of the file's data go: the lower data of a metacopy, else ``top``.
    public var data: LayerEntry? { metacopy ? (lowers.first ?? upper) : top }
}
