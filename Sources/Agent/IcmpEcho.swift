import AgentClient
import NIOPosix
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// One ICMP echo to a member's overlay address, sent out of the team's interface only
/// (SO_BINDTODEVICE), for `teamwire ping`. Every member's kernel answers it: nothing has to run there.
///
/// An ICMP datagram ("ping") socket needs no privilege where `net.ipv4.ping_group_range` lets
/// the agent's group in (systemd sets it to every group); elsewhere a raw socket does (CAP_NET_RAW).
enum IcmpEcho {
    /// The round trip, or nil when no answer came within `timeout`; whether it took a raw socket.
    /// Blocks a thread of NIO's pool for at most `timeout`, never an event loop.
    /// `payloadSize` bytes of ICMP payload (at least the 24-byte tag); with `dontFragment` the
    /// packet carries DF and the kernel refuses what exceeds the path MTU it knows (`tooBig`).
    static func probe(_ address: IPv4Address, interface: String, sequence: UInt16, timeout: Duration, payloadSize: Int = 24,
                      dontFragment: Bool = false) async throws -> (rtt: Duration?, raw: Bool, tooBig: Bool) {
        try await NIOThreadPool.singleton.runIfActive {
            try probeBlocking(address, interface: interface, sequence: sequence, timeout: timeout, payloadSize: payloadSize, dontFragment: dontFragment)
        }
    }

    /// The payload carries a random tag, so that an answer to another probe (an earlier one that
    /// came late, another program's) is never taken for this one's.
    static let magic = Array("teamwire".utf8)

    static func probeBlocking(_ address: IPv4Address, interface: String, sequence: UInt16, timeout: Duration, payloadSize: Int = 24,
                              dontFragment: Bool = false) throws -> (rtt: Duration?, raw: Bool, tooBig: Bool) {
        let (fd, raw) = try openSocket()
        defer { close(fd) }
        let bound = interface.withCString { setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, $0, socklen_t(strlen($0) + 1)) }
        guard bound == 0 else { throw AgentError("cannot send through \(interface): \(String(cString: strerror(errno)))") }
        if dontFragment {
            var mode = Int32(IP_PMTUDISC_DO)
            guard setsockopt(fd, Int32(IPPROTO_IP), IP_MTU_DISCOVER, &mode, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                throw AgentError("cannot set DF on the probe: \(String(cString: strerror(errno)))")
            }
        }

        // Random tag, then zeros up to the size asked for.
        let tag = (0..<16).map { _ in UInt8.random(in: 0...255) } + [UInt8](repeating: 0, count: max(0, payloadSize - magic.count - 16))
        // A raw socket sends the identifier as written; a datagram socket puts its own there.
        let packet = echoRequest(identifier: UInt16.random(in: 0...UInt16.max), sequence: sequence, payload: magic + tag)
        var to = sockaddr_in()
        to.sin_family = sa_family_t(AF_INET)
        to.sin_addr.s_addr = address.value.bigEndian
        let start = ContinuousClock.now
        let sent = packet.withUnsafeBytes { buf in
            withUnsafePointer(to: &to) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, buf.baseAddress, buf.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        if sent < 0, errno == EMSGSIZE, dontFragment { return (nil, raw, true) }
        guard sent == packet.count else { throw AgentError("cannot send the echo to \(address): \(String(cString: strerror(errno)))") }

        let deadline = start + timeout
        var buf = [UInt8](repeating: 0, count: packet.count + 128)
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return (nil, raw, false) }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ms = Int32(min(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1, 60_000))
            let ready = poll(&p, 1, ms)
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { continue }
            var from = sockaddr_in()
            var fromLen = socklen_t(MemoryLayout<sockaddr_in>.size)
            let n = withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buf, buf.count, Int32(MSG_DONTWAIT), $0, &fromLen) }
            }
            let arrived = ContinuousClock.now
            guard n > 0, UInt32(bigEndian: from.sin_addr.s_addr) == address.value else { continue }
            if isEchoReply(Array(buf[0..<n]), raw: raw, sequence: sequence, payload: magic + tag) { return (arrived - start, raw, false) }
        }
    }

    /// A datagram socket if the system lets this process have one, else a raw socket.
    static func openSocket() throws -> (Int32, raw: Bool) {
        let dgram = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_ICMP))
        if dgram >= 0 { return (dgram, false) }
        let why = errno
        let raw = socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_ICMP))
        if raw >= 0 { return (raw, true) }
        throw AgentError("cannot send ICMP echoes: ping sockets are not allowed for this group (net.ipv4.ping_group_range; \(String(cString: strerror(why)))) "
            + "and raw sockets need CAP_NET_RAW (\(String(cString: strerror(errno))))")
    }

    /// An ICMP echo request (type 8) with its checksum.
    static func echoRequest(identifier: UInt16, sequence: UInt16, payload: [UInt8]) -> [UInt8] {
        var p: [UInt8] = [8, 0, 0, 0, UInt8(identifier >> 8), UInt8(identifier & 0xFF), UInt8(sequence >> 8), UInt8(sequence & 0xFF)] + payload
        let sum = checksum(p)
        p[2] = UInt8(sum >> 8)
        p[3] = UInt8(sum & 0xFF)
        return p
    }

    /// Whether `packet` (from a raw socket: with its IPv4 header) is the echo reply (type 0) to
    /// the request with this sequence number and payload.
    static func isEchoReply(_ packet: [UInt8], raw: Bool, sequence: UInt16, payload: [UInt8]) -> Bool {
        var icmp = packet[...]
        if raw {
            guard let first = packet.first, first >> 4 == 4 else { return false }
            let headerLength = Int(first & 0x0F) * 4
            guard headerLength >= 20, packet.count >= headerLength else { return false }
            icmp = packet[headerLength...]
        }
        let b = Array(icmp)
        guard b.count == 8 + payload.count, b[0] == 0, b[1] == 0 else { return false }
        return UInt16(b[6]) << 8 | UInt16(b[7]) == sequence && Array(b[8...]) == payload
    }

    /// The Internet checksum (RFC 1071).
    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count {
            sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            i += 2
        }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }
}
