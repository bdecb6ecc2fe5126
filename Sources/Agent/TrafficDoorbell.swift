import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Rings once when the first packet crosses the team interface after a quiet spell.
///
/// Path selection needs to look at the counters every second while traffic flows, and not at
/// all while nothing flows (a robot's agent must not wake up faster than the keepalive).
/// Sleeping a whole keepalive interval would miss the start of traffic, so while the session is
/// idle a packet socket on the interface stands armed: the first packet in either direction
/// wakes the agent, the socket closes, and the agent ticks every second until the counters
/// are quiet again. Keepalives and handshakes never cross the interface (they are WireGuard's
/// own UDP traffic on the underlay), so an idle tunnel stays silent. A filter passes one byte
/// per packet: nothing is copied but the fact.
final class TrafficDoorbell: Sendable {
    private let interface: String
    private let queue = DispatchQueue(label: "teamwire.doorbell")
    private struct State {
        var source: DispatchSourceRead?
        var failed = false
    }
    private let state = Mutex(State())

    init(interface: String) { self.interface = interface }

    deinit { disarm() }

    /// Arms the doorbell (no-op if armed). When it cannot be armed the caller keeps its idle
    /// tick; the reason is returned the first time only, for one log line.
    @discardableResult
    func arm(ring: @escaping @Sendable () -> Void) -> String? {
        state.withLock { st in arm(&st, ring: ring) }
    }

    private func arm(_ st: inout State, ring: @escaping @Sendable () -> Void) -> String? {
        guard st.source == nil else { return nil }
        // Protocol 0: nothing is queued until the bind below names the interface (no packet
        // from another interface slips in between).
        let fd = socket(AF_PACKET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return failOnce(&st, "packet socket: \(String(cString: strerror(errno)))") }
        var program = Self.unicastIPv4
        let attached = program.withUnsafeMutableBufferPointer { buf in
            var prog = SockFprog(len: UInt16(buf.count), filter: buf.baseAddress!)
            return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, socklen_t(MemoryLayout<SockFprog>.size))
        }
        var ll = SockaddrLL(family: UInt16(AF_PACKET), proto: ethPAll.bigEndian, ifindex: Int32(if_nametoindex(interface)))
        let bound = withUnsafePointer(to: &ll) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<SockaddrLL>.size)) } }
        guard attached == 0, ll.ifindex != 0, bound == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            return failOnce(&st, "packet socket on \(interface): \(why)")
        }
        let s = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        s.setEventHandler { [weak self] in
            self?.disarm()
            ring()
        }
        s.setCancelHandler { close(fd) }
        st.source = s
        s.resume()
        return nil
    }

    /// Closes the socket: traffic is known to flow, the counters are read every tick.
    func disarm() {
        let s = state.withLock { $0.source.take() }
        s?.cancel()
    }

    var isArmed: Bool {
        state.withLock { $0.source != nil }
    }

    /// Classic BPF: IPv4 unicast only (the tunnel carries nothing else between members; IPv6
    /// link-local chatter and multicast such as mDNS never reach a member), one byte kept.
    static let unicastIPv4: [SockFilter] = [
        SockFilter(code: 0x30, jt: 0, jf: 0, k: 0),     // ldb [0]          version and IHL
        SockFilter(code: 0x54, jt: 0, jf: 0, k: 0xF0),  // and #0xf0
        SockFilter(code: 0x15, jt: 0, jf: 3, k: 0x40),  // jeq #0x40 (IPv4) else drop
        SockFilter(code: 0x30, jt: 0, jf: 0, k: 16),    // ldb [16]         first byte of the destination
        SockFilter(code: 0x35, jt: 1, jf: 0, k: 224),   // jge #224 (multicast, broadcast): drop
        SockFilter(code: 0x06, jt: 0, jf: 0, k: 1),     // ret #1
        SockFilter(code: 0x06, jt: 0, jf: 0, k: 0),     // ret #0
    ]

    private func failOnce(_ st: inout State, _ why: String) -> String? {
        defer { st.failed = true }
        return st.failed ? nil : why
    }
}

/// ETH_P_ALL from <linux/if_ether.h>: every protocol.
let ethPAll: UInt16 = 0x0003

/// `struct sockaddr_ll` from <linux/if_packet.h> (20 bytes).
struct SockaddrLL {
    var family: UInt16
    var proto: UInt16
    var ifindex: Int32
    var hatype: UInt16 = 0
    var pkttype: UInt8 = 0
    var halen: UInt8 = 0
    var addr: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0)
}

/// `struct sock_filter` and `struct sock_fprog` from <linux/filter.h>.
struct SockFilter {
    var code: UInt16
    var jt: UInt8
    var jf: UInt8
    var k: UInt32
}

struct SockFprog {
    var len: UInt16
    var filter: UnsafeMutablePointer<SockFilter>
}
