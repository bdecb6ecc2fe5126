import TeamwireCore

extension PeerConfiguration {
    /// What `planned` asks of the device, given the endpoint the device holds for that peer: a
    /// learnt endpoint is kept by writing none.
    public init(_ planned: PlannedPeer, deviceEndpoint: Endpoint?) {
        self.init(publicKey: planned.publicKey, endpoint: planned.endpoint.endpoint(deviceHas: deviceEndpoint),
                  allowedIPs: planned.allowedIPs.map(IPAddressRange.init), persistentKeepalive: planned.keepalive)
    }
}

extension Reconciler {
    /// The configuration `plan` asks for on this device.
    public func configuration(_ plan: PeerPlan, interface: InterfaceConfiguration = .init()) -> DeviceConfiguration {
        DeviceConfiguration(interface: interface, peers: plan.peers.map { PeerConfiguration($0, deviceEndpoint: peers[$0.publicKey]?.endpoint) })
    }

    /// Takes the device to `plan` (see `reconcile(to:)`).
    @discardableResult
    public mutating func reconcile(to plan: PeerPlan, interface: InterfaceConfiguration = .init()) throws -> DeviceUpdate {
        try reconcile(to: configuration(plan, interface: interface))
    }

    /// Applies changed and removed peers only (see `update(upserting:removing:)`).
    @discardableResult
    public mutating func update(planned changed: [PlannedPeer], removing removed: [PublicKey] = []) throws -> DeviceUpdate {
        let configs = changed.map { PeerConfiguration($0, deviceEndpoint: peers[$0.publicKey]?.endpoint) }
        return try update(upserting: configs, removing: removed)
    }
}
