/// Every way configuring WireGuard can fail, each with what to do about it.
public enum WireGuardError: Error, Equatable, CustomStringConvertible {
    /// The operation needs CAP_NET_ADMIN.
    case permissionDenied(String)
    case noSuchInterface(String)
    /// The interface exists but is not a WireGuard interface.
    case notWireGuard(String)
    /// The kernel has no `wireguard` generic netlink family (module missing or not loaded).
    case kernelModuleMissing
    case wireguardGoMissing(String)
    /// wireguard-go exited or never opened its control socket.
    case wireguardGoFailed(interface: String, detail: String)
    /// The UAPI reply could not be parsed.
    case malformedReply(String)
    /// The device refused a change; `errno` as reported by the kernel or wireguard-go.
    case refused(operation: String, errno: Int32)
    case system(operation: String, errno: Int32)
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .permissionDenied(let what):
            "permission denied: \(what) needs root or CAP_NET_ADMIN (run with sudo, or give the agent CAP_NET_ADMIN in its systemd unit)"
        case .noSuchInterface(let n):
            "no interface named '\(n)'"
        case .notWireGuard(let n):
            "interface '\(n)' exists but is not a WireGuard interface; choose another --interface name or delete it"
        case .kernelModuleMissing:
            "the kernel has no WireGuard support (the 'wireguard' netlink family is absent): run `modprobe wireguard`, or use the userspace backend (install wireguard-go)"
        case .wireguardGoMissing(let path):
            "wireguard-go is not installed (looked for \(path)): `apt-get install wireguard-go`, or use a kernel with the wireguard module"
        case .wireguardGoFailed(let ifname, let detail):
            "wireguard-go for '\(ifname)' failed: \(detail)"
        case .malformedReply(let detail):
            "malformed reply from WireGuard: \(detail)"
        case .refused(let op, let errno):
            "WireGuard refused \(op): \(errnoText(errno))"
        case .system(let op, let errno):
            "\(op) failed: \(errnoText(errno))"
        case .invalidConfiguration(let detail):
            "invalid WireGuard configuration: \(detail)"
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

func errnoText(_ e: Int32) -> String {
    let n = e < 0 && e != .min ? -e : e
    return "\(String(cString: strerror(n))) (errno \(n))"
}
