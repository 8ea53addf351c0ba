/// File-size classes for an image's histogram and for drawing files by size: empty files, then
/// powers of four from 1 KiB to 256 MiB, then larger. Class `upTo: b` holds sizes in
/// (previous bound, b].
public struct ImageSizeClass: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The largest size in the class; nil for the last, open class.
    public let upperBound: Int64?
    public let index: Int

    public static let bounds: [Int64] = [0] + (0...9).map { Int64(1024) << (2 * $0) }
    public static let all: [ImageSizeClass] = (0...bounds.count).map { ImageSizeClass(index: $0) }

    private init(index: Int) {
        self.index = index
        upperBound = index < Self.bounds.count ? Self.bounds[index] : nil
    }

    /// The class that holds `size`.
    public init(size: Int64) {
        let index = Self.bounds.firstIndex { size <= $0 } ?? Self.bounds.count
        self.init(index: index)
    }

    public var lowerBound: Int64 { index == 0 ? 0 : Self.bounds[index - 1] + 1 }

    /// `0`, `≤1KiB`, `4KiB`…: what tables and result parameters call the class.
    public var description: String {
        switch (index, upperBound) {
        case (0, _): "0"
        case (1, let bound?): "≤" + ByteCount.format(bound)
        case (_, let bound?): "≤" + ByteCount.format(bound)
        case (_, nil): ">" + ByteCount.format(Self.bounds.last!)
        }
    }

    public static func < (a: ImageSizeClass, b: ImageSizeClass) -> Bool { a.index < b.index }
}
