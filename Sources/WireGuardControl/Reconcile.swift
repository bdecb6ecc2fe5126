import TeamwireCore

/// The minimal change that takes a device from `current` to `desired`. Untouched peers are not
/// mentioned at all (their sessions and counters survive); changed peers are updated in place
/// with `updateOnly`; peers no longer desired are removed. Reconciling a device with what it
/// already has yields an empty update: zero writes.
public enum Reconcile {
    public static func update(from current: DeviceState, to desired: DeviceConfiguration) -> DeviceUpdate {
        var existing: [PublicKey: PeerState] = [:]
        existing.reserveCapacity(current.peers.count)
        for p in current.peers { existing[p.publicKey] = p }
        return update(from: current, peers: existing, to: desired)
    }

    /// The same, with the current peers already indexed by key (`current.peers` is ignored).
    public static func update(from current: DeviceState, peers existing: [PublicKey: PeerState], to desired: DeviceConfiguration) -> DeviceUpdate {
        var u = DeviceUpdate()
        let want = desired.interface
        if let k = want.privateKey, !(current.privateKey.map { $0.constantTimeEquals(k) } ?? false) { u.privateKey = k }
        if let p = want.listenPort, p != current.listenPort { u.listenPort = p }
        if let m = want.fwmark, m != current.fwmark { u.fwmark = m }

        var wanted = Set<PublicKey>()
        wanted.reserveCapacity(desired.peers.count)
        for peer in desired.peers {
            wanted.insert(peer.publicKey)
            if let have = existing[peer.publicKey] {
                if let change = peerChange(have, peer) { u.peers.append(change) }
            } else {
                u.peers.append(PeerUpdate(adding: peer))
            }
        }
        // Removals in key order so the same inputs always give the same update.
        for p in existing.keys.sorted() where !wanted.contains(p) {
            u.peers.append(.removing(p))
        }
        return u
    }

    /// Only the fields that differ; nil when the peer already matches.
    static func peerChange(_ have: PeerState, _ want: PeerConfiguration) -> PeerUpdate? {
        var c = PeerUpdate(publicKey: want.publicKey, updateOnly: true)
        var changed = false
        let psk = want.presharedKey ?? .zero
        if psk != have.presharedKey { c.presharedKey = psk; changed = true }
        if let e = want.endpoint, e != have.endpoint { c.endpoint = e; changed = true }
        let ka = want.persistentKeepalive ?? 0
        if ka != have.persistentKeepalive { c.persistentKeepalive = ka; changed = true }
        if want.allowedIPs != have.allowedIPs, Set(want.allowedIPs) != Set(have.allowedIPs) {
            c.replaceAllowedIPs = true
            c.allowedIPs = want.allowedIPs
            changed = true
        }
        return changed ? c : nil
    }
}
