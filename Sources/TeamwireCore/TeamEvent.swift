extension TeamModel {
    /// What happens to a joined team.
    public enum Event: Sendable {
        /// A team map from the coordinator (a delta or the full map).
        case map(MapUpdate, now: Double)
        /// The agent looked at the device.
        case countersRead(CounterReading)
        /// The device took the whole plan (`Effect.apply`, `Effect.recreateThenApply`).
        case planApplied
        /// The traffic doorbell rang: packets cross the interface.
        case doorbellRang
        /// A member told us through the hub that its path to us changed.
        case pathSignal(PathSignalMessage.Kind, from: IPv4Address, now: Double)
    }

    /// One look at the device.
    public struct CounterReading: Sendable {
        /// Counters of every peer on the device (the hub's included), by key.
        public var peers: [PublicKey: PeerCounters]
        /// The doorbell stood armed since the last look (no doorbell: false).
        public var doorbellArmed: Bool
        /// Our local endpoint candidates changed since they were last reported (roaming).
        public var addressesChanged: Bool
        public var now: Double

        public init(peers: [PublicKey: PeerCounters], doorbellArmed: Bool, addressesChanged: Bool = false, now: Double) {
            self.peers = peers
            self.doorbellArmed = doorbellArmed
            self.addressesChanged = addressesChanged
            self.now = now
        }
    }

    /// What the session must do, in the order given.
    public enum Effect: Sendable, Equatable {
        /// Take the device to the whole plan, then send `planApplied`.
        case apply(PeerPlan)
        /// Remove these peers (their trials start with a handshake of their own), then as `apply`.
        case recreateThenApply([PublicKey], PeerPlan)
        /// Write only these peers (a delta of the map).
        case update(upserting: [PlannedPeer], removing: [PublicKey])
        /// Send a probe through the tunnel to this overlay address.
        case probe(IPv4Address)
        /// Tell a member through the hub that our path to it changed.
        case signal(PathSignalMessage.Kind, to: IPv4Address)
        /// This node's entry in the map changed: save the enrolment.
        case saveNode(Member)
        /// Save the map (a full snapshot) for the next start.
        case saveMap(MapUpdate)
        /// Rewrite the ROS outputs from the map.
        case publishRos
        /// For the log: a map update was applied.
        case mapApplied(changed: Int, removed: Int)
        /// For the log: a member's path changed.
        case pathChanged(Member, path: Path, trial: Bool)
        /// For the log: the member lost its direct path to us; we follow it to the hub.
        case followedToRelay(Member)
        /// Set every peer's endpoint again, unchanged: WireGuard forgets the vanished source address.
        case forgetSourceAddresses
        /// Drop the parked long poll (its connection is from an address we may no longer have).
        case reconnectCoordinator
        /// Report our endpoints to the coordinator now.
        case reportNow
        /// Traffic flows: look every tick (the doorbell is not needed until it stops).
        case trafficFlows
        /// Look at the counters now.
        case lookNow
        /// Look at the counters next at this time (the session's clock).
        case sleep(until: Double)
    }
}
