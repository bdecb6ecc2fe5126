import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// This machine's own systemd booted as PID 1 of a throwaway container (systemd-nspawn), so the
/// hardened units run for real: seccomp, namespaces, capability bounding, device policy and
/// `Type=notify` as systemd applies them. The root is a tmpfs; /usr and /etc are overlays of the
/// host's whose writes land in a scratch directory (the built executables, the units as the
/// .deb installs them); the network is the container's own (loopback only).
final class SystemdContainer {
    let name: String
    let stage: String
    private let nspawn: ChildProcess
    /// The container's PID 1 (systemd), as the host sees it.
    let leader: pid_t
    private var stopped = false

    /// Boots the container with `usrFiles` (paths under /usr → host file or directory to copy)
    /// and `etcFiles` (paths under /etc → contents) in place, and waits until its boot is done.
    init(usrFiles: [String: String], etcFiles: [String: String]) throws {
        name = "tw" + UUID().uuidString.prefix(8).lowercased()
        stage = FileManager.default.temporaryDirectory.appendingPathComponent("tw-nspawn-\(name)").path
        let fm = FileManager.default
        for (path, source) in usrFiles {
            let target = stage + "/usr/" + path
            try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            // A hard link when on the same file system (the debug executables are large).
            if link(source, target) != 0 { try fm.copyItem(atPath: source, toPath: target) }
        }
        for (path, contents) in etcFiles {
            let target = stage + "/etc/" + path
            try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try contents.write(toFile: target, atomically: true, encoding: .utf8)
        }
        try fm.createDirectory(atPath: stage + "/usr", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: stage + "/etc", withIntermediateDirectories: true)
        // Readable by the container's users whatever this process's umask (077 under a hardened
        // root shell): an overlay's upper directory lends its mode to the
        // merged one, and a 0700 /usr/share would lock the ROS user out of everything.
        try run(["chmod", "-R", "go+rX", stage])
        nspawn = try ChildProcess.start(
            ["systemd-nspawn", "--directory=/", "--volatile=yes", "--overlay=/usr:\(stage)/usr:/usr", "--overlay=/etc:\(stage)/etc:/etc",
             "--machine=\(name)", "--register=no", "--keep-unit", "--link-journal=no", "--private-network",
             "--bind=/dev/net/tun", "--console=pipe", "--boot"],
            environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])
        // PID 1 of the container is nspawn's only child.
        var found: pid_t = 0
        for _ in 0..<100 {
            let children = (try? String(contentsOfFile: "/proc/\(nspawn.pid)/task/\(nspawn.pid)/children", encoding: .utf8)) ?? ""
            if let first = children.split(separator: " ").first, let pid = pid_t(first) { found = pid; break }
            if kill(nspawn.pid, 0) != 0 { break }
            usleep(100_000)
        }
        leader = found
        guard found != 0 else {
            kill(nspawn.pid, SIGKILL)
            let out = nspawn.wait().out
            Self.cleanUp(stage: stage, name: name)
            throw LabError("systemd-nspawn did not start a container: \(out)")
        }
        do {
            // "running", or "degraded" when one of this machine's own units fails in there; until
            // systemd's bus is up, systemctl cannot ask.
            var state = ""
            for _ in 0..<150 {
                state = try exec(["systemctl", "is-system-running", "--wait"], check: false).out
                if !state.contains("Failed to connect to bus") { break }
                usleep(200_000)
            }
            guard state.contains("running") || state.contains("degraded") else { throw LabError("the container's systemd did not boot: \(state)") }
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    /// Runs a command inside (all its namespaces, as root).
    @discardableResult
    func exec(_ args: [String], check: Bool = true) throws -> (status: Int32, out: String) {
        try run(["nsenter", "--target", "\(leader)", "--all"] + args, check: check)
    }

    /// A unit property (`systemctl show -p NAME --value`).
    func property(_ unit: String, _ name: String) throws -> String {
        try exec(["systemctl", "show", "--property", name, "--value", unit]).out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func journal(_ units: [String]) -> String {
        (try? exec(["journalctl", "--no-pager", "--lines", "60"] + units.flatMap { ["--unit", $0] }, check: false).out) ?? ""
    }

    /// Powers the container off (a second SIGTERM ends it at once) and removes the scratch files.
    func stop() {
        guard !stopped else { return }
        stopped = true
        kill(nspawn.pid, SIGTERM)
        usleep(500_000)
        kill(nspawn.pid, SIGTERM)
        _ = nspawn.wait()
        Self.cleanUp(stage: stage, name: name)
    }

    private static func cleanUp(stage: String, name: String) {
        try? FileManager.default.removeItem(atPath: stage)
        // nspawn's mount propagation directory, left behind when /run is not a tmpfs.
        try? FileManager.default.removeItem(atPath: "/run/systemd/nspawn/propagate/\(name)")
    }
}
