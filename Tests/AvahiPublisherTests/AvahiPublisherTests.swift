@testable import AvahiPublisher
import Foundation
import Glibc
import TeamwireCore
import Testing
import TestSupport

private func ip(_ s: String) -> IPv4Address { IPv4Address(s)! }

private let rosType = "_ros-master._tcp"

/// Team iris: robot1 (the ROS master) and robot2, under plain and team-qualified names.
private func iris(master txt: [String] = ["team=iris", "ros_master_uri=http://robot1.iris.local:11311"],
                  robots: [(String, String)] = [("robot1", "100.64.0.2"), ("robot2", "100.64.0.3")]) -> MDNSRecords {
    MDNSRecords(
        hosts: robots.flatMap { name, address in
            [MDNSHost(name: "\(name).local", address: ip(address)), MDNSHost(name: "\(name).iris.local", address: ip(address))]
        },
        services: [MDNSService(name: "ROS master (iris)", type: rosType, host: "robot1.iris.local", port: 11311, txt: txt)])
}

private let alpha = MDNSRecords(hosts: [MDNSHost(name: "rover.alpha.local", address: ip("100.64.1.2"))])

/// Against a real dbus-daemon and avahi-daemon (see AvahiLab), checked with avahi-resolve and
/// avahi-browse. Serialized: the process has one system-bus address.
@Suite("AvahiPublisher on a real avahi-daemon", .serialized)
struct AvahiPublisherTests {
    @Test("two teams' names resolve to their overlay addresses and the ROS master browses with port and TXT")
    func publishes() async throws {
        try await AvahiLab.with { lab in
            let log = LogRecorder()
            let publisher = AvahiPublisher(logger: log.logger)
            defer { publisher.shutdown() }
            publisher.publish("iris", iris())
            publisher.publish("alpha", alpha)

            let all: Set = ["robot1.local", "robot1.iris.local", "robot2.local", "robot2.iris.local", "rover.alpha.local",
                            "ROS master (iris).\(rosType)"]
            #expect(await publisher.waitUntil(timeout: .seconds(15)) { $0.established == all }, "\(publisher.status)")
            #expect(publisher.status.daemon == .running)
            #expect(publisher.status.pending.isEmpty && publisher.status.colliding.isEmpty)

            try lab.expectResolution([
                "robot1.local": ip("100.64.0.2"), "robot1.iris.local": ip("100.64.0.2"),
                "robot2.local": ip("100.64.0.3"), "robot2.iris.local": ip("100.64.0.3"),
                "rover.alpha.local": ip("100.64.1.2"),
            ])
            let found = try lab.expectBrowse(rosType) { !$0.isEmpty }
            #expect(found.count == 1)
            let master = try #require(found.first)
            #expect(master.name == "ROS master (iris)")
            #expect(master.host == "robot1.iris.local", "SRV points at the master's published name, not at this machine")
            #expect(master.address == "100.64.0.2")
            #expect(master.port == 11311)
            #expect(Set(master.txt) == ["team=iris", "ros_master_uri=http://robot1.iris.local:11311"])
            #expect(log.warnings().isEmpty, "\(log.warnings())")
        }
    }

    @Test("a changed set withdraws removed names, adds new ones, updates the TXT; withdraw and shutdown remove the rest")
    func changesAndWithdraws() async throws {
        try await AvahiLab.with { lab in
            let log = LogRecorder()
            let publisher = AvahiPublisher(logger: log.logger)
            defer { publisher.shutdown() }
            publisher.publish("iris", iris())
            publisher.publish("alpha", alpha)
            #expect(await publisher.waitUntil(timeout: .seconds(15)) { $0.established.count == 6 }, "\(publisher.status)")
            try lab.expectResolution(["robot2.iris.local": ip("100.64.0.3")])

            // robot2 left, robot3 joined, the master's TXT changed.
            publisher.publish("iris", iris(master: ["team=iris", "generation=2"], robots: [("robot1", "100.64.0.2"), ("robot3", "100.64.0.4")]))
            #expect(await publisher.waitUntil(timeout: .seconds(15)) {
                $0.established == ["robot1.local", "robot1.iris.local", "robot3.local", "robot3.iris.local", "rover.alpha.local",
                                   "ROS master (iris).\(rosType)"]
            }, "\(publisher.status)")
            try lab.expectResolution(["robot3.local": ip("100.64.0.4"), "robot3.iris.local": ip("100.64.0.4"),
                                      "robot1.iris.local": ip("100.64.0.2")],
                                     gone: ["robot2.local", "robot2.iris.local"])
            try lab.expectBrowse(rosType) { $0.count == 1 && Set($0[0].txt) == ["team=iris", "generation=2"] }
            // Only what differs was touched: robot1 was never published again, the TXT was updated in place.
            #expect(log.count("mDNS: published robot1.iris.local") == 1)
            #expect(log.count("mDNS: published ROS master (iris).\(rosType)") == 1)
            #expect(log.count("mDNS: updated the TXT of ROS master (iris).\(rosType)") == 1)

            publisher.withdraw("iris")
            #expect(await publisher.waitUntil(timeout: .seconds(10)) { $0.established == ["rover.alpha.local"] }, "\(publisher.status)")
            try lab.expectResolution(["rover.alpha.local": ip("100.64.1.2")], gone: ["robot1.local", "robot1.iris.local", "robot3.iris.local"])
            try lab.expectBrowse(rosType) { $0.isEmpty }

            publisher.shutdown()
            #expect(publisher.status.daemon == .stopped)
            try lab.expectResolution([:], gone: ["rover.alpha.local"])
        }
    }

    @Test("names come back by themselves after avahi-daemon is killed and restarted, and after the bus restarts")
    func daemonRestart() async throws {
        try await AvahiLab.with { lab in
            let log = LogRecorder()
            let publisher = AvahiPublisher(logger: log.logger)
            defer { publisher.shutdown() }
            publisher.publish("iris", iris())
            #expect(await publisher.waitUntil(timeout: .seconds(15)) { $0.established.count == 5 }, "\(publisher.status)")
            try lab.expectResolution(["robot1.iris.local": ip("100.64.0.2")])

            lab.stop("home-avahi", signal: SIGKILL)
            #expect(await publisher.waitUntil(timeout: .seconds(10)) { $0.daemon == .notRunning && $0.established.isEmpty }, "\(publisher.status)")
            #expect(log.warnings().contains { $0.contains("lost the connection to avahi-daemon") }, "\(log.warnings())")
            try lab.startDaemon(.home)
            #expect(await publisher.waitUntil(timeout: .seconds(15)) { $0.established.count == 5 }, "\(publisher.status)")
            try lab.expectResolution(["robot1.iris.local": ip("100.64.0.2"), "robot2.local": ip("100.64.0.3")])
            try lab.expectBrowse(rosType) { $0.count == 1 && $0[0].port == 11311 }

            // The bus itself goes away (avahi-daemon exits with it), then both come back.
            lab.stop("home-dbus")
            lab.stop("home-avahi")
            #expect(await publisher.waitUntil(timeout: .seconds(10)) {
                if case .unavailable = $0.daemon { return true } else { return false }
            }, "\(publisher.status)")
            try lab.startBus(.home)
            try lab.startDaemon(.home)
            #expect(await publisher.waitUntil(timeout: .seconds(40)) { $0.established.count == 5 }, "\(publisher.status)")
            try lab.expectResolution(["robot1.iris.local": ip("100.64.0.2")])
        }
    }

    @Test("with no bus and no daemon the publisher warns, keeps going, and publishes once they start")
    func noDaemonAtStart() async throws {
        try await AvahiLab.with(startHome: false) { lab in
            let log = LogRecorder()
            let publisher = AvahiPublisher(logger: log.logger)
            defer { publisher.shutdown() }
            publisher.publish("iris", iris())
            #expect(await publisher.waitUntil(timeout: .seconds(5)) {
                if case .unavailable = $0.daemon { return $0.pending.count == 5 } else { return false }
            }, "\(publisher.status)")
            #expect(log.warnings().contains { $0.contains("system D-Bus") && $0.contains("not published over mDNS") }, "\(log.warnings())")

            try lab.startBus(.home)
            #expect(await publisher.waitUntil(timeout: .seconds(40)) { $0.daemon == .notRunning }, "\(publisher.status)")
            #expect(log.warnings().count == 1, "one warning per outage: \(log.warnings())")
            try await Task.sleep(for: .milliseconds(500))
            #expect(publisher.status.established.isEmpty)

            try lab.startDaemon(.home)
            #expect(await publisher.waitUntil(timeout: .seconds(15)) { $0.established.count == 5 }, "\(publisher.status)")
            try lab.expectResolution(["robot1.local": ip("100.64.0.2"), "robot2.iris.local": ip("100.64.0.3")])
            #expect(log.lines.withLock { $0.allSatisfy { $0.0 < .error } }, "a missing daemon is never an error")
        }
    }

    @Test("a name another host owns is left out with a warning, the others stay published, and it returns when freed")
    func collision() async throws {
        try await AvahiLab.with { lab in
            // The peer is another machine on the LAN that really is robot9 and runs a ROS master too.
            try lab.startBus(.peer)
            try lab.startDaemon(.peer)
            let owner = try lab.spawnClient("owner", on: .peer, ["avahi-publish", "-a", "-R", "robot9.local", "192.0.2.99"])
            let service = try lab.spawnClient("service", on: .peer, ["avahi-publish", "-s", "ROS master (iris)", rosType, "11311"])
            for file in [owner, service] {
                try await waitForFile(file, toContain: "Established")
            }

            let log = LogRecorder()
            let publisher = AvahiPublisher(logger: log.logger, collisionRetry: .seconds(2))
            defer { publisher.shutdown() }
            var records = iris()
            records.hosts.append(MDNSHost(name: "robot9.local", address: ip("100.64.0.9")))
            publisher.publish("iris", records)

            #expect(await publisher.waitUntil(timeout: .seconds(15)) {
                $0.colliding == ["robot9.local"] && $0.established == ["robot1.local", "robot1.iris.local", "robot2.local", "robot2.iris.local",
                                                                       "ROS master (iris) #2.\(rosType)"]
            }, "\(publisher.status)")
            #expect(log.warnings().contains { $0.contains("robot9.local") && $0.contains("in use by another host") }, "\(log.warnings())")
            #expect(log.warnings().contains { $0.contains("ROS master (iris) #2") }, "\(log.warnings())")
            // The real owner keeps its name; ours are there.
            try lab.expectResolution(["robot9.local": ip("192.0.2.99"), "robot1.local": ip("100.64.0.2"), "robot2.iris.local": ip("100.64.0.3")])
            try lab.expectBrowse(rosType) { found in
                found.contains { $0.name == "ROS master (iris) #2" && $0.host == "robot1.iris.local" && $0.port == 11311 }
            }

            // The owner leaves: the next probe finds the name free and it is published.
            lab.stop("owner")
            #expect(await publisher.waitUntil(timeout: .seconds(20)) { $0.established.contains("robot9.local") && $0.colliding.isEmpty },
                    "\(publisher.status)")
            try lab.expectResolution(["robot9.local": ip("100.64.0.9")])
        }
    }

    @Test("this machine's own avahi host name is left to avahi-daemon, which publishes it with the LAN address")
    func ownHostName() async throws {
        try await AvahiLab.with { lab in
            let log = LogRecorder()
            let publisher = AvahiPublisher(logger: log.logger)
            defer { publisher.shutdown() }
            let own = "\(lab.hostName(.home)).local"
            publisher.publish("iris", MDNSRecords(hosts: [MDNSHost(name: own, address: ip("100.64.0.2")),
                                                          MDNSHost(name: "\(lab.hostName(.home)).iris.local", address: ip("100.64.0.2"))]))
            #expect(await publisher.waitUntil(timeout: .seconds(15)) {
                $0.established == ["\(lab.hostName(.home)).iris.local"] && $0.ownHostName == own && $0.pending.isEmpty
            }, "\(publisher.status)")
            try lab.expectResolution([own: ip(lab.address(.home)), "\(lab.hostName(.home)).iris.local": ip("100.64.0.2")])
            #expect(log.warnings().isEmpty, "\(log.warnings())")
        }
    }
}

private func waitForFile(_ path: String, toContain text: String) async throws {
    for _ in 0..<100 {
        if ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").contains(text) { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw LabError("\(path) never said \(text)")
}

@Suite("AvahiPublisher record merging")
struct DesiredRecordsTests {
    @Test("every key's hosts and services, one record per name")
    func merges() {
        let want = DesiredRecords(["iris": iris(), "alpha": alpha])
        #expect(want.records.count == 6)
        #expect(want.records[.host("robot1.iris.local")] == .host(MDNSHost(name: "robot1.iris.local", address: ip("100.64.0.2"))))
        #expect(want.records[.service(name: "ros master (iris)", type: rosType)] != nil)
        #expect(want.conflicts.isEmpty)
    }

    @Test("a name two teams disagree on keeps the first team's address in sort order, and says so")
    func conflict() {
        let a = MDNSRecords(hosts: [MDNSHost(name: "Robot1.local", address: ip("100.64.1.5"))])
        let want = DesiredRecords(["iris": iris(), "alpha": a])
        #expect(want.records[.host("robot1.local")] == .host(MDNSHost(name: "Robot1.local", address: ip("100.64.1.5"))))
        #expect(want.conflicts == ["robot1.local: alpha and iris publish different records; keeping alpha's"])
    }

    @Test("the same record from two teams is no conflict")
    func sameRecord() {
        let shared = MDNSRecords(hosts: [MDNSHost(name: "robot1.local", address: ip("100.64.0.2"))])
        #expect(DesiredRecords(["iris": iris(), "zeta": shared]).conflicts.isEmpty)
    }
}
