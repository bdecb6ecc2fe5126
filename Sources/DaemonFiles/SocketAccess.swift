#if canImport(Glibc)
import Glibc
#endif

/// Who may use the daemons' Unix sockets (agent.sock, the coordinator's admin.sock): root, and
/// the members of a group when it exists (0660 root:GROUP), as tailscale's operator. The file
/// mode is the whole check, except that the agent asks the kernel who is calling before it
/// changes the node (join, leave: root only).
public enum SocketAccess {
    /// The id of group `name`, or nil when there is no such group.
    public static func group(named name: String) -> gid_t? {
        var entry = Glibc.group()
        var result: UnsafeMutablePointer<Glibc.group>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        guard getgrnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return entry.gr_gid
    }

    /// The name of group `gid`, or nil.
    public static func groupName(_ gid: gid_t) -> String? {
        var entry = Glibc.group()
        var result: UnsafeMutablePointer<Glibc.group>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        guard getgrgid_r(gid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.gr_name else { return nil }
        return String(cString: name)
    }

    /// Opens a freshly bound socket to `gid` (0660 root:gid), or keeps it root's alone (0600).
    /// The group is set before the mode, so the socket is never 0660 for root's group.
    public static func share(_ path: String, with gid: gid_t?) throws(SocketAccessError) {
        if let gid {
            guard chown(path, uid_t.max, gid) == 0 else { throw SocketAccessError(path: path, operation: "chown", errno: errno) }
            guard chmod(path, 0o660) == 0 else { throw SocketAccessError(path: path, operation: "chmod", errno: errno) }
        } else {
            guard chmod(path, 0o600) == 0 else { throw SocketAccessError(path: path, operation: "chmod", errno: errno) }
        }
    }

    /// Why this process may not use the socket at `path`, as one sentence naming what to do, or
    /// nil when it may (or when the socket is simply missing: no daemon runs). `defaultGroup`
    /// is named when the socket is root's alone, since the daemon shares it only when that
    /// group exists.
    public static func denial(_ path: String, daemon: String, defaultGroup: String) -> String? {
        var st = stat()
        let group: gid_t
        if stat(path, &st) == 0 {
            if access(path, R_OK | W_OK) == 0 { return nil }
            group = st.st_mode & 0o060 == 0o060 ? st.st_gid : 0
        } else {
            guard errno == EACCES else { return nil }
            // The directory is closed to us: its group is the one that may reach the socket.
            var d = stat()
            group = stat(parentDirectory(of: path), &d) == 0 && d.st_mode & 0o010 != 0 ? d.st_gid : 0
        }
        if group != 0, let name = groupName(group) {
            return "permission denied on \(path): run as root (sudo), or join group \(name) (sudo usermod -aG \(name) $USER, then log in again)"
        }
        return "permission denied on \(path): it is root's alone; run as root (sudo), or create group \(defaultGroup) (sudo groupadd --system \(defaultGroup)) and restart \(daemon) so that its members may use it"
    }
}

public struct SocketAccessError: Error, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var errno: Int32
    public var description: String { "cannot \(operation) \(path): \(String(cString: strerror(errno)))" }
}
