import Foundation
import RosBridge
import Testing
import TeamwireCore

/// The generated Zenoh files against the real Zenoh (`eclipse-zenoh` from PyPI, the Rust library
/// rmw_zenoh_cpp links, installed by scripts/setup-debian), in two network namespaces whose link
/// carries no multicast, like WireGuard. Needs root; never skipped.
@Suite("Zenoh configs with the real Zenoh", .serialized)
struct RealZenohTests {
    static let python = "/opt/teamwire-zenoh/bin/python"

    /// One member: its router from ROUTER (unless "-"), then a session from SESSION ("default":
    /// Zenoh's defaults) that publishes on KEY for SECONDS (role pub) or exits 0 at the first
    /// sample and 1 after SECONDS without one (role sub). Prints the TCP listeners once up.
    static let program = """
        import os, subprocess, sys, time, zenoh
        router_file, session_file, role, key, seconds = sys.argv[1:6]
        zenoh.init_log_from_env_or("error")
        router = zenoh.open(zenoh.Config.from_file(router_file)) if router_file != "-" else None
        session = zenoh.open(zenoh.Config() if session_file == "default" else zenoh.Config.from_file(session_file))
        time.sleep(0.5)
        for line in subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout.splitlines():
            print("listen:", line.split()[3], flush=True)
        end = time.time() + float(seconds)
        if role == "pub":
            publisher = session.declare_publisher(key)
            while time.time() < end:
                publisher.put("hello")
                time.sleep(0.1)
            os._exit(0)
        heard = []
        subscriber = session.declare_subscriber(key, lambda s: heard.append(s.payload.to_string()))
        while time.time() < end and not heard:
            time.sleep(0.1)
        print("heard:", heard[:1], flush=True)
        os._exit(0 if heard else 1)
        """

    /// A and B, and a robot that is off (no host has its address; it sorts first in every list).
    static func context(_ lab: OverlayLab, selfIsA: Bool, bRole: Role, directory: URL) -> RosContext {
        let a = member("robot-a", OverlayLab.addressA), b = member("member-b", OverlayLab.addressB, bRole)
        let me = selfIsA ? a : b
        return RosContext(team: "lab", selfName: me.name, selfAddress: me.address, members: [b, a, member("robot-off", "100.64.0.1")], rosMaster: nil,
                          rosDomainID: 0, interfaceName: lab.interface, mtu: 1420, directory: directory.path,
                          participantsPerHost: 32, selfRole: me.role)
    }

    /// Writes the member's files; returns (router path or "-", session path).
    static func files(_ c: RosContext, in dir: URL) throws -> (router: String, session: String) {
        let sub = dir.appendingPathComponent(c.selfName)
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        var router = "-"
        for f in RosOutputs.render(c) where f.name.hasPrefix("zenoh-") {
            let url = try f.contents.write(to: sub, name: f.name)
            if f.name == ZenohConfig.routerFileName { router = url.path }
        }
        return (router, sub.appendingPathComponent(ZenohConfig.sessionFileName).path)
    }

    /// A publisher in A and a subscriber in B, each started from its files (or the defaults).
    static func exchange(_ lab: OverlayLab, a: (router: String, session: String), b: (router: String, session: String),
                         seconds: Int) throws -> (pub: (status: Int32, out: String), sub: (status: Int32, out: String)) {
        let sub = try lab.command(in: lab.nsB, [python, "-c", program, b.router, b.session, "sub", "lab/chatter", String(seconds)]).start()
        let pub = try lab.command(in: lab.nsA, [python, "-c", program, a.router, a.session, "pub", "lab/chatter", String(seconds)]).start()
        return (pub.wait(), sub.wait())
    }

    @Test("robot A and a robot or laptop B (a third robot off, first in their lists): A's router listens on loopback and its overlay address only, and a sample crosses", arguments: [Role.robot, .laptop])
    func crosses(bRole: Role) async throws {
        try await OverlayLab.with { lab in
            try await withTemporaryDirectory { dir in
                let a = try Self.files(Self.context(lab, selfIsA: true, bRole: bRole, directory: dir), in: dir)
                let b = try Self.files(Self.context(lab, selfIsA: false, bRole: bRole, directory: dir), in: dir)
                #expect((b.router == "-") == (bRole == .laptop))
                #expect(try String(contentsOfFile: b.router == "-" ? b.session : b.router, encoding: .utf8)
                    .contains("[\"tcp/100.64.0.1:7447\", \"tcp/\(OverlayLab.addressA):7447\"]"))
                let r = try Self.exchange(lab, a: a, b: b, seconds: 10)
                #expect(r.sub.status == 0, "B (\(bRole)) heard nothing:\n\(r.sub.out)\nA:\n\(r.pub.out)")
                let listeners = Set(r.pub.out.split(separator: "\n").filter { $0.hasPrefix("listen: ") }.map { String($0.dropFirst(8)) })
                // The router's two, and the robot session's own loopback listener (any port).
                #expect(listeners.contains("127.0.0.1:7447") && listeners.contains("\(OverlayLab.addressA):7447"), "\(listeners)")
                #expect(listeners.allSatisfy { $0.hasPrefix("127.0.0.1:") || $0 == "\(OverlayLab.addressA):7447" }, "a wildcard or another address: \(listeners)")
            }
        }
    }

    @Test("control: Zenoh's defaults (multicast scouting) find nothing across a link without multicast")
    func defaultsFindNothing() async throws {
        try await OverlayLab.with { lab in
            let r = try Self.exchange(lab, a: ("-", "default"), b: ("-", "default"), seconds: 6)
            #expect(r.sub.status == 1, "defaults crossed:\n\(r.sub.out)")
            #expect(r.sub.out.contains("heard: []"), "the subscriber did not run:\n\(r.sub.out)")
        }
    }

    /// A subscriber that exits 0 at the first sample heard once MARKER exists, 1 after SECONDS.
    static let afterMarker = """
        import os, sys, time, zenoh
        router_file, session_file, key, marker, seconds = sys.argv[1:6]
        zenoh.init_log_from_env_or("error")
        router = zenoh.open(zenoh.Config.from_file(router_file))
        session = zenoh.open(zenoh.Config.from_file(session_file))
        heard = []
        subscriber = session.declare_subscriber(key, lambda s: heard.append(os.path.exists(marker)))
        end = time.time() + float(seconds)
        while time.time() < end and not any(heard):
            time.sleep(0.1)
        print("heard", len(heard), "samples,", sum(heard), "after the marker", flush=True)
        os._exit(0 if any(heard) else 1)
        """

    @Test("after an outage longer than Zenoh's lease, the member that joined later (its file lists the other) restores the link")
    func reconnects() async throws {
        try await OverlayLab.with { lab in
            try await withTemporaryDirectory { dir in
                // A's router started before B joined: its file lists nobody. B's lists A.
                var early = Self.context(lab, selfIsA: true, bRole: .robot, directory: dir)
                early.members = [member("robot-a", OverlayLab.addressA)]
                let a = try Self.files(early, in: dir)
                let b = try Self.files(Self.context(lab, selfIsA: false, bRole: .robot, directory: dir), in: dir)
                #expect(!(try String(contentsOfFile: a.router, encoding: .utf8)).contains(OverlayLab.addressB))
                let marker = dir.appendingPathComponent("link-back").path
                let sub = try lab.command(in: lab.nsA, [Self.python, "-c", Self.afterMarker, a.router, a.session, "lab/chatter", marker, "50"]).start()
                let pub = try lab.command(in: lab.nsB, [Self.python, "-c", Self.program, b.router, b.session, "pub", "lab/chatter", "50"]).start()
                defer { kill(pub.pid, SIGTERM); _ = pub.wait() }
                try await Task.sleep(for: .seconds(5))
                // 15 s without the link: past the 10 s lease, both ends close the session.
                try Command(args: ["ip", "-n", lab.nsA, "link", "set", lab.interface, "down"]).run()
                try await Task.sleep(for: .seconds(15))
                try Command(args: ["ip", "-n", lab.nsA, "link", "set", lab.interface, "up"]).run()
                FileManager.default.createFile(atPath: marker, contents: nil)
                let r = sub.wait()
                #expect(r.status == 0, "A heard nothing over the restored link:\n\(r.out)")
            }
        }
    }
}
