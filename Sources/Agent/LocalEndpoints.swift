import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// The node's own endpoint candidates: every IPv4 address of an interface that is up, except
/// loopback, link-local and teamwire's own tunnels, each with the WireGuard listen port.
enum LocalEndpoints {
    static func addresses() -> [IPv4Address] {
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0, let first = head else { return [] }
        defer { freeifaddrs(head) }
        var out: [IPv4Address] = []
        var p: UnsafeMutablePointer<ifaddrs>? = first
        while let ifa = p {
            defer { p = ifa.pointee.ifa_next }
            guard let sa = ifa.pointee.ifa_addr, sa.pointee.sa_family == sa_family_t(AF_INET),
                  ifa.pointee.ifa_flags & UInt32(IFF_UP) != 0, ifa.pointee.ifa_flags & UInt32(IFF_LOOPBACK) == 0 else { continue }
            let name = String(cString: ifa.pointee.ifa_name)
            if name.hasPrefix("tw-") || name.hasPrefix("twhub") { continue }
            let a = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { IPv4Address(UInt32(bigEndian: $0.pointee.sin_addr.s_addr)) }
            if a.value >> 16 == 0xA9FE { continue }  // 169.254/16
            if !out.contains(a) { out.append(a) }
        }
        return out
    }

    static func candidates(port: UInt16) -> [Endpoint] {
        addresses().prefix(ReportRequest.maxEndpoints).map { Endpoint(host: .ipv4($0), port: port) }
    }

    /// The first UDP port from `start` nobody has bound (checked by binding it for a moment).
    static func freeUDPPort(from start: UInt16 = 51820, avoiding taken: Set<UInt16> = []) -> UInt16 {
        var port = start
        while port < 65535 {
            if !taken.contains(port), udpPortIsFree(port) { return port }
            port += 1
        }
        return 0
    }

    static func udpPortIsFree(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        return withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }
}

/// Probes sent through the tunnel: a datagram to a closed port on a member's overlay address.
/// The member's kernel answers with an ICMP port-unreachable that travels back the same way
/// and shows up as received bytes on the member's peer, which is all path selection reads.
/// Nothing listens for the answer; the socket is never read.
final class Prober: @unchecked Sendable {
    /// Traceroute's first port: conventionally closed everywhere.
    static let port: UInt16 = 33434
    private let fd: Int32

    init() {
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
    }

    deinit { if fd >= 0 { close(fd) } }

    func probe(_ address: IPv4Address) {
        send(Array("teamwire-probe".utf8), to: address, port: Self.port)
    }

    func send(_ payload: [UInt8], to address: IPv4Address, port: UInt16) {
        guard fd >= 0 else { return }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = address.value.bigEndian
        _ = payload.withUnsafeBytes { buf in
            withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, buf.baseAddress, buf.count, Int32(MSG_DONTWAIT), $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            } }
        }
    }
}
