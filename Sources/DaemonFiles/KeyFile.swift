#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// A daemon's WireGuard private key on disk (base64, one line, 0600: the agent's per team, the
/// coordinator's). A key file others can read is refused on every load: a key restored from a
/// backup at 0644 must not be used silently at boot.
public enum KeyFile {
    /// The key at `path`, or nil when there is no such file.
    public static func read(_ path: String) throws(DaemonFileError) -> PrivateKey? {
        var st = stat()
        guard stat(path, &st) == 0 else {
            if errno == ENOENT { return nil }
            throw DaemonFileError("cannot stat \(path): \(String(cString: strerror(errno)))")
        }
        if st.st_mode & 0o077 != 0 {
            throw DaemonFileError("\(path) is readable by other users (mode \(String(st.st_mode & 0o777, radix: 8))); run: chmod 600 \(path)")
        }
        guard let bytes = FileManager.default.contents(atPath: path) else { throw DaemonFileError("cannot read \(path)") }
        let text = String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
        do { return try PrivateKey(base64Key: text) } catch {
            throw DaemonFileError("\(path) does not hold a WireGuard private key: \(error)")
        }
    }
}

