#if canImport(Glibc)
import Glibc
#endif

/// Plain sockets for tests that must send what no HTTP client would (bad lengths, half-closed
/// requests) or stand in for a server that answers anything.
public enum RawSocket {
    /// A Unix-socket address for `path`.
    public static func unixAddress(_ path: String) -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes.prefix(raw.count - 1))
            raw[min(bytes.count, raw.count - 1)] = 0
        }
        return addr
    }

    /// Everything the peer sends until it closes (or the receive timeout ends the read).
    public static func readToEnd(_ fd: Int32) -> [UInt8] {
        var reply: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buf, buf.count)
            guard n > 0 else { break }
            reply += buf[0..<n]
        }
        return reply
    }
}
