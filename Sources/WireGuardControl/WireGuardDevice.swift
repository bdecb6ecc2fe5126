/// A WireGuard interface, whichever backend serves it. The agent and the hub configure
/// WireGuard only through this.
public struct WireGuardDevice: Sendable {
    public let backend: any WireGuardBackend

    public init(backend: any WireGuardBackend) { self.backend = backend }

    public var name: String { backend.interfaceName }
    public var kind: BackendKind { backend.kind }

    public func read() throws -> DeviceState { try backend.read() }

    public func apply(_ update: DeviceUpdate) throws {
        if !update.isEmpty { try backend.apply(update) }
    }

    /// Takes the device to `desired` with the minimal change and returns that change (empty
    /// when the device already matched: nothing was written).
    @discardableResult
    public func reconcile(to desired: DeviceConfiguration) throws -> DeviceUpdate {
        let update = Reconcile.update(from: try read(), to: desired)
        try apply(update)
        return update
    }

    /// Replaces the whole configuration in one write, like `wg setconf`.
    public func replace(with config: DeviceConfiguration) throws {
        try backend.apply(DeviceUpdate(replacingWith: config))
    }
}
