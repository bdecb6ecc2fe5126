import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `scripts/package` and the .deb it makes, installed with the real dpkg on a scratch machine.
/// The tests package the debug build they already have (same link settings as release).
@Suite("The Debian package", .serialized)
struct DebianPackageTests {
    /// Builds the .deb once per test from the debug products, uncompressed.
    static func package(version: String, into dir: String) throws -> String {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let r = try run([Install.repo + "/scripts/package", "--configuration", "debug", "--skip-build", "--fast",
                         "--version", version, "--output", dir])
        let arch = try run(["dpkg", "--print-architecture"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        let deb = "\(dir)/teamwire_\(version)_\(arch).deb"
        #expect(FileManager.default.fileExists(atPath: deb), "\(r.out)")
        return deb
    }

    /// Under /var/tmp: the scratch machine sees the host's /var (its /tmp is its own).
    static func temporaryDirectory(_ tag: String) -> String { "/var/tmp/tw-deb-\(tag)-\(getpid())" }

    @Test("the package holds the binaries, units, defaults and ROS package, with the right metadata")
    func contents() throws {
        let dir = Self.temporaryDirectory("contents")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let deb = try Self.package(version: "0.2.0", into: dir)

        let info = try run(["dpkg-deb", "--field", deb, "Package", "Version", "Depends", "Recommends"]).out
        #expect(info.contains("Package: teamwire"))
        #expect(info.contains("Version: 0.2.0"))
        // Every shared library the binaries load comes from a package it depends on.
        for dep in ["libsodium23", "libmnl0", "libavahi-client3", "libsqlite3-0", "libc6"] {
            #expect(info.contains(dep), "Depends lacks \(dep): \(info)")
        }
        #expect(!info.contains("swift"), "a robot has no Swift package to depend on: \(info)")
        #expect(info.contains("wireguard-go"), "\(info)")

        let listing = try run(["dpkg-deb", "--contents", deb]).out
        func entry(_ path: String) -> Substring? {
            listing.split(separator: "\n").first { $0.hasSuffix(" ./" + path) || $0.hasSuffix(" ./" + path + "/") }
        }
        for (path, mode) in [("usr/bin/teamwire", "-rwxr-xr-x"), ("usr/bin/teamwire-agent", "-rwxr-xr-x"),
                             ("lib/systemd/system/teamwire-agent.service", "-rw-r--r--"),
                             ("lib/systemd/system/teamwire-coordinator.service", "-rw-r--r--"),
                             ("etc/default/teamwire-agent", "-rw-r--r--"), ("etc/default/teamwire-coordinator", "-rw-r--r--"),
                             ("usr/share/doc/teamwire/examples/teamwire-ros.service", "-rw-r--r--"),
                             ("usr/share/teamwire_ros/package.xml", "-rw-r--r--"),
                             ("usr/share/teamwire_ros/nodes/agent", "-rwxr-xr-x")] {
            let line = try #require(entry(path), "\(path) is not in the package")
            #expect(line.hasPrefix(mode) && line.contains("root/root"), "\(line)")
        }
        let conffiles = try run(["sh", "-c", "dpkg-deb --ctrl-tarfile \"$0\" | tar -xO ./conffiles", deb]).out
        #expect(conffiles.split(separator: "\n").sorted() == ["/etc/default/teamwire-agent", "/etc/default/teamwire-coordinator"])
    }

    @Test("dpkg installs it, the agent unit's command line runs from it, and purge leaves nothing")
    func installRunPurge() throws {
        try #require(Install.isRoot, "dpkg and the scratch machine's namespaces need root")
        let dir = Self.temporaryDirectory("install")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let deb = try Self.package(version: "0.2.0", into: dir)
        let machine = try ScratchRoot("install")
        defer { machine.close() }
        try machine.forgetTeamwire()

        let install = try machine.exec(["dpkg", "--install", deb], check: false)
        #expect(install.status == 0, "\(install.out)")
        #expect(try machine.exec(["dpkg-query", "--show", "--showformat", "${Status} ${Version}", "teamwire"]).out
                == "install ok installed 0.2.0")
        #expect(try machine.exec(["/usr/bin/teamwire", "--version"]).out.hasPrefix("0.2.0"))
        // postinst made the groups; it enabled and started nothing.
        for group in ["teamwire", "teamwire-admin"] {
            #expect(try machine.exec(["getent", "group", group], check: false).status == 0, "no group \(group)")
        }
        #expect(try machine.exec(["test", "-e", "/var/lib/teamwire"], check: false).status != 0, "the agent ran at install")
        #expect(try machine.sh("ls /etc/systemd/system/*.wants/teamwire* 2>/dev/null", check: false).out.isEmpty)
        // ROS 1 finds the package where Debian's ROS packages are, with Debian's own path.
        let found = try machine.exec(["env", "ROS_PACKAGE_PATH=/usr/share", "/usr/bin/python3", "-c",
                                      "import rospkg; print(rospkg.RosPack().get_path('teamwire_ros'))"], check: false)
        #expect(found.out == "/usr/share/teamwire_ros\n", "\(found.out)")

        // The agent unit's command line, as systemd would run it: its EnvironmentFile, its
        // StateDirectory and RuntimeDirectory.
        let unit = try machine.exec(["cat", "/lib/systemd/system/teamwire-agent.service"]).out
        let execStart = try #require(unit.split(separator: "\n").first { $0.hasPrefix("ExecStart=") }?.dropFirst("ExecStart=".count))
        let agent = try machine.spawn(["sh", "-c", "set -a; . /etc/default/teamwire-agent; set +a; "
                                       + "install -d -m 0711 /var/lib/teamwire; install -d /run/wireguard; exec \(execStart)"])
        var answered = false
        for _ in 0..<100 {
            if try machine.exec(["/usr/bin/teamwire", "status"], check: false).out.contains("not joined") { answered = true; break }
            usleep(100_000)
        }
        kill(agent.pid, SIGTERM)
        let stopped = agent.wait()
        #expect(answered, "the agent from the package never answered: \(stopped.out)")
        #expect(stopped.status == 0, "the agent's exit on SIGTERM: \(stopped.status)\n\(stopped.out)")

        let purge = try machine.exec(["dpkg", "--purge", "teamwire"], check: false)
        #expect(purge.status == 0, "\(purge.out)")
        #expect(try machine.exec(["dpkg-query", "--show", "teamwire"], check: false).status != 0)
        for path in ["/usr/bin/teamwire", "/usr/bin/teamwire-agent", "/lib/systemd/system/teamwire-agent.service",
                     "/etc/default/teamwire-agent", "/usr/share/teamwire_ros", "/usr/share/doc/teamwire", "/var/lib/teamwire"] {
            #expect(try machine.exec(["test", "-e", path], check: false).status != 0, "\(path) outlived the purge")
        }
        // Nothing named teamwire is left in what the machine wrote (whiteouts, the overlay's
        // marks for deleted files, are character devices), but the groups in /etc.
        let left = try run(["find", machine.upper, "-name", "*teamwire*", "!", "-type", "c"]).out
        #expect(left.isEmpty, "left after purge:\n\(left)")
    }
}
