/// One way of talking to a WireGuard device. Implementations: `KernelBackend` (generic netlink)
/// and `UserspaceBackend` (wireguard-go's UAPI socket). Callers use `WireGuardDevice` and never
/// see which one they got.
public protocol WireGuardBackend: Sendable {
    var interfaceName: String { get }
    /// Which backend this is, for status output and logs.
    var kind: BackendKind { get }
    func read() throws -> DeviceState
    func apply(_ update: DeviceUpdate) throws
}

public enum BackendKind: String, Sendable, CaseIterable {
    case kernel, userspace
}

/// How to pick a backend: `automatic` uses the kernel when the `wireguard` netlink family
/// resolves, else wireguard-go.
public enum BackendChoice: String, Sendable, CaseIterable {
    case automatic = "auto", kernel, userspace
}
