import TeamwireCore

/// One peer as the device reports it.
public struct PeerState: Sendable, Equatable {
    public var publicKey: PublicKey
    public var presharedKey: PresharedKey = .zero
    public var endpoint: Endpoint?
    public var allowedIPs: [IPAddressRange] = []
    /// Seconds; 0 is off.
    public var persistentKeepalive: UInt16 = 0
    /// Time of the latest completed handshake, nil if none yet.
    public var lastHandshake: Timestamp?
    public var rxBytes: UInt64 = 0
    public var txBytes: UInt64 = 0
    public var protocolVersion: UInt32 = 1

    public init(publicKey: PublicKey) { self.publicKey = publicKey }

    public struct Timestamp: Sendable, Equatable, Comparable {
        public var seconds: Int64
        public var nanoseconds: Int64
        public init(seconds: Int64, nanoseconds: Int64) {
            self.seconds = seconds
            self.nanoseconds = nanoseconds
        }
        public static func < (a: Timestamp, b: Timestamp) -> Bool { (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds) }
    }

    /// This peer as configuration (what reconcile compares).
    public var configuration: PeerConfiguration {
        PeerConfiguration(publicKey: publicKey, presharedKey: presharedKey.isNone ? nil : presharedKey, endpoint: endpoint,
                          allowedIPs: allowedIPs, persistentKeepalive: persistentKeepalive == 0 ? nil : persistentKeepalive)
    }
}

/// The whole device as read back from the kernel or wireguard-go.
public struct DeviceState: Sendable {
    public var name: String
    public var privateKey: PrivateKey?
    public var listenPort: UInt16 = 0
    public var fwmark: UInt32 = 0
    public var peers: [PeerState] = []

    public init(name: String) { self.name = name }

    public var publicKey: PublicKey? { privateKey?.publicKey }

    public func peer(_ key: PublicKey) -> PeerState? { peers.first { $0.publicKey == key } }
}
