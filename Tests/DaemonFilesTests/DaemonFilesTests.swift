import DaemonFiles
import Foundation
import Glibc
import TeamwireCore
import Testing

/// The state directory's lock and key file, shared by the agent and the coordinator, on real files.
@Suite("Daemon files")
struct DaemonFilesTests {
    /// A fresh directory, removed after `body`.
    func withDirectory(_ body: (String) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("daemonfiles-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(dir)
    }

    @Test func aSecondHolderOfTheLockIsRefusedUntilTheFirstLetsGo() throws {
        try withDirectory { dir in
            let first = try StateLock.acquire(dir + "/agent.lock", daemon: "teamwire agent")
            // flock locks belong to the open file: a second open in this process conflicts as another process would.
            #expect { try StateLock.acquire(dir + "/agent.lock", daemon: "teamwire agent") } throws: { error in
                "\(error)" == "another teamwire agent is already running with state directory \(dir)"
            }
            close(first)
            let again = try StateLock.acquire(dir + "/agent.lock", daemon: "teamwire agent")
            close(again)
            var st = stat()
            #expect(stat(dir + "/agent.lock", &st) == 0 && st.st_mode & 0o777 == 0o600)
        }
    }

    @Test func aLockInAMissingDirectorySaysItCannotOpen() {
        #expect { try StateLock.acquire("/nonexistent-teamwire/coordinator.lock", daemon: "coordinator") } throws: { error in
            "\(error)".hasPrefix("cannot open /nonexistent-teamwire/coordinator.lock: ")
        }
    }

    @Test func aKeyFileIsReadOnlyWhenItIsTheOwnersAlone() throws {
        try withDirectory { dir in
            let path = dir + "/private.key"
            #expect(try KeyFile.read(path) == nil)
            let key = PrivateKey.generate()
            #expect(FileManager.default.createFile(atPath: path, contents: Data((key.base64Key + "\n").utf8), attributes: [.posixPermissions: 0o600]))
            #expect(try KeyFile.read(path)?.publicKey == key.publicKey)
            chmod(path, 0o644)
            #expect { try KeyFile.read(path) } throws: { error in
                "\(error)" == "\(path) is readable by other users (mode 644); run: chmod 600 \(path)"
            }
            chmod(path, 0o600)
            try Data("not a key\n".utf8).write(to: URL(fileURLWithPath: path))
            #expect { try KeyFile.read(path) } throws: { error in "\(error)".hasPrefix("\(path) does not hold a WireGuard private key") }
        }
    }

    @Test func parentDirectories() {
        #expect(parentDirectory(of: "/var/lib/teamwire/agent.lock") == "/var/lib/teamwire")
        #expect(parentDirectory(of: "/agent.lock") == "/")
        #expect(parentDirectory(of: "agent.lock") == ".")
        #expect(parentDirectory(of: "state/agent.lock") == "state")
    }
}
