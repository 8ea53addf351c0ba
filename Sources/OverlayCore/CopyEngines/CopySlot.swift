/// One chunk of an io_uring copy in flight, in one buffer (or pipe) slot: its source and
/// destination range and how far its read and its write have got. A completion finds its slot
/// by the slot number in `user_data`.
struct CopySlot {
    /// The source (and destination) range; nil when the slot is free.
    var chunk: Range<Int64>?
    /// Bytes read into the slot (or spliced into the pipe) so far.
    var filled = 0
    /// Bytes of the slot written out so far.
    var written = 0
    /// A read returned 0: the chunk ends at `filled`.
    var sourceEnded = false

    /// Whether nothing remains to read for this chunk.
    var readComplete: Bool { sourceEnded || filled == (chunk?.count ?? 0) }
    /// Whether everything read has been written and nothing remains to read.
    var isDone: Bool { chunk != nil && readComplete && written == filled }
}
