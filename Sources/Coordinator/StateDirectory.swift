import DaemonFiles
import Foundation
import Logging
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// The coordinator's state directory: created 0700 (0710 to the admin socket's group), locked
/// against a second coordinator, holding the coordinator's private key (0600).
enum StateDirectory {
    static func prepare(_ path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw CoordinatorError("state path \(path) exists and is not a directory") }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw CoordinatorError("cannot create state directory \(path): \(error.localizedDescription) (run as root, or pass --state DIR)")
        }
    }

    /// Lets group `gid` reach the admin socket: 0710 root:gid, searchable but not listable;
    /// every file in it but the socket is 0600 root's.
    static func share(_ path: String, with gid: gid_t) throws {
        guard chown(path, uid_t.max, gid) == 0, chmod(path, 0o710) == 0 else {
            throw CoordinatorError("cannot open state directory \(path) to its socket group: \(String(cString: strerror(errno)))")
        }
    }

    static func lock(_ path: String) throws -> Int32 {
        do { return try StateLock.acquire(path, daemon: "coordinator") } catch { throw CoordinatorError(error.description) }
    }

    static func loadOrCreateKey(_ path: String, logger: Logger) throws -> PrivateKey {
        do {
            if let key = try KeyFile.read(path) { return key }
        } catch {
            throw CoordinatorError(error.description)
        }
        let key = PrivateKey.generate()
        do { try AtomicFile.write(Array((key.base64Key + "\n").utf8), to: path, mode: 0o600) } catch { throw CoordinatorError(error.description) }
        logger.notice("generated coordinator key", metadata: ["path": "\(path)", "publicKey": "\(key.publicKey)"])
        return key
    }
}
