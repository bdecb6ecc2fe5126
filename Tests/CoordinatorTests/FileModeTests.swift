import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The coordinator gives every file it creates its mode itself: the CLI sets umask 077, but the
/// library must not depend on it.
@Suite struct FileModeTests {
    @Test func filesAreRootsAloneUnderAPermissiveUmask() async throws {
        let parent = makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let state = parent + "/state"
        // Nothing else in this process sets the umask (the coordinator no longer does), so the
        // window only widens what concurrent tests create to 022, the usual umask anyway; it
        // closes once the state directory, key, lock, database and socket exist.
        let old = umask(0o022)
        let started: Result<TestCoordinator, Error>
        do { started = .success(try await TestCoordinator.start(dir: state)) } catch { started = .failure(error) }
        umask(old)
        try await started.get().stopping { tc in
            try await tc.createTeam("iris")
            _ = try await tc.enroll(try await tc.token("iris"), name: "robot1")

            func mode(_ p: String) throws -> mode_t {
                var st = stat()
                guard stat(p, &st) == 0 else { throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: p]) }
                return st.st_mode & 0o7777
            }
            #expect(try mode(state) == 0o700)
            for file in ["coordinator.db", "coordinator.db-wal", "coordinator.db-shm", "coordinator.key", "coordinator.lock", "admin.sock"] {
                #expect(try mode(state + "/" + file) == 0o600, "\(file)")
            }
        }
    }
}
