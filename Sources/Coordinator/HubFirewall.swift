import Foundation
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// The hub's forwarding rules: one nftables table of its own, replaced whole (atomically, in
/// one `nft -f` transaction) whenever the set of teams changes.
///
/// - forward: what comes in on the hub interface may only leave through it, and only within
///   its team's prefix (WireGuard has already checked that the source address belongs to the
///   peer that sent it, so the source says which team it is from); nothing else is forwarded
///   into the hub interface.
/// - input: from the hub interface, only the team's own hub address is reachable.
enum HubFirewall {
    static func tableName(interface: String) -> String {
        "teamwire_hub_" + String(interface.map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    /// The complete nft script: creating the table if absent, deleting it and defining it anew
    /// in one transaction, so there is never a moment without rules.
    static func ruleset(interface: String, teams: [(prefix: IPv4Prefix, hubAddress: IPv4Address)]) -> String {
        let table = tableName(interface: interface)
        let i = "\"\(interface)\""
        var forward: [String] = [
            "iifname \(i) oifname != \(i) drop",
            "oifname \(i) iifname != \(i) drop",
        ]
        var input: [String] = []
        for t in teams.sorted(by: { $0.prefix.address < $1.prefix.address }) {
            forward.append("iifname \(i) ip saddr \(t.prefix) ip daddr \(t.prefix) accept")
            input.append("iifname \(i) ip saddr \(t.prefix) ip daddr \(t.hubAddress) accept")
        }
        forward.append("iifname \(i) drop")
        input.append("iifname \(i) drop")
        func chain(_ name: String, _ rules: [String]) -> String {
            "    chain \(name) {\n        type filter hook \(name) priority filter; policy accept;\n"
                + rules.map { "        \($0)\n" }.joined() + "    }\n"
        }
        return "table inet \(table) {}\ndelete table inet \(table)\ntable inet \(table) {\n"
            + chain("forward", forward) + chain("input", input) + "}\n"
    }

    static func apply(_ script: String, nft: String = "nft") throws {
        let r = try Command.run([nft, "-f", "-"], input: script)
        guard r.status == 0 else {
            throw CoordinatorError("nft refused the hub's rules (exit \(r.status)): \(r.output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }

    static func remove(interface: String, nft: String = "nft") {
        _ = try? Command.run([nft, "delete", "table", "inet", tableName(interface: interface)], input: "")
    }

    /// Turns on IPv4 forwarding (the hub relays between members); a no-op when it is on.
    /// Forwarding for packets that come in on the hub interface only (IPv4 decides by the
    /// incoming interface), so the coordinator's host does not start routing between its other
    /// interfaces. The setting goes with the interface.
    static func enableForwarding(interface: String) throws {
        try sysctl("/proc/sys/net/ipv4/conf/\(interface)/forwarding", "1", what: "enable IPv4 forwarding on \(interface)")
    }

    /// Relayed packets leave by the interface they came in on, which makes the kernel send an
    /// ICMP redirect for each one; members can do nothing with them. (The effective setting is
    /// `all` OR the interface's.)
    static func disableRedirects(interface: String) throws {
        for scope in ["all", interface] {
            try sysctl("/proc/sys/net/ipv4/conf/\(scope)/send_redirects", "0", what: "turn off ICMP redirects")
        }
    }

    private static func sysctl(_ path: String, _ value: String, what: String) throws {
        if (try? String(contentsOfFile: path, encoding: .utf8))?.hasPrefix(value) == true { return }
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CoordinatorError("cannot \(what) (\(path)): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let line = value + "\n"
        guard write(fd, line, line.utf8.count) == line.utf8.count else {
            throw CoordinatorError("cannot \(what) (\(path)): \(String(cString: strerror(errno)))")
        }
    }
}

/// Runs a program from the calling thread (so it inherits that thread's network namespace),
/// feeding it `input` and collecting stdout and stderr together.
enum Command {
    static func run(_ argv: [String], input: String) throws -> (status: Int32, output: String) {
        // The input goes through an unlinked temporary file, not a pipe: a program that exits
        // early cannot leave us blocked or killed by SIGPIPE.
        var template = Array("/tmp/teamwire-hub-XXXXXX".utf8CString)
        let inFD = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard inFD >= 0 else { throw CoordinatorError("cannot create a temporary file: \(String(cString: strerror(errno)))") }
        defer { close(inFD) }
        unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        let bytes = Array(input.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(inFD, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw CoordinatorError("cannot write a temporary file: \(String(cString: strerror(errno)))") }
            offset += n
        }
        lseek(inFD, 0, SEEK_SET)

        var outPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0 else { throw CoordinatorError("pipe: \(String(cString: strerror(errno)))") }
        for fd in outPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(inFD, F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inFD, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 2)
        var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, &cargs, environ)
        close(outPipe[1])
        defer { close(outPipe[0]) }
        guard rc == 0 else {
            throw CoordinatorError("cannot run \(argv[0]): \(String(cString: strerror(rc)))\(rc == ENOENT ? " (is it installed?)" : "")")
        }
        var output: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(outPipe[0], &buf, buf.count)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            output += buf[0..<n]
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let exit: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exit, String(decoding: output, as: UTF8.self))
    }
}
