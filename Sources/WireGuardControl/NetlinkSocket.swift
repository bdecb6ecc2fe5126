import CMnl
#if canImport(Glibc)
import Glibc
#endif

/// A blocking libmnl netlink socket: one request at a time, each with its own sequence number,
/// replies matched by sequence number and port id. The socket belongs to the network namespace
/// of the thread that opened it, so callers open one per operation rather than caching it.
final class NetlinkSocket {
    /// What the kernel answered: the data messages (nlmsghdr included) and the error, 0 for success.
    struct Reply {
        var messages: [[UInt8]] = []
        var errno: Int32 = 0
        /// The kernel's extended-ack explanation, e.g. "Unknown device type".
        var detail: String?
        /// NLM_F_DUMP_INTR: the object changed during the dump, which must be redone.
        var interrupted = false
    }

    /// The kernel sizes dump datagrams by the largest buffer it has seen us offer, capped at
    /// 32 KiB; twice that, well above MNL_SOCKET_BUFFER_SIZE (8 KiB at most), never truncates.
    static let receiveBufferSize = 65536

    private let nl: OpaquePointer
    let portid: UInt32
    private var sequence: UInt32

    init(bus: Int32) throws {
        guard let nl = mnl_socket_open2(bus, Int32(SOCK_CLOEXEC.rawValue)) else {
            throw WireGuardError.system(operation: "opening a netlink socket", errno: errno)
        }
        if mnl_socket_bind(nl, 0, pid_t(MNL_SOCKET_AUTOPID)) < 0 {
            let e = errno
            mnl_socket_close(nl)
            throw WireGuardError.system(operation: "binding a netlink socket", errno: e)
        }
        // Errors echo only our request's header, not all of a 32 KiB request, and say why.
        var on: Int32 = 1
        _ = mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &on, socklen_t(MemoryLayout<Int32>.size))
        _ = mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &on, socklen_t(MemoryLayout<Int32>.size))
        self.nl = nl
        portid = mnl_socket_get_portid(nl)
        sequence = UInt32(truncatingIfNeeded: time(nil))
    }

    deinit { mnl_socket_close(nl) }

    /// Sends `request` (NLM_F_ACK added, or NLM_F_DUMP for a dump) and collects the replies
    /// until the ACK or NLMSG_DONE. Throws only for socket failures; the kernel's own answer,
    /// error included, is in the reply.
    func transact(_ request: [UInt8], dump: Bool) throws -> Reply {
        precondition(request.count >= MemoryLayout<nlmsghdr>.size)
        sequence &+= 1
        let seq = sequence
        var req = request
        req.withUnsafeMutableBytes { raw in
            let flags = raw.load(fromByteOffset: 6, as: UInt16.self) | UInt16(NLM_F_REQUEST | (dump ? NLM_F_DUMP : NLM_F_ACK))
            raw.storeBytes(of: flags, toByteOffset: 6, as: UInt16.self)
            raw.storeBytes(of: seq, toByteOffset: 8, as: UInt32.self)
            raw.storeBytes(of: UInt32(0), toByteOffset: 12, as: UInt32.self)
        }
        while req.withUnsafeBytes({ mnl_socket_sendto(nl, $0.baseAddress, $0.count) }) < 0 {
            if errno == EINTR { continue }
            throw WireGuardError.system(operation: "sending a netlink request", errno: errno)
        }

        var reply = Reply()
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: NetlinkSocket.receiveBufferSize, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let n = mnl_socket_recvfrom(nl, buffer, NetlinkSocket.receiveBufferSize)
            if n < 0 {
                if errno == EINTR { continue }
                // libmnl reports a datagram bigger than our buffer (MSG_TRUNC) as ENOSPC.
                throw WireGuardError.system(operation: "receiving a netlink reply", errno: errno)
            }
            var remaining = Int32(n)
            var nlh = buffer.assumingMemoryBound(to: nlmsghdr.self)
            while mnl_nlmsg_ok(nlh, remaining) {
                defer { nlh = mnl_nlmsg_next(nlh, &remaining) }
                // Stale replies to an earlier request, or notifications, are not ours.
                guard mnl_nlmsg_seq_ok(nlh, seq), mnl_nlmsg_portid_ok(nlh, portid) else { continue }
                let header = nlh.pointee
                if Int32(header.nlmsg_flags) & NLM_F_DUMP_INTR != 0 { reply.interrupted = true }
                let message = Array(UnsafeRawBufferPointer(start: nlh, count: Int(header.nlmsg_len)))
                switch Int32(header.nlmsg_type) {
                case NLMSG_NOOP:
                    continue
                case NLMSG_ERROR:
                    (reply.errno, reply.detail) = NetlinkSocket.parseError(message)
                    return reply  // an ACK (error 0) or the failure; either way the last word
                case NLMSG_DONE:
                    // A dump that failed midway ends with the negative errno in DONE's payload.
                    if message.count >= 20 {
                        let e = message[16..<20].withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }
                        if e < 0 { reply.errno = NetlinkSocket.positiveErrno(e) }
                    }
                    return reply
                case NLMSG_OVERRUN:
                    reply.errno = ENOBUFS
                    return reply
                default:
                    if Int32(header.nlmsg_type) >= NLMSG_MIN_TYPE { reply.messages.append(message) }
                }
            }
        }
    }

    /// nlmsgerr: the negated errno, our request's header (NETLINK_CAP_ACK) or whole request, then
    /// extended-ack attributes when NLM_F_ACK_TLVS is set.
    static func parseError(_ message: [UInt8]) -> (Int32, String?) {
        guard message.count >= 20 else { return (EBADMSG, "short netlink error message") }
        let e = positiveErrno(message[16..<20].withUnsafeBytes { $0.loadUnaligned(as: Int32.self) })
        let flags = Int32(message[...].loadU16(at: 6))
        guard flags & NLM_F_ACK_TLVS != 0, message.count >= 36 else { return (e, nil) }
        let echoed = flags & NLM_F_CAPPED != 0 ? 16 : Int(message[20..<24].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
        let start = (20 + echoed + 3) & ~3
        guard start <= message.count, let attrs = try? NetlinkAttribute.parse(message[start...]) else { return (e, nil) }
        let text = attrs.first { $0.type == UInt16(NLMSGERR_ATTR_MSG.rawValue) }?.string
        return (e, text)
    }

    /// The kernel sends errnos negated; Int32.min has no positive counterpart (it is no errno,
    /// but the decoder must not trap on any bytes), so it reads as a malformed message.
    static func positiveErrno(_ negated: Int32) -> Int32 {
        negated == .min ? EBADMSG : -negated
    }

    /// The request, which must be ACKed with no error except those in `accepting`; returns the
    /// reply (whose `errno` is then 0 or one of `accepting`).
    @discardableResult
    func request(_ message: [UInt8], operation: String, interface: String? = nil, accepting: Set<Int32> = [], refusal: Bool = false) throws -> Reply {
        let reply = try transact(message, dump: false)
        if reply.errno != 0, !accepting.contains(reply.errno) {
            throw NetlinkSocket.error(reply, operation: operation, interface: interface, refusal: refusal)
        }
        return reply
    }

    /// A dump, redone when the kernel says it was interrupted by a concurrent change.
    func dump(_ message: [UInt8], operation: String, interface: String? = nil, refusal: Bool = false) throws -> [[UInt8]] {
        for _ in 0..<10 {
            let reply = try transact(message, dump: true)
            if reply.errno != 0 { throw NetlinkSocket.error(reply, operation: operation, interface: interface, refusal: refusal) }
            if !reply.interrupted { return reply.messages }
        }
        throw WireGuardError.system(operation: "\(operation) (kept changing during the dump)", errno: EINTR)
    }

    /// The kernel's error as a WireGuardError: EPERM is a missing capability, ENODEV a missing
    /// interface; the rest keep their errno, as `.refused` for WireGuard's own family (`refusal`)
    /// and `.system` for rtnetlink.
    static func error(_ reply: Reply, operation: String, interface: String?, refusal: Bool) -> WireGuardError {
        let op = reply.detail.map { "\(operation) (\($0))" } ?? operation
        switch reply.errno {
        case EPERM, EACCES: return .permissionDenied(operation)
        case ENODEV: return .noSuchInterface(interface ?? "?")
        default: return refusal ? .refused(operation: op, errno: reply.errno) : .system(operation: op, errno: reply.errno)
        }
    }
}
