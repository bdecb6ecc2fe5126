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

extension WireGuardDevice {
    /// Which backend `choice` means on this machine: `automatic` is the kernel when the
    /// `wireguard` generic netlink family resolves, else wireguard-go.
    public static func resolve(_ choice: BackendChoice) -> BackendKind {
        switch choice {
        case .kernel: .kernel
        case .userspace: .userspace
        case .automatic: KernelBackend.isAvailable() ? .kernel : .userspace
        }
    }

    /// Adopts an existing interface: a wireguard-go socket that answers wins (it is what serves
    /// the name), else a kernel WireGuard link.
    public static func open(_ name: String, choice: BackendChoice = .automatic,
                            socketDirectory: String = UserspaceBackend.defaultSocketDirectory) throws -> WireGuardDevice {
        let userspace = UserspaceBackend(interfaceName: name, socketDirectory: socketDirectory)
        if choice != .kernel, userspace.isResponding { return WireGuardDevice(backend: userspace) }
        if choice == .userspace { throw WireGuardError.noSuchInterface(name) }
        guard Link.exists(name) else { throw WireGuardError.noSuchInterface(name) }
        return WireGuardDevice(backend: try KernelBackend(interfaceName: name))
    }

    /// Creates the interface (or adopts it if it is already there) with the chosen backend.
    /// For wireguard-go the returned process serves it; nil for the kernel.
    public static func create(_ name: String, choice: BackendChoice = .automatic, wireguardGo: String? = nil,
                              socketDirectory: String = UserspaceBackend.defaultSocketDirectory) throws -> (WireGuardDevice, WireGuardGo?) {
        if let existing = try? open(name, choice: choice, socketDirectory: socketDirectory) { return (existing, nil) }
        switch resolve(choice) {
        case .kernel:
            try Link.createWireGuard(name)
            return (WireGuardDevice(backend: try KernelBackend(interfaceName: name)), nil)
        case .userspace:
            let proc = try WireGuardGo.start(interface: name, executable: wireguardGo, socketDirectory: socketDirectory)
            return (WireGuardDevice(backend: UserspaceBackend(interfaceName: name, socketDirectory: socketDirectory)), proc)
        }
    }
}
