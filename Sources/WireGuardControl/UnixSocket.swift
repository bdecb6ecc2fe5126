import CMnl
#if canImport(Glibc)
import Glibc
#endif

/// One request/reply exchange on a stream Unix socket, blocking; the reply is complete when it
/// ends with a blank line (the UAPI framing).
enum UnixSocket {
    static func exchange(path: String, request: String, interface: String) throws -> [UInt8] {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw WireGuardError.system(operation: "socket", errno: errno) }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            throw WireGuardError.invalidConfiguration("socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if rc != 0 {
            let e = errno
            switch e {
            case EACCES, EPERM: throw WireGuardError.permissionDenied("connecting to \(path)")
            case ENOENT: throw WireGuardError.noSuchInterface(interface)
            case ECONNREFUSED: throw WireGuardError.wireguardGoFailed(interface: interface, detail: "its control socket \(path) exists but nothing answers (wireguard-go died?)")
            default: throw WireGuardError.system(operation: "connect \(path)", errno: e)
            }
        }
        var out = Array(request.utf8)
        var sent = 0
        while sent < out.count {
            let n = out.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw WireGuardError.system(operation: "send to \(path)", errno: errno)
            }
            sent += n
        }
        out = []
        var reply: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                throw WireGuardError.system(operation: "recv from \(path)", errno: errno)
            }
            if n == 0 { break }
            reply.append(contentsOf: buf[0..<n])
            // The reply ends "errno=N\n\n"; a blank line alone cannot end it earlier.
            if reply.count >= 2, reply[reply.count - 1] == 10, reply[reply.count - 2] == 10 { break }
        }
        return reply
    }
}
