#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import AgentClient
import DaemonFiles
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// What a node keeps about one team, enough to bring its overlay back with the coordinator down.
public struct Enrolment: Codable, Sendable, Equatable {
    public var team: String
    public var node: Member
    public var coordinatorKey: PublicKey
    public var coordinatorEndpoints: [Endpoint]
    public var interfaceName: String
    public var listenPort: UInt16
    /// Unix ms.
    public var enrolledAt: Int64
}

/// The files of the agent's state directory (laid out as AgentStateDirectory says): the teams'
/// keys, enrolments, last maps and contact times.
public struct TeamStore: Sendable {
    public let paths: AgentStateDirectory

    public init(root: String) { paths = AgentStateDirectory(root: root) }

    func dir(_ team: String) -> String { paths.teamDir(team) }
    func keyPath(_ team: String) -> String { dir(team) + "/private.key" }
    func enrolmentPath(_ team: String) -> String { dir(team) + "/enrolment.json" }
    func mapPath(_ team: String) -> String { dir(team) + "/map.json" }
    func contactPath(_ team: String) -> String { dir(team) + "/contact" }

    public func prepare() throws {
        for (d, mode) in [(paths.root, mode_t(0o711)), (paths.teamsDir, 0o700), (paths.rosRoot, 0o755)] {
            var isDir = false
            if FileManager.default.fileExists(atPath: d, isDirectory: &isDir) {
                guard isDir else { throw AgentError("\(d) exists and is not a directory") }
                // Keys live below: whatever made the directory, only its owner may look inside
                // (teams/ is 0700; the root only lets others through to ros/).
                var st = stat()
                if stat(d, &st) == 0, st.st_uid != geteuid() {
                    throw AgentError("\(d) belongs to uid \(st.st_uid), not to the agent's user: refusing to keep keys there")
                }
                chmod(d, mode)
                continue
            }
            do {
                try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true, attributes: [.posixPermissions: Int(mode)])
                chmod(d, mode)  // the agent's umask is 077
            } catch {
                throw AgentError("cannot create state directory \(d): \(fileErrorText(error)) (run as root, or pass --state DIR)")
            }
        }
    }

    /// The team's key, generated with libsodium on first use. A key file others can read is refused.
    public func loadOrCreateKey(_ team: String) throws -> PrivateKey {
        try FileManager.default.createDirectory(atPath: dir(team), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = keyPath(team)
        if let key = try key(team) { return key }
        let key = PrivateKey.generate()
        try save(Array((key.base64Key + "\n").utf8), to: path)
        return key
    }

    /// The team's key, nil if there is none (one others can read is refused: KeyFile).
    public func key(_ team: String) throws -> PrivateKey? {
        do { return try KeyFile.read(keyPath(team)) } catch { throw AgentError(error.description) }
    }

    public func saveEnrolment(_ e: Enrolment) throws { try save(ControlCodec.encodeJSON(e), to: enrolmentPath(e.team)) }
    public func saveMap(_ team: String, _ m: MapUpdate) throws { try save(ControlCodec.encodeJSON(m), to: mapPath(team)) }

    /// Writes a private state file (0600) whole or not at all.
    private func save(_ bytes: [UInt8], to path: String) throws {
        do { try AtomicFile.write(bytes, to: path) } catch { throw AgentError(error.description) }
    }

    /// When the coordinator last answered for this team (Unix ms, as text).
    func saveContact(_ team: String, _ ms: Int64) throws { try save(Array("\(ms)\n".utf8), to: contactPath(team)) }
    func contact(_ team: String) -> Int64? {
        AtomicFile.read(contactPath(team)).flatMap { Int64(String(decoding: $0, as: UTF8.self).trimmingWhitespace()) }
    }

    public func enrolment(_ team: String) throws -> Enrolment? {
        guard let b = AtomicFile.read(enrolmentPath(team)) else { return nil }
        do { return try JSONDecoder().decode(Enrolment.self, from: Data(b)) } catch {
            throw AgentError("\(enrolmentPath(team)) is damaged (\(error)); run `teamwire leave \(team)` and join again")
        }
    }

    public func map(_ team: String) -> MapUpdate? {
        guard let b = AtomicFile.read(mapPath(team)) else { return nil }
        return try? JSONDecoder().decode(MapUpdate.self, from: Data(b))
    }

    /// Teams with an enrolment on disk.
    public func teams() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: paths.teamsDir)) ?? [])
            .filter { FileManager.default.fileExists(atPath: enrolmentPath($0)) }
            .sorted()
    }

    public func remove(_ team: String) {
        try? FileManager.default.removeItem(atPath: dir(team))
        try? FileManager.default.removeItem(atPath: paths.rosDir(team))
    }
}

/// A file system error in a few words ("Permission denied"): the POSIX reason when there is one.
/// (Error.localizedDescription is not in FoundationEssentials.)
func fileErrorText(_ error: any Error) -> String {
    if let e = error as? CocoaError, let p = e.underlying as? POSIXError { return String(cString: strerror(p.code.rawValue)) }
    return "\(error)"
}

extension TeamStore {
    /// Holds `agent.lock` for the agent's lifetime: a second agent on the same state directory
    /// would fight over the same interfaces.
    public func lock() throws -> Int32 {
        do { return try StateLock.acquire(paths.lockPath, daemon: "teamwire agent") } catch { throw AgentError(error.description) }
    }
}
