import Foundation
import Testing
import TeamwireCore
@testable import Doctor

/// `teamwire doctor`'s findings, case by case, from inputs made here (the command's I/O is
/// exercised in the campus lab).
@Suite("Doctor findings")
struct DoctorTests {
    static let now: Int64 = 1_800_000_000_000
    static let idA = "cc0c73139db5e5a4cbb174094bb1cc5b"
    static let idB = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
    static let idC = "ffeeddccbbaa99887766554433221100"

    static func member(_ name: String, _ last: Int, path: Path = .direct, reachable: Bool = true, handshakeAgo: Int64? = 5_000, machineID: String? = idB) -> MemberStatus {
        MemberStatus(name: name, address: IPv4Address("100.64.0.\(last)")!, role: .robot, path: path, reachable: reachable,
                     peer: PeerStatus(endpoint: Endpoint("192.0.2.\(last + 10):51820"), latestHandshake: handshakeAgo.map { now - $0 }), machineID: machineID)
    }

    static func team(_ members: [MemberStatus] = [member("robot2", 3, machineID: idB), member("laptop", 4, machineID: idC)], machineID: String? = idA,
                     coordinatorError: String? = nil, hubHandshakeAgo: Int64? = 3_000) -> TeamStatus {
        TeamStatus(team: "iris", name: "robot1", address: IPv4Address("100.64.0.2")!, prefix: IPv4Prefix("100.64.0.0/24")!, interface: "tw-iris",
                   backend: "kernel", listenPort: 51820, mode: .auto, revision: 7, coordinatorContact: now - 600_000, coordinatorError: coordinatorError,
                   hub: PeerStatus(endpoint: Endpoint("192.0.2.2:51820"), latestHandshake: hubHandshakeAgo.map { now - $0 }), members: members, machineID: machineID)
    }

    /// The team's ros.env as the agent writes it.
    static let teamEnv: [String: String] = [
        "ROS_IP": "100.64.0.2", "ROS_HOSTNAME": "100.64.0.2", "ROS_DOMAIN_ID": "17", "ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET",
        "ROS_STATIC_PEERS": "100.64.0.3;100.64.0.4",
        "CYCLONEDDS_URI": "file:///var/lib/teamwire/ros/iris/cyclonedds.xml",
        "FASTRTPS_DEFAULT_PROFILES_FILE": "/var/lib/teamwire/ros/iris/fastdds.xml",
        "FASTDDS_DEFAULT_PROFILES_FILE": "/var/lib/teamwire/ros/iris/fastdds.xml",
    ]

    static func input(team: TeamStatus? = team(), env: [String: String] = teamEnv, teamEnv: [String: String]? = teamEnv,
                      pathMTU: [String: PathMTU] = ["robot2": PathMTU(full: 1420, largestPassing: 1420), "laptop": PathMTU(full: 1420, largestPassing: 1420)],
                      interfaceUp: Bool? = true, otherProfiles: [String: String?] = [:], master: Bool? = nil, canary: [String: Int64?]? = nil) -> DoctorInput {
        DoctorInput(team: team, agentProblem: team == nil ? "no teamwire agent is running with state directory /var/lib/teamwire" : nil,
                    interfaceUp: interfaceUp, interfaceMTU: 1420, nowMillis: now, pathMTU: pathMTU, environment: env, teamEnvironment: teamEnv,
                    teamEnvironmentPath: "/var/lib/teamwire/ros/iris/ros.env", otherProfiles: otherProfiles, rosMasterReachable: master, canary: canary)
    }

    static func only(_ fs: [Finding], _ check: String) -> [Finding] { fs.filter { $0.check == check } }

    // MARK: healthy

    @Test func aHealthyTeamIsAllOkAndExitsZero() {
        let fs = Doctor.findings(Self.input(canary: ["robot2": 520, "laptop": 1_234]))
        #expect(fs.allSatisfy { $0.level == .ok }, "\(fs.filter { $0.level != .ok })")
        #expect(fs.exitStatus == 0)
        #expect(fs.allSatisfy { $0.fix == nil })
        for name in ["robot2", "laptop"] {
            #expect(fs.contains { $0.check == "overlay.path" && $0.member == name && $0.message.contains("direct to 192.0.2.") })
            #expect(fs.contains { $0.check == "overlay.mtu" && $0.member == name && $0.message.contains("1420-byte packets") })
            #expect(fs.contains { $0.check == "canary" && $0.member == name })
        }
        #expect(Self.only(fs, "canary").map(\.message) == ["robot2's agent answered the canary in 0.52 ms", "laptop's agent answered the canary in 1.23 ms"])
        #expect(Self.only(fs, "ros.env").map(\.level) == [.ok])
        #expect(Self.only(fs, "machine-id").map(\.message) == ["no two members share a machine id"])
    }

    // MARK: overlay

    @Test func noAgentIsOneProblemAndTheRosChecksStillRun() {
        let fs = Doctor.findings(Self.input(team: nil))
        #expect(Self.only(fs, "overlay.agent").map(\.level) == [.problem])
        #expect(Self.only(fs, "overlay.agent")[0].message.contains("no teamwire agent is running"))
        #expect(!fs.contains { $0.check.hasPrefix("overlay.") && $0.check != "overlay.agent" })
        #expect(fs.contains { $0.check == "ros.env" })
        #expect(fs.exitStatus == 1)
        // The team is named from its ros.env when the agent cannot be asked.
        var named = Self.input(team: nil, env: ["PATH": "/usr/bin"])
        named.teamName = "iris"
        #expect(Self.only(Doctor.findings(named), "ros.env")[0].fix?.contains("teamwire env --team iris") == true)
    }

    @Test func aDownInterfaceIsAProblemAndStopsTheOverlayChecks() {
        let fs = Doctor.findings(Self.input(interfaceUp: false))
        #expect(Self.only(fs, "overlay.interface").map(\.level) == [.problem])
        #expect(Self.only(fs, "overlay.interface")[0].fix?.contains("restart teamwire-agent") == true)
        #expect(Self.only(fs, "overlay.path").isEmpty)
        #expect(fs.exitStatus == 1)
    }

    @Test func anUnansweringCoordinatorIsAWarning() {
        let fs = Doctor.findings(Self.input(team: Self.team(coordinatorError: "cannot reach the coordinator at 192.0.2.2:7946: connection refused")))
        let f = Self.only(fs, "overlay.coordinator")
        #expect(f.map(\.level) == [.warning])
        #expect(f[0].message.contains("10m ago") || f[0].message.contains("10 min"), "\(f[0].message)")
        #expect(fs.exitStatus == 0)
    }

    @Test func pathsNameDirectOrHubAndUnreachableMembersAreProblems() {
        let t = Self.team([Self.member("robot2", 3), Self.member("robot3", 5, path: .relay, handshakeAgo: nil),
                           Self.member("laptop", 4, reachable: false, handshakeAgo: 400_000)])
        let fs = Doctor.findings(Self.input(team: t, pathMTU: [:]))
        let paths = Self.only(fs, "overlay.path")
        #expect(paths.map(\.member) == ["robot2", "robot3", "laptop"])
        #expect(paths[0].level == .ok && paths[0].message == "robot2 (100.64.0.3) is reached direct to 192.0.2.13:51820, handshake 5s ago")
        #expect(paths[1].level == .ok && paths[1].message.contains("via the hub (192.0.2.2:51820)"))
        #expect(paths[2].level == .problem && paths[2].message.contains("does not answer") && paths[2].fix?.contains("teamwire ping laptop") == true)
        // A relayed member's handshake is the hub's (3 s ago): not stale.
        #expect(Self.only(fs, "overlay.handshake").isEmpty)
        #expect(fs.exitStatus == 1)
    }

    @Test func staleOrMissingHandshakesAreWarnings() {
        let t = Self.team([Self.member("robot2", 3, handshakeAgo: 181_000, machineID: nil), Self.member("robot3", 5, handshakeAgo: nil, machineID: nil),
                           Self.member("robot4", 6, handshakeAgo: 179_000, machineID: nil), Self.member("robot5", 7, path: .relay, handshakeAgo: nil, machineID: nil)],
                          hubHandshakeAgo: 500_000)
        let fs = Doctor.findings(Self.input(team: t, pathMTU: [:]))
        #expect(Self.only(fs, "overlay.handshake").map(\.member) == ["robot2", "robot3", "robot5"])
        #expect(Self.only(fs, "overlay.handshake").allSatisfy { $0.level == .warning && $0.fix != nil })
        #expect(Self.only(fs, "overlay.handshake")[2].message.contains("with the hub"))
        #expect(fs.exitStatus == 0)
    }

    @Test func aSmallerPathMTUIsAWarningWithTheLargestSize() {
        let fs = Doctor.findings(Self.input(pathMTU: ["robot2": PathMTU(full: 1420, largestPassing: 1372), "laptop": PathMTU(full: 1420, largestPassing: nil)]))
        let mtu = Self.only(fs, "overlay.mtu")
        #expect(mtu.map(\.level) == [.warning, .warning])
        #expect(mtu[0].message.contains("up to 1372 bytes") && mtu[0].message.contains("not 1420") && mtu[0].message.contains("above 1344 bytes"))
        #expect(mtu[0].fix?.contains("mtu 1372") == true)
        #expect(mtu[1].message.contains("not even the smallest"))
        #expect(fs.exitStatus == 0)
    }

    @Test func theMTUSearchFindsTheLargestPassingSize() {
        func run(_ limit: Int?, full: Int = 1420) -> (PathMTU, [Int]) {
            var s = MTUSearch(full: full)
            var sent: [Int] = []
            while let size = s.next {
                sent.append(size)
                #expect(sent.count < 20, "the search does not end")
                if sent.count >= 20 { break }
                s.record(size, passed: limit.map { size <= $0 } ?? false)
            }
            return (s.result, sent)
        }
        #expect(run(1420) == (PathMTU(full: 1420, largestPassing: 1420), [1420]))
        #expect(run(nil) == (PathMTU(full: 1420, largestPassing: nil), [1420, 52]))
        for limit in [52, 53, 576, 1280, 1372, 1419] {
            let (r, sent) = run(limit)
            #expect(r.largestPassing == limit, "limit \(limit): \(sent)")
            #expect(sent.count <= 14, "limit \(limit): \(sent.count) probes")
        }
        #expect(run(60_000, full: 9000).0.largestPassing == 9000)
    }

    // MARK: ROS

    @Test func anUnreadableTeamEnvironmentIsAProblem() {
        let fs = Doctor.findings(Self.input(teamEnv: nil))
        #expect(Self.only(fs, "ros.env").map(\.level) == [.problem])
        #expect(Self.only(fs, "ros.env")[0].message.contains("/var/lib/teamwire/ros/iris/ros.env"))
    }

    @Test func aShellWithoutTheTeamsEnvironmentIsOneWarning() {
        let fs = Doctor.findings(Self.input(env: ["PATH": "/usr/bin", "HOME": "/root"]))
        let ros = fs.filter { $0.check.hasPrefix("ros.") }
        #expect(ros.map(\.check) == ["ros.env"] && ros[0].level == .warning)
        #expect(ros[0].fix?.contains("eval \"$(teamwire env --team iris)\"") == true && ros[0].fix?.contains("teamwire exec") == true)
        #expect(fs.exitStatus == 0)
    }

    @Test func aWrongOrMissingDomainIsAProblem() {
        var env = Self.teamEnv
        env["ROS_DOMAIN_ID"] = "5"
        let wrong = Self.only(Doctor.findings(Self.input(env: env)), "ros.domain")
        #expect(wrong.map(\.level) == [.problem])
        #expect(wrong[0].message == "ROS_DOMAIN_ID is 5 in this shell, team iris uses 17: ROS 2 here and on the team never see each other")
        #expect(wrong[0].fix?.hasPrefix("export ROS_DOMAIN_ID=17") == true)
        env["ROS_DOMAIN_ID"] = nil
        let missing = Doctor.findings(Self.input(env: env))
        #expect(Self.only(missing, "ros.domain")[0].message.contains("not set (so 0)"))
        #expect(missing.exitStatus == 1)
        #expect(!missing.contains { $0.check == "ros.env" })  // no "all good" beside a problem
    }

    @Test func theMiddlewareIsCheckedOnlyWhenTheTeamSetsIt() {
        var env = Self.teamEnv
        env["RMW_IMPLEMENTATION"] = "rmw_cyclonedds_cpp"
        #expect(Self.only(Doctor.findings(Self.input(env: env)), "ros.rmw").isEmpty)
        var teamEnv = Self.teamEnv
        teamEnv["RMW_IMPLEMENTATION"] = "rmw_fastrtps_cpp"
        let fs = Doctor.findings(Self.input(env: env, teamEnv: teamEnv))
        #expect(Self.only(fs, "ros.rmw").map(\.level) == [.problem])
        #expect(Self.only(fs, "ros.rmw")[0].message.contains("rmw_cyclonedds_cpp in this shell, team iris uses rmw_fastrtps_cpp"))
        env["RMW_IMPLEMENTATION"] = nil
        #expect(Self.only(Doctor.findings(Self.input(env: env, teamEnv: teamEnv)), "ros.rmw")[0].message.contains("not set"))
        env["RMW_IMPLEMENTATION"] = "rmw_fastrtps_cpp"
        #expect(Self.only(Doctor.findings(Self.input(env: env, teamEnv: teamEnv)), "ros.rmw").isEmpty)
    }

    @Test func discoveryOffOrLocalhostWithoutPeersIsAProblem() {
        for (range, peers, expected) in [("OFF", nil, true), ("LOCALHOST", "", true), ("localhost", " ; ", true), ("OFF", "100.64.0.3", false),
                                         ("LOCALHOST", "100.64.0.3;100.64.0.4", false), ("SUBNET", nil, false), ("SYSTEM_DEFAULT", "", false)] {
            var env = Self.teamEnv
            env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = range
            env["ROS_STATIC_PEERS"] = peers
            let f = Self.only(Doctor.findings(Self.input(env: env)), "ros.discovery")
            #expect(f.count == (expected ? 1 : 0), "\(range) \(peers ?? "unset")")
            if expected { #expect(f[0].level == .problem && f[0].message.contains("ros2cli#1168")) }
        }
    }

    @Test func profileVariablesUnsetOrElsewhere() {
        var env = Self.teamEnv
        env["CYCLONEDDS_URI"] = nil
        let unset = Self.only(Doctor.findings(Self.input(env: env)), "ros.profile")
        #expect(unset.map(\.level) == [.warning] && unset[0].message.hasPrefix("CYCLONEDDS_URI is not set") && unset[0].message.contains("multicast"))

        // Another file that names nothing of its own: a warning saying which.
        env["CYCLONEDDS_URI"] = "file:///home/ros/my.xml"
        let other = Self.only(Doctor.findings(Self.input(env: env, otherProfiles: ["/home/ros/my.xml": "<CycloneDDS><Domain/></CycloneDDS>"])), "ros.profile")
        #expect(other.map(\.level) == [.warning] && other[0].message.contains("points at /home/ros/my.xml, not team iris's"))
        // The same file, unreadable: still the warning.
        #expect(Self.only(Doctor.findings(Self.input(env: env, otherProfiles: ["/home/ros/my.xml": nil])), "ros.profile").map(\.level) == [.warning])

        // It binds another interface: a problem naming it.
        let eth0 = #"<CycloneDDS><Domain><General><Interfaces><NetworkInterface name="eth0" priority="default"/></Interfaces></General></Domain></CycloneDDS>"#
        let bound = Self.only(Doctor.findings(Self.input(env: env, otherProfiles: ["/home/ros/my.xml": eth0])), "ros.profile")
        #expect(bound.map(\.level) == [.problem])
        #expect(bound[0].message.contains("binds eth0, not the overlay (tw-iris, 100.64.0.2)"))
        // Binding the overlay's interface (and loopback) is fine: only the warning about the file.
        let overlay = #"<CycloneDDS><Domain><General><Interfaces><NetworkInterface name="tw-iris"/><NetworkInterface address="127.0.0.1"/></Interfaces></General></Domain></CycloneDDS>"#
        #expect(Self.only(Doctor.findings(Self.input(env: env, otherProfiles: ["/home/ros/my.xml": overlay])), "ros.profile").map(\.level) == [.warning])
        // Inline XML in CYCLONEDDS_URI, after the team's file.
        env["CYCLONEDDS_URI"] = Self.teamEnv["CYCLONEDDS_URI"]! + ",<General><NetworkInterfaceAddress>192.0.2.11</NetworkInterfaceAddress></General>"
        let inline = Self.only(Doctor.findings(Self.input(env: env)), "ros.profile")
        #expect(inline.map(\.level) == [.problem] && inline[0].message.contains("inline XML") && inline[0].message.contains("binds 192.0.2.11"))
        // The team's own file named as a plain path is the team's file.
        env["CYCLONEDDS_URI"] = "/var/lib/teamwire/ros/iris/cyclonedds.xml"
        #expect(Self.only(Doctor.findings(Self.input(env: env)), "ros.profile").isEmpty)
    }

    @Test func fastDDSProfilesThatBindAnotherInterface() {
        var env = Self.teamEnv
        env["FASTDDS_DEFAULT_PROFILES_FILE"] = "/etc/fastdds/wlan.xml"
        env["FASTRTPS_DEFAULT_PROFILES_FILE"] = "/etc/fastdds/wlan2.xml"
        let v3 = #"<dds><profiles><transport_descriptors><transport_descriptor><transport_id>u</transport_id><type>UDPv4</type><interfaces><allowlist><interface name="wlan0" netmask_filter="AUTO"/></allowlist></interfaces></transport_descriptor></transport_descriptors></profiles></dds>"#
        let v2 = #"<profiles><transport_descriptors><transport_descriptor><interfaceWhiteList><address>192.0.2.11</address><address>127.0.0.1</address></interfaceWhiteList></transport_descriptor></transport_descriptors></profiles>"#
        let fs = Self.only(Doctor.findings(Self.input(env: env, otherProfiles: ["/etc/fastdds/wlan.xml": v3, "/etc/fastdds/wlan2.xml": v2])), "ros.profile")
        #expect(fs.map(\.level) == [.problem, .problem])
        #expect(fs[0].message.hasPrefix("FASTRTPS_DEFAULT_PROFILES_FILE points at /etc/fastdds/wlan2.xml") && fs[0].message.contains("binds 192.0.2.11,") && fs[0].message.contains("Fast DDS 2"))
        #expect(fs[1].message.hasPrefix("FASTDDS_DEFAULT_PROFILES_FILE points at /etc/fastdds/wlan.xml") && fs[1].message.contains("binds wlan0,") && fs[1].message.contains("Fast DDS 3"))
    }

    @Test func theProfileScanFindsInterfacesAndAddresses() {
        #expect(ProfileInterfaces.named(in: #"<NetworkInterface name="eth0"/><NetworkInterface address='10.1.2.3' /><a:NetworkInterface name="wlan0"></a:NetworkInterface>"#)
                == ["eth0", "10.1.2.3", "wlan0"])
        #expect(ProfileInterfaces.named(in: "<NetworkInterfaceAddress> eth1 </NetworkInterfaceAddress>") == ["eth1"])
        #expect(ProfileInterfaces.named(in: "<interfaceWhiteList><address>1.2.3.4</address><interface>enp3s0</interface></interfaceWhiteList><address>9.9.9.9</address>")
                == ["1.2.3.4", "enp3s0"])  // an address outside the whitelist is a peer, not a binding
        #expect(ProfileInterfaces.named(in: "<unterminated name=\"x\"").isEmpty)
        #expect(ProfileInterfaces.named(in: "<<<>>>< =\"\" <interface name=").isEmpty)
        #expect(ProfileInterfaces.foreign(["tw-iris", "100.64.0.2", "lo", "127.0.0.1", "localhost", "eth0"], interface: "tw-iris",
                                          address: IPv4Address("100.64.0.2")!) == ["eth0"])
    }

    @Test func theRos1Master() {
        var teamEnv = Self.teamEnv
        teamEnv["ROS_MASTER_URI"] = "http://100.64.0.3:11311"
        var env = Self.teamEnv
        env["ROS_MASTER_URI"] = "http://100.64.0.3:11311"
        let down = Self.only(Doctor.findings(Self.input(env: env, teamEnv: teamEnv, master: false)), "ros.master")
        #expect(down.map(\.level) == [.problem])
        #expect(down[0].message.contains("robot2 (http://100.64.0.3:11311) does not answer") && down[0].fix?.contains("set-ros-master iris") == true)
        #expect(Self.only(Doctor.findings(Self.input(env: env, teamEnv: teamEnv, master: true)), "ros.master").map(\.level) == [.ok])
        // This node is the master.
        teamEnv["ROS_MASTER_URI"] = "http://100.64.0.2:11311"
        env["ROS_MASTER_URI"] = "http://localhost:11311"
        let mine = Self.only(Doctor.findings(Self.input(env: env, teamEnv: teamEnv, master: true)), "ros.master")
        #expect(mine.map(\.level) == [.ok, .warning])
        #expect(mine[0].message.contains("robot1 (http://100.64.0.2:11311) answers"))
        #expect(mine[1].message.contains("http://localhost:11311 in this shell"))
        // No master designated: nothing to say.
        #expect(Self.only(Doctor.findings(Self.input()), "ros.master").isEmpty)
    }

    // MARK: machine ids

    @Test func membersSharingAMachineIDAreOneProblemNamingThem() {
        let t = Self.team([Self.member("robot2", 3, machineID: Self.idA), Self.member("laptop", 4, machineID: Self.idC)])
        let fs = Doctor.findings(Self.input(team: t))
        let f = Self.only(fs, "machine-id")
        #expect(f.map(\.level) == [.problem])
        #expect(f[0].message.hasPrefix("robot1 and robot2 share one /etc/machine-id (this node among them)"))
        #expect(f[0].message.contains("Fast DDS 3 (ROS 2 Kilted and later) takes them for one host"))
        #expect(f[0].fix?.contains("rm /etc/machine-id && sudo systemd-machine-id-setup") == true && f[0].fix?.contains("restart teamwire-agent") == true)
        #expect(fs.exitStatus == 1)
        // Other members sharing one among themselves; three of them.
        let others = Self.team([Self.member("robot2", 3, machineID: Self.idC), Self.member("robot3", 5, machineID: Self.idC),
                                Self.member("laptop", 4, machineID: Self.idC)])
        let g = Self.only(Doctor.findings(Self.input(team: others, pathMTU: [:])), "machine-id")
        #expect(g.map { String($0.message.prefix(40)) } == ["laptop, robot2 and robot3 share one /etc"])
        #expect(!g[0].message.contains("this node"))
    }

    @Test func missingMachineIDs() {
        let mine = Self.only(Doctor.findings(Self.input(team: Self.team(machineID: nil))), "machine-id")
        #expect(mine.map(\.level) == [.warning] && mine[0].message.hasPrefix("this node reports no machine id"))
        let old = Self.only(Doctor.findings(Self.input(team: Self.team([Self.member("robot2", 3, machineID: nil)]), pathMTU: [:])), "machine-id")
        #expect(old.map(\.level) == [.ok] && old[0].message.contains("robot2 reports none: an older agent"))
    }

    // MARK: canary

    @Test func theCanary() {
        #expect(Self.only(Doctor.findings(Self.input()), "canary").isEmpty)  // not asked for
        let answers: [String: Int64?] = ["robot2": 800, "laptop": Int64?.none]
        let fs = Doctor.findings(Self.input(canary: answers))
        let c = Self.only(fs, "canary")
        #expect(c.map(\.level) == [.ok, .problem])
        #expect(c[1].member == "laptop" && c[1].message.contains("did not answer the canary (UDP 7948 to 100.64.0.4"))
        #expect(fs.exitStatus == 1)
        #expect(Self.only(Doctor.findings(Self.input(team: Self.team([]), pathMTU: [:], canary: [:])), "canary").map(\.level) == [.ok])
    }

    // MARK: output

    @Test func jsonHasEveryKeyInAStableOrder() throws {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        let ok = String(decoding: try e.encode(Finding("overlay.agent", .ok, "joined")), as: UTF8.self)
        #expect(ok == #"{"check":"overlay.agent","fix":null,"level":"ok","member":null,"message":"joined"}"#)
        let bad = Finding("canary", .problem, member: "robot2", "no answer", fix: "check")
        #expect(try JSONDecoder().decode(Finding.self, from: e.encode(bad)) == bad)
        #expect(bad.text == "problem  no answer\n         fix: check")
        #expect([Finding]().exitStatus == 0 && [Finding("x", .warning, "w")].exitStatus == 0 && [Finding("x", .problem, "p")].exitStatus == 1)
    }
}
