/// This process's storage I/O as the kernel accounts it (`/proc/self/io`, task I/O accounting):
/// unlike a device's counters, it leaves out what other processes read at the same time.
public enum ProcessIO {
    /// `read_bytes`: bytes this process caused to be read from storage, metadata included
    /// (counted when the read is submitted to the block layer).
    public static func readBytes() throws(SystemError) -> Int64 {
        let text = String(decoding: try FileSystem.readFile("/proc/self/io"), as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("read_bytes:") {
            if let value = Int64(line.dropFirst("read_bytes:".count).drop(while: { $0 == " " })) { return value }
        }
        throw SystemError("read", path: "/proc/self/io", errno: .invalidArgument)
    }
}
