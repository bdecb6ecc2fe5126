#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Files a daemon must never leave half-written (a robot loses power at any moment): write a
/// temporary file beside the target, fsync it, rename it over the target, fsync the directory.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws(DaemonFileError) {
        let tmp = path + ".tmp"
        // A fresh file, never through a link someone left in the directory.
        unlink(tmp)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw DaemonFileError("cannot write \(tmp): \(String(cString: strerror(errno)))") }
        var ok = fchmod(fd, mode) == 0
        var off = 0
        while ok, off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            ok = n > 0
            off += max(n, 0)
        }
        ok = ok && fsync(fd) == 0
        let err = errno
        close(fd)
        guard ok else {
            unlink(tmp)
            throw DaemonFileError("cannot write \(tmp): \(String(cString: strerror(err)))")
        }
        guard rename(tmp, path) == 0 else {
            let e = errno
            unlink(tmp)
            throw DaemonFileError("cannot replace \(path): \(String(cString: strerror(e)))")
        }
        let dir = open(parentDirectory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            fsync(dir)
            close(dir)
        }
    }

    public static func read(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { [UInt8]($0) }
    }
}
