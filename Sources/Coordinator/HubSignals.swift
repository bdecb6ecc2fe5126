import Foundation
import Logging
import Synchronization
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// Relays path signals between members of one team: "my direct path to B failed" and "a
/// direct handshake with B worked".
///
/// When A's direct path to B dies, A routes B through the hub. B still routes A directly, and
/// B's WireGuard drops everything the hub relays from A (A's address belongs to A's own peer
/// on B, not to the hub's). So A cannot tell B itself; it tells the hub, and the hub tells B
/// from its own overlay address, which B's hub peer covers. B then moves A to the hub too. The other way round, when A's retry reaches B directly, A
/// sends directly at once while B, idle on the hub, would only notice at its next look: the
/// signal makes it look now.
///
/// Datagrams are read only from the hub interface (SO_BINDTODEVICE), where WireGuard has
/// authenticated their source. The subject the hub names to B is always the sender itself, and
/// only members of one team reach each other, so a member can only move its own traffic.
final class HubSignals: Sendable {
    static let port = PathSignalMessage.port

    private let fd: Int32
    private let logger: Logger
    private let rule = Mutex(SignalRelayRule())

    /// Opens the socket; call on the hub's system thread so it lives in the hub's namespace.
    init(interface: String, logger: Logger) throws {
        self.logger = logger
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw CoordinatorError("path signal socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = interface.withCString { name in
            setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, socklen_t(strlen(name) + 1))
        }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = Self.port.bigEndian
        guard bound == 0, withUnsafePointer(to: &a, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }) == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw CoordinatorError("path signal socket on \(interface): \(why)")
        }
    }

    func update(_ hubTeams: [HubTeam]) {
        rule.withLock { $0.update(hubTeams) }
    }

    /// Serves until `stop()`, on a thread of its own (a blocking read: no timer, no wake-ups).
    func start() {
        let t = Thread { [self] in serve() }
        t.name = "teamwire-hub-signals"
        t.start()
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
    }

    private func serve() {
        var buf = [UInt8](repeating: 0, count: 64)
        while true {
            var from = sockaddr_in()
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let n = buf.withUnsafeMutableBytes { b in
                withUnsafeMutablePointer(to: &from) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, b.baseAddress, b.count, 0, $0, &len) } }
            }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            let sender = IPv4Address(UInt32(bigEndian: from.sin_addr.s_addr))
            guard let (kind, target) = PathSignalMessage.parse(buf[0..<n]) else { continue }
            relay(kind, from: sender, to: target)
        }
        close(fd)
    }

    private func relay(_ kind: PathSignalMessage.Kind, from: IPv4Address, to: IPv4Address) {
        switch rule.withLock({ $0.admit(kind, from: from, to: to, now: .now) }) {
        case .relay: break
        case .flood: return
        case .notOneTeam:
            logger.debug("path signal dropped: not two members of one team", metadata: ["from": "\(from)", "to": "\(to)"])
            return
        }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = Self.port.bigEndian
        a.sin_addr.s_addr = to.value.bigEndian
        let payload = PathSignalMessage.encode(kind, from)
        _ = payload.withUnsafeBytes { b in
            withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, b.baseAddress, b.count, Int32(MSG_DONTWAIT), $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            } }
        }
        logger.debug("path signal relayed", metadata: ["kind": "\(kind)", "from": "\(from)", "to": "\(to)"])
    }
}
