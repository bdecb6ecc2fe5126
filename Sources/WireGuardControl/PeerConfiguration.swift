import TeamwireCore

/// What one peer should look like: the input to reconcile.
public struct PeerConfiguration: Sendable, Equatable {
    public var publicKey: PublicKey
    public var presharedKey: PresharedKey?
    /// nil: leave whatever endpoint the device has (WireGuard learns it from the peer's packets).
    public var endpoint: Endpoint?
    public var allowedIPs: [IPAddressRange]
    /// Seconds; nil or 0 means off.
    public var persistentKeepalive: UInt16?

    public init(publicKey: PublicKey, presharedKey: PresharedKey? = nil, endpoint: Endpoint? = nil,
                allowedIPs: [IPAddressRange] = [], persistentKeepalive: UInt16? = nil) {
        self.publicKey = publicKey
        self.presharedKey = presharedKey
        self.endpoint = endpoint
        self.allowedIPs = allowedIPs
        self.persistentKeepalive = persistentKeepalive
    }
}

/// The device-wide settings. nil fields are left as they are.
public struct InterfaceConfiguration: Sendable {
    public var privateKey: PrivateKey?
    public var listenPort: UInt16?
    public var fwmark: UInt32?

    public init(privateKey: PrivateKey? = nil, listenPort: UInt16? = nil, fwmark: UInt32? = nil) {
        self.privateKey = privateKey
        self.listenPort = listenPort
        self.fwmark = fwmark
    }
}

/// A whole desired device: its settings and its complete peer set.
public struct DeviceConfiguration: Sendable {
    public var interface: InterfaceConfiguration
    public var peers: [PeerConfiguration]

    public init(interface: InterfaceConfiguration = .init(), peers: [PeerConfiguration] = []) {
        self.interface = interface
        self.peers = peers
    }
}
