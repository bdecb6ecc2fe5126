/// wireguard-go through its UAPI socket, /var/run/wireguard/NAME.sock.
public struct UserspaceBackend: WireGuardBackend {
    public let interfaceName: String
    public let socketDirectory: String
    public var kind: BackendKind { .userspace }

    public static let defaultSocketDirectory = "/var/run/wireguard"

    public init(interfaceName: String, socketDirectory: String = UserspaceBackend.defaultSocketDirectory) {
        self.interfaceName = interfaceName
        self.socketDirectory = socketDirectory
    }

    public var socketPath: String { "\(socketDirectory)/\(interfaceName).sock" }

    public func read() throws -> DeviceState {
        try UAPI.parseGet(try UnixSocket.exchange(path: socketPath, request: UAPI.getRequest, interface: interfaceName), interface: interfaceName)
    }

    public func apply(_ update: DeviceUpdate) throws {
        if update.isEmpty { return }
        try UAPI.parseSet(String(decoding: try UnixSocket.exchange(path: socketPath, request: try UAPI.setRequest(update), interface: interfaceName), as: UTF8.self))
    }

    /// True when something answers on the socket.
    public var isResponding: Bool { (try? read()) != nil }
}
