import CMnl

/// One netlink request being built with libmnl in a fixed buffer. Every `put` is libmnl's
/// `_check` variant: it refuses, rather than overflows, anything past `capacity`, which is how a
/// large WireGuard update is split over several messages (as wireguard-tools does).
final class NetlinkMessage {
    let capacity: Int
    private let buffer: UnsafeMutableRawPointer
    let header: UnsafeMutablePointer<nlmsghdr>

    /// `capacity` stays below 64 KiB: a nest's length is a u16.
    init(capacity: Int = 4096, type: UInt16, flags: Int32 = 0) {
        precondition(capacity >= 64 && capacity <= 65535, "netlink message capacity \(capacity)")
        self.capacity = capacity
        buffer = .allocate(byteCount: capacity, alignment: 8)
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: capacity)
        header = mnl_nlmsg_put_header(buffer)
        header.pointee.nlmsg_type = type
        header.pointee.nlmsg_flags = UInt16(NLM_F_REQUEST | flags)
    }

    deinit { buffer.deallocate() }

    var length: Int { Int(header.pointee.nlmsg_len) }
    var bytes: [UInt8] { Array(UnsafeRawBufferPointer(start: buffer, count: length)) }

    /// The family header after nlmsghdr (genlmsghdr, ifinfomsg, ifaddrmsg, rtmsg).
    func putHeader<T>(_ value: T) {
        let p = mnl_nlmsg_put_extra_header(header, MemoryLayout<T>.size)!
        p.storeBytes(of: value, as: T.self)
    }

    func putGenericHeader(command: UInt8, version: UInt8) {
        putHeader(genlmsghdr(cmd: command, version: version, reserved: 0))
    }

    @discardableResult
    func put(_ type: UInt16, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { mnl_attr_put_check(header, capacity, type, $0.count, $0.baseAddress) }
    }

    @discardableResult
    func put(_ type: UInt16, u8 v: UInt8) -> Bool { mnl_attr_put_u8_check(header, capacity, type, v) }
    @discardableResult
    func put(_ type: UInt16, u16 v: UInt16) -> Bool { mnl_attr_put_u16_check(header, capacity, type, v) }
    @discardableResult
    func put(_ type: UInt16, u32 v: UInt32) -> Bool { mnl_attr_put_u32_check(header, capacity, type, v) }

    /// A NUL-terminated string (what the kernel's NLA_NUL_STRING policies expect).
    @discardableResult
    func put(_ type: UInt16, cString s: String) -> Bool { mnl_attr_put_strz_check(header, capacity, type, s) }
    /// A string without its NUL, as iproute2 sends IFLA_INFO_KIND.
    @discardableResult
    func put(_ type: UInt16, string s: String) -> Bool { mnl_attr_put_str_check(header, capacity, type, s) }

    func nestStart(_ type: UInt16) -> UnsafeMutablePointer<nlattr>? { mnl_attr_nest_start_check(header, capacity, type) }
    func nestEnd(_ nest: UnsafeMutablePointer<nlattr>) { mnl_attr_nest_end(header, nest) }
    /// Drops the nest and everything put into it since `nestStart`.
    func nestCancel(_ nest: UnsafeMutablePointer<nlattr>) { mnl_attr_nest_cancel(header, nest) }
}

/// A received attribute: its type (NLA_F_NESTED and NLA_F_NET_BYTEORDER masked off) and payload.
/// Parsing is plain Swift over byte slices, so every length the kernel sends is bounds-checked.
struct NetlinkAttribute {
    let type: UInt16
    let payload: ArraySlice<UInt8>

    /// The attributes packed in `bytes`, each 4-byte aligned; a length running past the end
    /// is malformed, trailing padding is not.
    static func parse(_ bytes: ArraySlice<UInt8>) throws -> [NetlinkAttribute] {
        var out: [NetlinkAttribute] = []
        var i = bytes.startIndex
        while bytes.endIndex - i >= 4 {
            let len = Int(bytes.loadU16(at: i))
            let type = bytes.loadU16(at: i + 2) & ~UInt16(NLA_F_NESTED | NLA_F_NET_BYTEORDER)
            guard len >= 4, len <= bytes.endIndex - i else {
                throw WireGuardError.malformedReply("netlink attribute \(type) has length \(len), \(bytes.endIndex - i) bytes left")
            }
            out.append(NetlinkAttribute(type: type, payload: bytes[(i + 4)..<(i + len)]))
            i += (len + 3) & ~3
        }
        return out
    }

    func nested() throws -> [NetlinkAttribute] { try NetlinkAttribute.parse(payload) }

    private func fixed(_ n: Int) throws -> ArraySlice<UInt8> {
        guard payload.count >= n else {
            throw WireGuardError.malformedReply("netlink attribute \(type) has \(payload.count) bytes, expected \(n)")
        }
        return payload.prefix(n)
    }

    func u8() throws -> UInt8 { try fixed(1).first! }
    func u16() throws -> UInt16 { let p = try fixed(2); return p.loadU16(at: p.startIndex) }
    func u32() throws -> UInt32 { let p = try fixed(4); return p.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } }
    func u64() throws -> UInt64 { let p = try fixed(8); return p.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } }
    func bytes(_ n: Int) throws -> [UInt8] { Array(try fixed(n)) }

    /// A string, with or without its NUL.
    var string: String {
        let end = payload.firstIndex(of: 0) ?? payload.endIndex
        return String(decoding: payload[..<end], as: UTF8.self)
    }
}

/// One received netlink message: its header fields and the bytes after nlmsghdr.
struct NetlinkReceived {
    let type: UInt16
    let flags: UInt16
    let payload: ArraySlice<UInt8>

    /// Splits a datagram (or several concatenated messages) into messages.
    static func split(_ bytes: [UInt8]) throws -> [NetlinkReceived] {
        var out: [NetlinkReceived] = []
        var i = 0
        while bytes.count - i >= 16 {
            let len = Int(bytes[i..<(i + 4)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
            guard len >= 16, len <= bytes.count - i else {
                throw WireGuardError.malformedReply("netlink message of length \(len) with \(bytes.count - i) bytes left")
            }
            out.append(NetlinkReceived(type: bytes[...].loadU16(at: i + 4), flags: bytes[...].loadU16(at: i + 6),
                                       payload: bytes[(i + 16)..<(i + len)]))
            i += (len + 3) & ~3
        }
        return out
    }
}

extension ArraySlice<UInt8> {
    /// A host-order u16 at an absolute index (netlink lengths and types are host order).
    func loadU16(at i: Int) -> UInt16 {
        self[i..<(i + 2)].withUnsafeBytes { $0.loadUnaligned(as: UInt16.self) }
    }
}
