import TeamwireCore

/// A change to apply to a device, in the vocabulary both the kernel (WGDEVICE_F_*/WGPEER_F_*
/// flags) and the UAPI (`replace_peers`, `remove`, `update_only`, ...) share. Absent fields are
/// left untouched.
public struct DeviceUpdate: Sendable {
    public var privateKey: PrivateKey?
    public var listenPort: UInt16?
    public var fwmark: UInt32?
    /// Drop every peer not listed here.
    public var replacePeers = false
    public var peers: [PeerUpdate] = []

    public init(privateKey: PrivateKey? = nil, listenPort: UInt16? = nil, fwmark: UInt32? = nil, replacePeers: Bool = false, peers: [PeerUpdate] = []) {
        self.privateKey = privateKey
        self.listenPort = listenPort
        self.fwmark = fwmark
        self.replacePeers = replacePeers
        self.peers = peers
    }

    /// Nothing to write: applying it would change nothing.
    public var isEmpty: Bool { privateKey == nil && listenPort == nil && fwmark == nil && !replacePeers && peers.isEmpty }

    /// A full configuration as one update that replaces every peer (like `wg setconf`).
    public init(replacingWith config: DeviceConfiguration) {
        self.init(privateKey: config.interface.privateKey, listenPort: config.interface.listenPort, fwmark: config.interface.fwmark, replacePeers: true,
                  peers: config.peers.map { PeerUpdate(adding: $0) })
    }
}

public struct PeerUpdate: Sendable, Equatable {
    public var publicKey: PublicKey
    public var remove = false
    /// Change the peer only if it exists (never create it by accident).
    public var updateOnly = false
    /// `.zero` clears it.
    public var presharedKey: PresharedKey?
    public var endpoint: Endpoint?
    /// 0 turns it off.
    public var persistentKeepalive: UInt16?
    /// Replace the allowed IPs with `allowedIPs` rather than adding to them.
    public var replaceAllowedIPs = false
    public var allowedIPs: [IPAddressRange] = []

    public init(publicKey: PublicKey, remove: Bool = false, updateOnly: Bool = false, presharedKey: PresharedKey? = nil, endpoint: Endpoint? = nil,
                persistentKeepalive: UInt16? = nil, replaceAllowedIPs: Bool = false, allowedIPs: [IPAddressRange] = []) {
        self.publicKey = publicKey
        self.remove = remove
        self.updateOnly = updateOnly
        self.presharedKey = presharedKey
        self.endpoint = endpoint
        self.persistentKeepalive = persistentKeepalive
        self.replaceAllowedIPs = replaceAllowedIPs
        self.allowedIPs = allowedIPs
    }

    public static func removing(_ key: PublicKey) -> PeerUpdate { PeerUpdate(publicKey: key, remove: true) }

    /// A new peer with everything set.
    public init(adding p: PeerConfiguration) {
        self.init(publicKey: p.publicKey, presharedKey: p.presharedKey, endpoint: p.endpoint, persistentKeepalive: p.persistentKeepalive,
                  replaceAllowedIPs: true, allowedIPs: p.allowedIPs)
    }
}
