import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

extension WireGuardNetlink {
    /// The device from the messages of a WG_CMD_GET_DEVICE dump (nlmsghdr included). The kernel
    /// puts the device settings in the first message and as many peers as fit in each; a peer
    /// whose allowed IPs overflow is repeated, key first, in the next message with the rest.
    /// Peers are merged by public key, keeping the kernel's order.
    public static func decodeDevice(_ messages: [[UInt8]], interface: String) throws -> DeviceState {
        var device = DeviceState(name: interface)
        var index: [PublicKey: Int] = [:]
        for raw in messages {
            for message in try NetlinkReceived.split(raw) {
                guard message.payload.count >= 4 else { throw WireGuardError.malformedReply("WireGuard reply without genetlink header") }
                guard message.payload.first == getCommand else { continue }
                for a in try NetlinkAttribute.parse(message.payload.dropFirst(4)) {
                    switch a.type {
                    case Device.ifname: device.name = a.string
                    case Device.privateKey:
                        let k = try a.bytes(32)
                        device.privateKey = k.allSatisfy { $0 == 0 } ? nil : try PrivateKey(rawValue: k)
                    case Device.listenPort: device.listenPort = try a.u16()
                    case Device.fwmark: device.fwmark = try a.u32()
                    case Device.peers:
                        for p in try a.nested() {
                            let peer = try decodePeer(p.nested())
                            if let i = index[peer.publicKey] {
                                device.peers[i].allowedIPs += peer.allowedIPs
                            } else {
                                index[peer.publicKey] = device.peers.count
                                device.peers.append(peer)
                            }
                        }
                    default: break  // the public key (derived) and attributes newer than us
                    }
                }
            }
        }
        return device
    }

    /// One peer nest (of a continuation: just the key and more allowed IPs).
    static func decodePeer(_ attrs: [NetlinkAttribute]) throws -> PeerState {
        guard let keyAttr = attrs.first(where: { $0.type == Peer.publicKey }) else {
            throw WireGuardError.malformedReply("WireGuard peer without a public key")
        }
        var peer = PeerState(publicKey: try PublicKey(rawValue: keyAttr.bytes(32)))
        for a in attrs {
            switch a.type {
            case Peer.presharedKey: peer.presharedKey = PresharedKey(rawValue: try a.bytes(32))!
            case Peer.endpoint: peer.endpoint = try endpoint(sockaddr: a.payload)
            case Peer.keepalive: peer.persistentKeepalive = try a.u16()
            case Peer.lastHandshake:
                // struct __kernel_timespec: two s64. 0.0 means never, as in the UAPI.
                let b = try a.bytes(16)
                let s = b[0..<8].withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }
                let ns = b[8..<16].withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }
                let t = PeerState.Timestamp(seconds: s, nanoseconds: ns)
                guard s == 0 && ns == 0 || t.isPlausible else {
                    throw WireGuardError.malformedReply(PeerState.Timestamp.problem(t, peer: peer.publicKey))
                }
                peer.lastHandshake = s == 0 && ns == 0 ? nil : t
            case Peer.rxBytes: peer.rxBytes = try a.u64()
            case Peer.txBytes: peer.txBytes = try a.u64()
            case Peer.protocolVersion: peer.protocolVersion = try a.u32()
            case Peer.allowedIPs:
                for ip in try a.nested() { peer.allowedIPs.append(try decodeAllowedIP(ip.nested())) }
            default: break
            }
        }
        return peer
    }

    static func decodeAllowedIP(_ attrs: [NetlinkAttribute]) throws -> IPAddressRange {
        var family: UInt16?, address: ArraySlice<UInt8>?, cidr: UInt8?
        for a in attrs {
            switch a.type {
            case AllowedIP.family: family = try a.u16()
            case AllowedIP.address: address = a.payload
            case AllowedIP.cidr: cidr = try a.u8()
            default: break
            }
        }
        guard let family, let address, let cidr else { throw WireGuardError.malformedReply("WireGuard allowed IP missing family, address or mask") }
        let f: IPAddressRange.Family
        switch Int32(family) {
        case AF_INET: f = .v4
        case AF_INET6: f = .v6
        default: throw WireGuardError.malformedReply("WireGuard allowed IP of address family \(family)")
        }
        guard let r = IPAddressRange(family: f, bytes: Array(address.prefix(f == .v4 ? 4 : 16)), prefixLength: Int(cidr)) else {
            throw WireGuardError.malformedReply("WireGuard allowed IP with \(address.count) address bytes and mask /\(cidr)")
        }
        return r
    }
}

