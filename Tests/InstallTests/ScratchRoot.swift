import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A machine to install packages on, made from this one: a persistent mount namespace where /etc,
/// /usr and /var are overlays (writes land in a scratch directory, the host's files never
/// change), /run and /tmp are empty tmpfs (no systemd runs there), and a network namespace of its
/// own with only loopback. dpkg, maintainer scripts and daemons run there for real, as on a robot;
/// `close()` kills what still runs there and throws the changes away.
final class ScratchRoot: @unchecked Sendable {
    let dir: String
    private var mnt: String { dir + "/mnt" }
    private var net: String { dir + "/net" }
    /// Where the overlays keep what the machine wrote: upper/etc, upper/usr, upper/var.
    var upper: String { dir + "/upper" }

    init(_ tag: String) throws {
        dir = "/tmp/tw-scratch-\(tag)-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        let fm = FileManager.default
        for d in ["etc", "usr", "var"] {
            try fm.createDirectory(atPath: "\(dir)/upper/\(d)", withIntermediateDirectories: true)
            try fm.createDirectory(atPath: "\(dir)/work/\(d)", withIntermediateDirectories: true)
        }
        // unshare --mount=FILE needs FILE on a private mount: bind the directory onto itself.
        try run(["mount", "--bind", dir, dir])
        do {
            try run(["mount", "--make-private", dir])
            fm.createFile(atPath: mnt, contents: nil)
            fm.createFile(atPath: net, contents: nil)
            let overlays = ["etc", "usr", "var"].map {
                "mount -t overlay overlay -o lowerdir=/\($0),upperdir=\(dir)/upper/\($0),workdir=\(dir)/work/\($0) /\($0)"
            }.joined(separator: " && ")
            try run(["unshare", "--mount=\(mnt)", "--net=\(net)", "--propagation", "private", "sh", "-c",
                     overlays + " && mount -t tmpfs -o mode=0755 scratch-run /run && mount -t tmpfs -o mode=1777 scratch-tmp /tmp && ip link set lo up"])
        } catch {
            close()
            throw error
        }
    }

    /// Makes the machine one where teamwire never ran: the host's own state (a developer's
    /// agent or coordinator) is deleted in the overlay, not on the host.
    func forgetTeamwire() throws {
        try sh("rm -rf /var/lib/teamwire /var/lib/teamwire-coordinator /etc/default/teamwire-*")
    }

    /// Runs a command on the scratch machine (its mounts and network), as root.
    @discardableResult
    func exec(_ args: [String], check: Bool = true) throws -> (status: Int32, out: String) {
        try run(["nsenter", "--mount=\(mnt)", "--net=\(net)", "--"] + args, check: check)
    }

    /// A shell command line on the scratch machine.
    @discardableResult
    func sh(_ script: String, check: Bool = true) throws -> (status: Int32, out: String) {
        try exec(["sh", "-c", script], check: check)
    }

    /// Starts a long-running command there; its pid is the command's (nsenter execs it).
    func spawn(_ args: [String]) throws -> ChildProcess {
        try ChildProcess.start(["nsenter", "--mount=\(mnt)", "--net=\(net)", "--"] + args, environment: ProcessInfo.processInfo.environment)
    }

    /// Kills every process whose mount namespace is this one, then removes the namespaces and the
    /// scratch directory. Safe to call twice.
    func close() {
        if let inode = try? FileManager.default.attributesOfItem(atPath: mnt)[.systemFileNumber] as? Int,
           let pids = try? FileManager.default.contentsOfDirectory(atPath: "/proc") {
            for pid in pids.compactMap({ Int32($0) }) {
                var st = stat()
                if stat("/proc/\(pid)/ns/mnt", &st) == 0, Int(st.st_ino) == inode { kill(pid, SIGKILL) }
            }
        }
        _ = try? run(["umount", mnt], check: false)
        _ = try? run(["umount", net], check: false)
        _ = try? run(["umount", dir], check: false)
        try? FileManager.default.removeItem(atPath: dir)
    }
}
