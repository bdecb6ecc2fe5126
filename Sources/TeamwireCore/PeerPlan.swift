/// Which endpoint a planned WireGuard peer gets.
public enum EndpointIntent: Sendable, Equatable {
    /// Keep the endpoint WireGuard has (learnt from the peer's packets: NAT, roaming); set
    /// `initial` only when it has none.
    case keepLearnt(initial: Endpoint?)
    /// Set this endpoint (a trial's candidate, forced direct's rotation, a new direct peer).
    case set(Endpoint)

    /// What to write given the endpoint the device holds now: nil leaves it as it is.
    public func endpoint(deviceHas current: Endpoint?) -> Endpoint? {
        switch self {
        case .set(let e): e
        case .keepLearnt(let initial): current == nil ? initial : nil
        }
    }
}

/// One WireGuard peer as it should be, before the device is consulted.
public struct PlannedPeer: Sendable, Equatable {
    public var publicKey: PublicKey
    public var endpoint: EndpointIntent
    /// What WireGuard routes to the peer.
    public var allowedIPs: [IPv4Prefix]
    /// Persistent keepalive in seconds; nil or 0 is off.
    public var keepalive: UInt16?

    public init(publicKey: PublicKey, endpoint: EndpointIntent, allowedIPs: [IPv4Prefix], keepalive: UInt16? = nil) {
        self.publicKey = publicKey
        self.endpoint = endpoint
        self.allowedIPs = allowedIPs
        self.keepalive = keepalive
    }
}

/// The desired peers of a WireGuard interface, from the team map (and, on a node, each member's
/// path). Pure: the device is consulted only when the plan is applied (`EndpointIntent`).
public struct PeerPlan: Sendable, Equatable {
    public var peers: [PlannedPeer]

    public init(peers: [PlannedPeer]) { self.peers = peers }

    /// A node's interface: the hub's peer first (it carries the team prefix, so everything not
    /// direct is relayed), then every member by address.
    public init(hub: HubPeer, prefix: IPv4Prefix, members: some Sequence<(member: Member, path: PathMachine)>, policy: PathPolicy) {
        var peers = [Self.hub(hub, prefix: prefix, policy: policy)]
        for (m, path) in members.sorted(by: { $0.member.address < $1.member.address }) {
            if let p = Self.member(m, path: path) { peers.append(p) }
        }
        self.init(peers: peers)
    }

    /// The hub's peer on a node: the team prefix, kept open by keepalives; the endpoint WireGuard
    /// learnt wins over the map's (the hub may be reached through NAT).
    public static func hub(_ hub: HubPeer, prefix: IPv4Prefix, policy: PathPolicy) -> PlannedPeer {
        PlannedPeer(publicKey: hub.publicKey, endpoint: .keepLearnt(initial: hub.endpoints.first), allowedIPs: [prefix], keepalive: policy.keepalive)
    }

    /// A member's peer on a node, as its path says: its /32 while direct; nothing routed (the hub
    /// carries it) during a trial, with keepalive on to start the handshake, or while relayed.
    /// None at all in forced relay.
    public static func member(_ m: Member, path: PathMachine) -> PlannedPeer? {
        let endpoint = path.endpointIntent(m.endpointCandidates)
        return switch path.phase {
        case .forcedRelay: nil
        case .direct: PlannedPeer(publicKey: m.publicKey, endpoint: endpoint, allowedIPs: [.host(m.address)], keepalive: path.policy.keepalive)
        case .trial: PlannedPeer(publicKey: m.publicKey, endpoint: endpoint, allowedIPs: [], keepalive: path.policy.trialKeepalive)
        case .relay: PlannedPeer(publicKey: m.publicKey, endpoint: endpoint, allowedIPs: [], keepalive: 0)
        }
    }

    /// A member's peer on the hub: its /32, first reached at its best endpoint candidate, then at
    /// whatever endpoint WireGuard learnt from its packets.
    public static func hubMember(publicKey: PublicKey, address: IPv4Address, endpoint: Endpoint?) -> PlannedPeer {
        PlannedPeer(publicKey: publicKey, endpoint: .keepLearnt(initial: endpoint), allowedIPs: [.host(address)])
    }
}
