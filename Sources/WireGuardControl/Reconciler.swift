import TeamwireCore

/// Keeps one device at a desired peer set with minimal writes. It remembers the state it last
/// read or wrote, so a change costs work in proportion to what changed rather than a read of
/// every peer from the device: at 10,000 peers, one changed peer is still one peer written.
/// `refresh()` re-reads the device (after a restart of wireguard-go, or periodically to pick up
/// endpoints WireGuard learnt by itself).
public struct Reconciler: Sendable {
    public let device: WireGuardDevice
    /// The device-wide settings last read or written (its `peers` stay empty: see `peers`).
    public private(set) var interface: DeviceState
    public private(set) var peers: [PublicKey: PeerState] = [:]
    /// Which peer holds each allowed IP: WireGuard routes by them, so an IP given to one peer
    /// is taken from any other.
    private var owners: [IPAddressRange: PublicKey] = [:]

    public init(device: WireGuardDevice) throws {
        self.device = device
        self.interface = DeviceState(name: device.name)
        try refresh()
    }

    public mutating func refresh() throws {
        var s = try device.read()
        peers = Dictionary(s.peers.map { ($0.publicKey, $0) }, uniquingKeysWith: { a, _ in a })
        owners = [:]
        for p in s.peers { for a in p.allowedIPs { owners[a] = p.publicKey } }
        s.peers = []
        interface = s
    }

    /// What the reconciler believes the device holds.
    public var state: DeviceState {
        var s = interface
        s.peers = peers.values.sorted { $0.publicKey < $1.publicKey }
        return s
    }

    /// Takes the device to the whole desired configuration. Compares in memory; writes only
    /// the difference (nothing when it already matches).
    @discardableResult
    public mutating func reconcile(to desired: DeviceConfiguration) throws -> DeviceUpdate {
        let u = Reconcile.update(from: interface, peers: peers, to: desired)
        try write(u)
        return u
    }

    /// Applies a known set of changes (the agent gets them as deltas from the coordinator):
    /// O(changes), independent of the number of peers.
    @discardableResult
    public mutating func update(upserting changed: [PeerConfiguration], removing removed: [PublicKey] = []) throws -> DeviceUpdate {
        var u = DeviceUpdate()
        for p in changed {
            if let have = peers[p.publicKey] {
                if let c = Reconcile.peerChange(have, p) { u.peers.append(c) }
            } else {
                u.peers.append(PeerUpdate(adding: p))
            }
        }
        for k in removed where peers[k] != nil { u.peers.append(.removing(k)) }
        try write(u)
        return u
    }

    /// Sets every peer's endpoint again, unchanged. WireGuard remembers the local address it
    /// last sent from for each peer; after a roam that address is gone and sends fail until
    /// WireGuard's own handshake retry (about 15 s). A fresh endpoint forgets it.
    public mutating func resetEndpoints() throws {
        try write(DeviceUpdate(peers: peers.values.compactMap { p in p.endpoint.map { PeerUpdate(publicKey: p.publicKey, updateOnly: true, endpoint: $0) } }))
    }

    private mutating func write(_ u: DeviceUpdate) throws {
        guard !u.isEmpty else { return }
        do {
            try device.apply(u)
        } catch {
            // What the device holds is unknown after a failed write: read it again.
            try? refresh()
            throw error
        }
        if let k = u.privateKey { interface.privateKey = k }
        if let p = u.listenPort { interface.listenPort = p }
        if let m = u.fwmark { interface.fwmark = m }
        if u.replacePeers {
            peers = [:]
            owners = [:]
        }
        for p in u.peers { apply(p) }
    }

    private mutating func apply(_ p: PeerUpdate) {
        let key = p.publicKey
        if p.remove || p.replaceAllowedIPs {
            for a in peers[key]?.allowedIPs ?? [] where owners[a] == key { owners[a] = nil }
        }
        if p.remove {
            peers[key] = nil
            return
        }
        if peers[key] == nil {
            if p.updateOnly { return }
            peers[key] = PeerState(publicKey: key)
        }
        peers[key]!.merge(p)
        for a in p.allowedIPs {
            if let other = owners[a], other != key { peers[other]?.allowedIPs.removeAll { $0 == a } }
            owners[a] = key
        }
    }
}

extension PeerState {
    mutating func merge(_ p: PeerUpdate) {
        if let k = p.presharedKey { presharedKey = k }
        if let e = p.endpoint { endpoint = e }
        if let k = p.persistentKeepalive { persistentKeepalive = k }
        if p.replaceAllowedIPs { allowedIPs = [] }
        for a in p.allowedIPs where !allowedIPs.contains(a) { allowedIPs.append(a) }
    }
}

extension DeviceState {
    /// What a device holds after `u`, per the documented semantics of both backends (peers
    /// keep their order; new ones are appended).
    public mutating func apply(_ u: DeviceUpdate) {
        if let k = u.privateKey { privateKey = k }
        if let p = u.listenPort { listenPort = p }
        if let m = u.fwmark { fwmark = m }
        if u.replacePeers { peers = [] }
        for p in u.peers {
            let i = peers.firstIndex { $0.publicKey == p.publicKey }
            if p.remove {
                if let i { peers.remove(at: i) }
            } else if i != nil || !p.updateOnly {
                let j = i ?? { peers.append(PeerState(publicKey: p.publicKey)); return peers.count - 1 }()
                peers[j].merge(p)
                // An allowed IP belongs to one peer: giving it to this one takes it from others.
                for k in peers.indices where k != j { peers[k].allowedIPs.removeAll { p.allowedIPs.contains($0) } }
            }
        }
    }
}
