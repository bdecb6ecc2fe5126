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

        /// The latest second a handshake time may name (in 2262): one whose nanoseconds since
        /// the epoch still fit an Int64, so the arithmetic below, and callers', cannot overflow.
        public static let maxSeconds: Int64 = Int64.max / 1_000_000_000 - 1

        /// Whether WireGuard could have reported this: a time from the epoch to `maxSeconds`
        /// with less than a second of nanoseconds. Both decoders refuse anything else.
        public var isPlausible: Bool { (0...Self.maxSeconds).contains(seconds) && (0..<1_000_000_000).contains(nanoseconds) }

        static func problem(_ t: Timestamp, peer: PublicKey) -> String {
            "peer \(peer) has an impossible last handshake time (\(t.seconds) s, \(t.nanoseconds) ns)"
        }

        /// Unix milliseconds (for a plausible timestamp).
        public var unixMilliseconds: Int64 { seconds &* 1000 &+ nanoseconds / 1_000_000 }
        /// Unix nanoseconds (for a plausible timestamp).
        public var unixNanoseconds: Int64 { seconds &* 1_000_000_000 &+ nanoseconds }
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
