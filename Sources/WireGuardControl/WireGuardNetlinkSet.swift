import CMnl
import TeamwireCore

extension WireGuardNetlink {
    /// A DeviceUpdate as WG_CMD_SET_DEVICE messages of at most `maxMessageSize` bytes each, sent
    /// in order. Split like wireguard-tools' ipc-linux.c: when a peer or one of its allowed IPs
    /// no longer fits, the open nests are closed and the next message resumes there. A resumed
    /// peer carries only its key, UPDATE_ONLY (the first part already created it, or chose not
    /// to) and its remaining allowed IPs: no REPLACE_ALLOWEDIPS, which would drop the IPs the
    /// first part set. Device settings and REPLACE_PEERS go only in the first message.
    public static func setMessages(_ u: DeviceUpdate, interface: String, family: UInt16,
                                   maxMessageSize: Int = defaultMessageSize) throws -> [[UInt8]] {
        try validate(interface: interface)
        guard (512...65535).contains(maxMessageSize) else {
            throw WireGuardError.invalidConfiguration("netlink message size \(maxMessageSize) outside 512...65535")
        }
        // Everything that can be refused is refused before the first message changes anything.
        var endpoints: [[UInt8]?] = []
        endpoints.reserveCapacity(u.peers.count)
        for p in u.peers { endpoints.append(try p.endpoint.map(sockaddr)) }

        var messages: [[UInt8]] = []
        var next = 0  // the peer to put next
        var resumeAt: Int?  // set when peer `next` was started and its allowed IPs resume here
        repeat {
            let m = NetlinkMessage(capacity: maxMessageSize, type: family)
            m.putGenericHeader(command: setCommand, version: version)
            m.put(Device.ifname, cString: interface)
            if messages.isEmpty {
                if let k = u.privateKey { m.put(Device.privateKey, k.rawValue) }
                if let p = u.listenPort { m.put(Device.listenPort, u16: p) }
                if let f = u.fwmark { m.put(Device.fwmark, u32: f) }
                if u.replacePeers { m.put(Device.flags, u32: Device.replacePeers) }
            }
            let before = (next, resumeAt)
            if next < u.peers.count, let peers = m.nestStart(Device.peers) {
                putPeers(u.peers, endpoints, into: m, next: &next, resumeAt: &resumeAt)
                m.nestEnd(peers)
            }
            if !messages.isEmpty, before == (next, resumeAt) {
                throw WireGuardError.invalidConfiguration("peer \(u.peers[next].publicKey) does not fit in a \(maxMessageSize)-byte netlink message")
            }
            messages.append(m.bytes)
        } while next < u.peers.count
        return messages
    }

    /// Puts peers from `next` on until the message is full, leaving `next`/`resumeAt` where the
    /// following message must continue.
    private static func putPeers(_ peers: [PeerUpdate], _ endpoints: [[UInt8]?], into m: NetlinkMessage,
                                 next: inout Int, resumeAt: inout Int?) {
        while next < peers.count {
            let p = peers[next]
            let resuming = resumeAt != nil
            guard let nest = m.nestStart(0) else { return }
            var ok = m.put(Peer.publicKey, p.publicKey.rawValue)
            var flags: UInt32 = 0
            if p.remove {
                flags |= Peer.removeMe
            } else if resuming {
                flags |= Peer.updateOnly
            } else {
                if p.updateOnly { flags |= Peer.updateOnly }
                if p.replaceAllowedIPs { flags |= Peer.replaceAllowedIPs }
                if ok, let k = p.presharedKey { ok = m.put(Peer.presharedKey, k.rawValue) }
                if ok, let e = endpoints[next] { ok = m.put(Peer.endpoint, e) }
                if ok, let k = p.persistentKeepalive { ok = m.put(Peer.keepalive, u16: k) }
            }
            if ok, flags != 0 { ok = m.put(Peer.flags, u32: flags) }
            guard ok else {
                m.nestCancel(nest)
                return
            }
            if !p.remove, (resumeAt ?? 0) < p.allowedIPs.count {
                let start = resumeAt ?? 0
                var i = start
                if let ips = m.nestStart(Peer.allowedIPs) {
                    while i < p.allowedIPs.count, put(p.allowedIPs[i], into: m) { i += 1 }
                    if i == start { m.nestCancel(ips) } else { m.nestEnd(ips) }
                }
                if i < p.allowedIPs.count {
                    // The peer itself went in; its remaining allowed IPs go in the next message.
                    m.nestEnd(nest)
                    resumeAt = i
                    return
                }
            }
            m.nestEnd(nest)
            next += 1
            resumeAt = nil
        }
    }

    /// One allowed IP nest; false (and nothing left behind) when it does not fit.
    private static func put(_ r: IPAddressRange, into m: NetlinkMessage) -> Bool {
        guard let nest = m.nestStart(0) else { return false }
        guard m.put(AllowedIP.family, u16: addressFamily(r)), m.put(AllowedIP.address, r.bytes),
              m.put(AllowedIP.cidr, u8: r.prefixLength) else {
            m.nestCancel(nest)
            return false
        }
        m.nestEnd(nest)
        return true
    }
}
