import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The systemd units in config/, judged by systemd's own tools: `systemd-analyze security`
/// rates each one's exposure (the README shows the figures), `systemd-analyze verify` loads them
/// as systemd would from the installed layout.
@Suite("Systemd units")
struct SystemdUnitTests {
    static let units = ["teamwire-agent.service", "teamwire-coordinator.service", "teamwire-ros.service"]

    static func unitPath(_ unit: String) -> String { Install.repo + "/config/" + unit }

    /// Every unit rates at most 4.0 ("OK").
    @Test(arguments: units)
    func exposureIsAtMostFour(_ unit: String) throws {
        let r = try run(["systemd-analyze", "security", "--offline=true", "--no-pager", Self.unitPath(unit)], check: false)
        #expect(r.status == 0, "\(r.out)")
        let level = try #require(Self.overallExposure(r.out), "no overall exposure in: \(r.out)")
        print("systemd-analyze security \(unit): \(level)")
        #expect(level <= 4.0, "\(unit) rates \(level):\n\(r.out)")
    }

    /// The capabilities are exactly those the code uses (see the comments in each unit).
    @Test func capabilitiesAreExactlyTheNeededOnes() throws {
        #expect(try Self.capabilities("teamwire-agent.service") == ["CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_CHOWN"])
        #expect(try Self.capabilities("teamwire-coordinator.service") == ["CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_CHOWN"])
        // Present and empty: no capability at all (absent would mean every one).
        #expect(try Self.settings("teamwire-ros.service")["CapabilityBoundingSet"] == [""])
        // The agent says when it is ready; its doorbell is a packet socket.
        let agent = try Self.settings("teamwire-agent.service")
        #expect(agent["Type"] == ["notify"])
        #expect(agent["RestrictAddressFamilies"]?.first?.split(separator: " ").contains("AF_PACKET") == true)
        #expect(agent["DeviceAllow"] == ["/dev/net/tun rw"])
    }

    /// `systemd-analyze verify` on the units installed as the .deb lays them out (in a scratch
    /// root with the built executables and this machine's own units for their dependencies): no
    /// unknown key, no bad value, every command present. Verify only warns about unknown keys,
    /// so any output at all fails the test.
    @Test func unitsVerify() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tw-units-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/usr/bin", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/usr/lib/systemd", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/etc/systemd/system", withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: root + "/lib", withDestinationPath: "usr/lib")
        // network-online.target, avahi-daemon.service, multi-user.target and what they need.
        try fm.copyItem(atPath: "/usr/lib/systemd/system", toPath: root + "/usr/lib/systemd/system")
        for unit in Self.units {
            try fm.copyItem(atPath: Self.unitPath(unit), toPath: root + "/usr/lib/systemd/system/" + unit)
        }
        for exe in Install.shipped {
            // A hard link when the build is on the same file system (the debug build is large).
            if link(Install.products + "/" + exe, root + "/usr/bin/" + exe) != 0 {
                try fm.copyItem(atPath: Install.products + "/" + exe, toPath: root + "/usr/bin/" + exe)
            }
        }
        let r = try run(["systemd-analyze", "verify", "--man=no", "--root=\(root)"] + Self.units, check: false)
        #expect(r.status == 0 && r.out.isEmpty, "\(r.out)")
        // The check has teeth: a misspelt key and a missing executable are both reported.
        let typo = try String(contentsOfFile: Self.unitPath("teamwire-agent.service"), encoding: .utf8)
            .replacingOccurrences(of: "ProtectKernelTunables=yes", with: "ProtectKernelTunabels=yes")
        try typo.write(toFile: root + "/usr/lib/systemd/system/teamwire-agent.service", atomically: true, encoding: .utf8)
        try fm.removeItem(atPath: root + "/usr/bin/teamwire")
        let bad = try run(["systemd-analyze", "verify", "--man=no", "--root=\(root)", "teamwire-agent.service"], check: false)
        #expect(bad.out.contains("Unknown key 'ProtectKernelTunabels'") && bad.out.contains("/usr/bin/teamwire is not executable"), "\(bad.out)")
    }

    // MARK: reading units

    /// "→ Overall exposure level for NAME: 2.7 OK 🙂" → 2.7
    static func overallExposure(_ output: String) -> Double? {
        for line in output.split(separator: "\n") where line.contains("Overall exposure level for") {
            guard let colon = line.lastIndex(of: ":") else { continue }
            return line[line.index(after: colon)...].split(separator: " ").first.flatMap { Double($0) }
        }
        return nil
    }

    /// The [Service] settings of a unit, each key with its values in order.
    static func settings(_ unit: String) throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        var section = ""
        for raw in try String(contentsOfFile: unitPath(unit), encoding: .utf8).split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") { section = line; continue }
            guard section == "[Service]", let eq = line.firstIndex(of: "=") else { continue }
            out[String(line[..<eq]), default: []].append(String(line[line.index(after: eq)...]))
        }
        return out
    }

    /// CapabilityBoundingSet as systemd reads it: lines add up, an empty one resets.
    static func capabilities(_ unit: String) throws -> Set<String> {
        var caps: Set<String> = []
        for value in try settings(unit)["CapabilityBoundingSet"] ?? [] {
            if value.isEmpty { caps = [] } else { caps.formUnion(value.split(separator: " ").map(String.init)) }
        }
        return caps
    }
}
