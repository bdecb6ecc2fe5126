import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// sd_notify(3) without libsystemd: one datagram of `KEY=value` lines to the AF_UNIX socket that
/// systemd names in $NOTIFY_SOCKET (a path, or `@name` for the abstract namespace). With
/// `Type=notify` systemd holds units ordered after the agent until it sends `READY=1`, shows
/// `STATUS=` in `systemctl status`, and takes `STOPPING=1` as the start of a clean stop.
///
/// NOTIFY_SOCKET stays in the environment (sd_notify's unset_environment is false): systemd
/// takes messages from the main process only (NotifyAccess=main), so a child that inherits it
/// cannot speak for the agent. Without NOTIFY_SOCKET (not under systemd) nothing is sent.
public enum SystemdNotify {
    /// Whether systemd listens (the agent runs as a `Type=notify` unit).
    public static var isAvailable: Bool { getenv("NOTIFY_SOCKET") != nil }

    /// Sends `fields` as one message; returns false when there is no socket or sending failed
    /// (systemd then times the start out, which the journal shows: nothing else to do here).
    @discardableResult
    public static func send(_ fields: [(String, String)]) -> Bool {
        guard let raw = getenv("NOTIFY_SOCKET") else { return false }
        // Once the agent said it stops, nothing else it says is true any more (a late READY=1
        // from a start cut short, a STATUS= after the last team was removed).
        let stopping = fields.contains { $0.0 == "STOPPING" }
        guard !stopped.withLock({ done in defer { done = done || stopping }; return done }) else { return false }
        return send(fields, to: String(cString: raw))
    }

    private static let stopped = Mutex(false)

    /// Sends to an explicit socket address (`/path` or `@abstract`).
    @discardableResult
    public static func send(_ fields: [(String, String)], to socketName: String) -> Bool {
        // A value never spans lines: a newline would start a field of its own.
        let text = fields.map { "\($0.0)=\($0.1.split(whereSeparator: \.isNewline).joined(separator: " "))" }.joined(separator: "\n") + "\n"
        guard let (target, length) = address(socketName) else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var address = target
        let sent = bytes.withUnsafeBytes { buf in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, buf.baseAddress, buf.count, Int32(MSG_NOSIGNAL), $0, length) }
            }
        }
        return sent == bytes.count
    }

    /// The socket address and its length: a path ends with its NUL; an abstract name starts with
    /// a NUL byte instead of `@` and has none at the end (its length is part of the name). Nil
    /// for anything else (systemd's `vsock:` addresses are for VMs, not used here) or too long.
    static func address(_ name: String) -> (sockaddr_un, socklen_t)? {
        var bytes = Array(name.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        guard abstract || bytes.first == UInt8(ascii: "/"), bytes.count >= 2 else { return nil }
        if abstract { bytes[0] = 0 } else { bytes.append(0) }
        var a = sockaddr_un()
        a.sun_family = sa_family_t(AF_UNIX)
        let fits = withUnsafeMutableBytes(of: &a.sun_path) { path -> Bool in
            guard bytes.count <= path.count else { return false }
            path.copyBytes(from: bytes)
            return true
        }
        guard fits else { return nil }
        let offset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        return (a, socklen_t(offset + bytes.count))
    }
}
