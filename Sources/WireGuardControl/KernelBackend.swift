import CMnl
#if canImport(Glibc)
import Glibc
#endif

/// The kernel's WireGuard through generic netlink. Each call opens its own socket in the
/// calling thread's network namespace; only the family id (fixed while the module stays
/// loaded) is kept.
public struct KernelBackend: WireGuardBackend {
    public let interfaceName: String
    public var kind: BackendKind { .kernel }
    public let family: UInt16
    /// Largest SET_DEVICE message; bigger updates are split (see WireGuardNetlink.setMessages).
    public let maxMessageSize: Int

    /// Throws `.kernelModuleMissing` when the kernel has no `wireguard` family.
    public init(interfaceName: String, maxMessageSize: Int = WireGuardNetlink.defaultMessageSize) throws {
        try WireGuardNetlink.validate(interface: interfaceName)
        self.interfaceName = interfaceName
        self.maxMessageSize = maxMessageSize
        family = try GenericNetlink.resolveFamily(WG_GENL_NAME)
    }

    /// Whether the kernel serves WireGuard (the module is loaded or loads on demand).
    public static func isAvailable() -> Bool { (try? GenericNetlink.resolveFamily(WG_GENL_NAME)) != nil }

    public func read() throws -> DeviceState {
        let socket = try NetlinkSocket(bus: NETLINK_GENERIC)
        let request = try WireGuardNetlink.getRequest(interface: interfaceName, family: family)
        let messages: [[UInt8]]
        do {
            messages = try socket.dump(request, operation: "reading WireGuard device \(interfaceName)", interface: interfaceName, refusal: true)
        } catch WireGuardError.refused(_, EOPNOTSUPP) {
            throw WireGuardError.notWireGuard(interfaceName)
        }
        return try WireGuardNetlink.decodeDevice(messages, interface: interfaceName)
    }

    /// Sends the update as one or more SET_DEVICE messages, each acknowledged before the next.
    public func apply(_ update: DeviceUpdate) throws {
        let messages = try WireGuardNetlink.setMessages(update, interface: interfaceName, family: family, maxMessageSize: maxMessageSize)
        let socket = try NetlinkSocket(bus: NETLINK_GENERIC)
        for (i, m) in messages.enumerated() {
            let op = messages.count == 1 ? "configuring \(interfaceName)" : "configuring \(interfaceName) (part \(i + 1) of \(messages.count))"
            let reply = try socket.request(m, operation: op, interface: interfaceName, accepting: [EOPNOTSUPP], refusal: true)
            if reply.errno == EOPNOTSUPP { throw WireGuardError.notWireGuard(interfaceName) }
        }
    }
}
