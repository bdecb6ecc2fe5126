#if canImport(Glibc)
import Glibc
#endif

/// The exclusive lock a daemon holds on its state directory for its lifetime (agent.lock,
/// coordinator.lock): a second daemon on the same directory would fight over the same
/// interfaces and files. The kernel drops the lock when the process ends, however it ends.
public enum StateLock {
    /// Opens `path` (0600) and takes it without waiting; the returned descriptor holds the lock
    /// until it is closed. `daemon` names who holds it in the error ("teamwire agent").
    public static func acquire(_ path: String, daemon: String) throws(DaemonFileError) -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DaemonFileError("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw DaemonFileError("another \(daemon) is already running with state directory \(parentDirectory(of: path))")
        }
        return fd
    }
}

