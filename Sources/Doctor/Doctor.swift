import TeamwireCore

/// `teamwire doctor`'s findings from what it gathered: the overlay, the caller's ROS
/// environment against the team's, machine ids, and the canary. Pure: every input is in
/// `DoctorInput`, so each case is tested without a network.
public enum Doctor {
    /// How old a handshake may be while traffic flows: WireGuard re-keys every 2 minutes and
    /// rejects a session after 3 (REJECT_AFTER_TIME).
    public static let staleHandshakeMillis: Int64 = 180_000

    public static func findings(_ i: DoctorInput) -> [Finding] {
        overlay(i) + ros(i) + machineIDs(i) + canary(i)
    }

    static let restartAgent = "sudo systemctl restart teamwire-agent (or start `sudo teamwire agent`)"
    static func eval(_ team: String) -> String { "eval \"$(teamwire env --team \(team))\" in this shell, or run ROS programs with `teamwire exec -- COMMAND`" }

    // MARK: overlay

    static func overlay(_ i: DoctorInput) -> [Finding] {
        guard let t = i.team else {
            return [Finding("overlay.agent", .problem, i.agentProblem ?? "no team to check",
                            fix: "start the agent (sudo systemctl start teamwire-agent) and join the team (sudo teamwire join TOKEN)")]
        }
        var out = [Finding("overlay.agent", .ok, "joined team \(t.team) as \(t.name) (\(t.address)/\(t.prefix.length)), agent \(t.backend == "kernel" ? "on kernel WireGuard" : "on wireguard-go")")]
        if let e = t.coordinatorError {
            out.append(Finding("overlay.coordinator", .warning,
                               "the coordinator has not answered since \(DurationText.ago(millis: t.coordinatorContact ?? 0, nowMillis: i.nowMillis)) (\(e)): tunnels stay up, but new members and changes wait for it",
                               fix: "check that the coordinator runs and that this node reaches it (`teamwire status` says where it asks)"))
        }
        switch i.interfaceUp {
        case false?:
            out.append(Finding("overlay.interface", .problem, "interface \(t.interface) is missing or down: nothing crosses the overlay", fix: restartAgent))
            return out
        case true?:
            out.append(Finding("overlay.interface", .ok, "interface \(t.interface) is up" + (i.interfaceMTU.map { ", MTU \($0)" } ?? "")))
        case nil: break
        }
        if t.members.isEmpty { out.append(Finding("overlay.path", .ok, "team \(t.team) has no other member yet")) }
        for m in t.members {
            let relayed = m.path == .relay
            let handshake = relayed ? t.hub.latestHandshake : m.peer.latestHandshake
            let age = handshake.map { i.nowMillis.subtractingReportingOverflow($0).partialValue }
            let ageText = handshake.map { "handshake \(DurationText.ago(millis: $0, nowMillis: i.nowMillis))" } ?? "no handshake yet"
            let way = relayed ? "via the hub" + (t.hub.endpoint.map { " (\($0))" } ?? "") : "direct" + (m.peer.endpoint.map { " to \($0)" } ?? "")
            guard m.reachable else {
                out.append(Finding("overlay.path", .problem, member: m.name, "\(m.name) (\(m.address)) does not answer \(way), \(ageText)",
                                   fix: "check that \(m.name) is on, on the network and its agent runs (`teamwire status` there); `teamwire ping \(m.name)` shows each probe's path"))
                continue
            }
            out.append(Finding("overlay.path", .ok, member: m.name, "\(m.name) (\(m.address)) is reached \(way), \(ageText)"))
            if age.map({ $0 > staleHandshakeMillis }) ?? true {
                out.append(Finding("overlay.handshake", .warning, member: m.name,
                                   "the last handshake \(relayed ? "with the hub" : "with \(m.name)") is \(handshake == nil ? "missing" : "older than 3 min"): no traffic has crossed \(relayed ? "the hub" : "directly") since",
                                   fix: "`teamwire ping \(m.name)`; if it gets no answer, check \(m.name)'s agent and the network between"))
            }
            if let p = i.pathMTU[m.name] {
                out.append(mtuFinding(m.name, p, interface: t.interface))
            }
        }
        return out
    }

    static func mtuFinding(_ name: String, _ p: PathMTU, interface: String) -> Finding {
        guard let largest = p.largestPassing else {
            return Finding("overlay.mtu", .warning, member: name, "no probe with DF set came back from \(name), not even the smallest",
                           fix: "`teamwire ping \(name)`: ICMP echo may be filtered on \(name) (net.ipv4.icmp_echo_ignore_all)")
        }
        if largest >= p.full {
            return Finding("overlay.mtu", .ok, member: name, "\(p.full)-byte packets with DF reach \(name) and come back (the MTU of \(interface))")
        }
        return Finding("overlay.mtu", .warning, member: name,
                       "only packets up to \(largest) bytes reach \(name) through the tunnel, not \(p.full) (the MTU of \(interface)): the network between drops larger or fragmented WireGuard packets, so DDS samples above \(largest - MTUSearch.overhead) bytes are lost",
                       fix: "make the path between carry 1500-byte packets (or let it fragment them), or lower the MTU on every member: sudo ip link set \(interface) mtu \(largest)")
    }

    // MARK: ROS

    static let profileVariables = ["CYCLONEDDS_URI", "FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE"]

    static func ros(_ i: DoctorInput) -> [Finding] {
        let teamName = (i.team?.team ?? i.teamName).map { "team \($0)" } ?? "the team"
        guard let team = i.teamEnvironment else {
            return [Finding("ros.env", .problem, "cannot read \(teamName)'s ROS environment \(i.teamEnvironmentPath)" + (i.teamEnvironmentProblem.map { " (\($0))" } ?? ""),
                            fix: "the agent writes it once the team is up: check `teamwire status`, then \(restartAgent)")]
        }
        var out: [Finding] = []
        let env = i.environment
        let t = i.team?.team ?? i.teamName ?? "TEAM"
        if let uri = team["ROS_MASTER_URI"], let reachable = i.rosMasterReachable {
            let host = masterHost(uri)
            let who = i.team.flatMap { st in
                st.address.description == host ? st.name : st.members.first { $0.address.description == host }?.name
            }
            let name = who.map { "\($0) (\(uri))" } ?? uri
            out.append(reachable
                ? Finding("ros.master", .ok, "the ROS master \(name) answers")
                : Finding("ros.master", .problem, "the ROS master \(name) does not answer: ROS 1 nodes cannot register or find each other",
                          fix: "start roscore on \(who ?? "the master") (`teamwire exec -- roscore`), or have an admin designate another: teamwire node set-ros-master \(t) NAME"))
        }
        let names = team.keys
        guard names.contains(where: { env[$0] != nil }) else {
            out.append(Finding("ros.env", .warning, "this shell has none of team \(t)'s ROS environment: ROS programs started from it will not find the team",
                               fix: eval(t)))
            return out
        }
        let before = out.count
        let domain = team["ROS_DOMAIN_ID"]
        if let domain, (env["ROS_DOMAIN_ID"] ?? "0") != domain {
            out.append(Finding("ros.domain", .problem,
                               "ROS_DOMAIN_ID is \(env["ROS_DOMAIN_ID"].map { "\($0)" } ?? "not set (so 0)") in this shell, team \(t) uses \(domain): ROS 2 here and on the team never see each other",
                               fix: "export ROS_DOMAIN_ID=\(domain), or " + eval(t)))
        }
        if let rmw = team["RMW_IMPLEMENTATION"], env["RMW_IMPLEMENTATION"] != rmw {
            out.append(Finding("ros.rmw", .problem,
                               "RMW_IMPLEMENTATION is \(env["RMW_IMPLEMENTATION"] ?? "not set (so ROS's default)") in this shell, team \(t) uses \(rmw): different middlewares do not talk to each other",
                               fix: "export RMW_IMPLEMENTATION=\(rmw), or " + eval(t)))
        }
        let range = env["ROS_AUTOMATIC_DISCOVERY_RANGE"]?.uppercased()
        let peers = (env["ROS_STATIC_PEERS"] ?? "").split(separator: ";").filter { !$0.trimmingBlanks.isEmpty }
        if let range, range == "OFF" || range == "LOCALHOST", peers.isEmpty {
            out.append(Finding("ros.discovery", .problem,
                               "ROS_AUTOMATIC_DISCOVERY_RANGE is \(range) and ROS_STATIC_PEERS is empty: ROS 2 here finds no other host, and `ros2 topic list` is silently empty (ros2cli#1168)",
                               fix: "unset ROS_AUTOMATIC_DISCOVERY_RANGE, or " + eval(t) + " (SUBNET with the team's members as static peers)"))
        }
        for v in profileVariables {
            guard let theirs = team[v] else { continue }
            out += profileFindings(v, mine: env[v], theirs: theirs, i)
        }
        if let uri = team["ROS_MASTER_URI"], let mine = env["ROS_MASTER_URI"], mine != uri {
            out.append(Finding("ros.master", .warning, "ROS_MASTER_URI is \(mine) in this shell, team \(t)'s master is \(uri): ROS 1 nodes here register elsewhere",
                               fix: "export ROS_MASTER_URI=\(uri), or " + eval(t)))
        }
        if out.count == before {
            out.append(Finding("ros.env", .ok, "this shell has team \(t)'s ROS environment (ROS_DOMAIN_ID \(domain ?? "-"), the team's DDS files)"))
        }
        return out
    }

    static func masterHost(_ uri: String) -> String {
        var s = Substring(uri)
        if let r = s.firstRange(of: "://") { s = s[r.upperBound...] }
        return String(s.prefix { $0 != ":" && $0 != "/" })
    }

    static func middleware(_ variable: String) -> String {
        switch variable {
        case "CYCLONEDDS_URI": "CycloneDDS"
        case "FASTRTPS_DEFAULT_PROFILES_FILE": "Fast DDS 2"
        default: "Fast DDS 3"
        }
    }

    /// The files (or inline XML) a profile variable names: CycloneDDS takes a comma-separated
    /// list of `file://` URIs, paths and XML fragments; Fast DDS one path.
    public static func profileSources(_ variable: String, _ value: String) -> [ProfileSource] {
        let parts = variable == "CYCLONEDDS_URI" ? value.split(separator: ",").map(String.init) : [value]
        return parts.map { $0.trimmingBlanks }.filter { !$0.isEmpty }.map { p in
            if p.hasPrefix("<") { return .inline(p) }
            return .file(p.hasPrefix("file://") ? String(p.dropFirst("file://".count)) : p)
        }
    }

    public enum ProfileSource: Equatable, Sendable {
        case file(String)
        case inline(String)
    }

    static func profileFindings(_ v: String, mine: String?, theirs: String, _ i: DoctorInput) -> [Finding] {
        let t = i.team?.team ?? i.teamName ?? "TEAM"
        guard let mine, !mine.isEmpty else {
            return [Finding("ros.profile", .warning,
                            "\(v) is not set in this shell: \(middleware(v)) here falls back to multicast discovery, which the overlay does not carry",
                            fix: eval(t))]
        }
        guard mine != theirs else { return [] }
        let ours = profileSources(v, theirs)
        var foreign: [String] = []
        var shown: [String] = []
        for s in profileSources(v, mine) where !ours.contains(s) {
            switch s {
            case .file(let path):
                shown.append(path)
                if let text = i.otherProfiles[path] ?? nil, let team = i.team {
                    foreign += ProfileInterfaces.foreign(ProfileInterfaces.named(in: text), interface: team.interface, address: team.address)
                }
            case .inline(let xml):
                shown.append("inline XML")
                if let team = i.team {
                    foreign += ProfileInterfaces.foreign(ProfileInterfaces.named(in: xml), interface: team.interface, address: team.address)
                }
            }
        }
        if shown.isEmpty { return [] }  // the team's file, named another way
        let other = shown.joined(separator: ", ")
        let fix = "unset \(v), or " + eval(t) + "; a file of your own must list the team's members as peers"
        if !foreign.isEmpty, let team = i.team {
            return [Finding("ros.profile", .problem,
                            "\(v) points at \(other), not team \(t)'s file, and it binds \(foreign.joined(separator: ", ")), not the overlay (\(team.interface), \(team.address)): \(middleware(v)) traffic never enters the overlay",
                            fix: fix)]
        }
        return [Finding("ros.profile", .warning,
                        "\(v) points at \(other), not team \(t)'s \(theirs): \(middleware(v)) finds the team's members only if that file lists them",
                        fix: fix)]
    }

    // MARK: machine ids

    static func machineIDs(_ i: DoctorInput) -> [Finding] {
        guard let t = i.team else { return [] }
        var out: [Finding] = []
        for group in t.sharedMachineIDs {
            let names = group.count == 2 ? "\(group[0]) and \(group[1])" : group.dropLast().joined(separator: ", ") + " and " + group.last!
            let us = group.contains(t.name) ? " (this node among them)" : ""
            out.append(Finding("machine-id", .problem,
                               "\(names) share one /etc/machine-id\(us), as robots cloned from one SD-card image do: Fast DDS 3 (ROS 2 Kilted and later) takes them for one host and sends to localhost and shared memory, so their ROS 2 nodes never hear each other",
                               fix: "on all but one of them: sudo rm /etc/machine-id && sudo systemd-machine-id-setup, then restart the agent (sudo systemctl restart teamwire-agent) and the ROS programs"))
        }
        if t.machineID == nil {
            out.append(Finding("machine-id", .warning, "this node reports no machine id (/etc/machine-id is missing, empty or not an id): members cloned from its image cannot be found",
                               fix: "sudo systemd-machine-id-setup, then restart the agent (sudo systemctl restart teamwire-agent)"))
        }
        if out.isEmpty {
            let unknown = t.members.filter { $0.machineID == nil }.map(\.name)
            out.append(Finding("machine-id", .ok, "no two members share a machine id"
                + (unknown.isEmpty ? "" : " (\(unknown.joined(separator: ", ")) report\(unknown.count == 1 ? "s" : "") none: an older agent)")))
        }
        return out
    }

    // MARK: canary

    static func canary(_ i: DoctorInput) -> [Finding] {
        guard let answers = i.canary, let t = i.team else { return [] }
        if t.members.isEmpty { return [Finding("canary", .ok, "no other member to send the canary to")] }
        return t.members.map { m in
            if let rtt = answers[m.name] ?? nil {
                return Finding("canary", .ok, member: m.name, "\(m.name)'s agent answered the canary in \(millis(rtt)) ms")
            }
            return Finding("canary", .problem, member: m.name,
                           "\(m.name)'s agent did not answer the canary (UDP \(CanaryMessage.port) to \(m.address) over the overlay)",
                           fix: "check that \(m.name)'s agent runs and is teamwire \(TeamwireVersion.string) or later (`teamwire status` there); `teamwire ping \(m.name)` tells whether the overlay reaches it")
        }
    }

    static func millis(_ us: Int64) -> String {
        let hundredths = (us + 5) / 10
        let frac = hundredths % 100
        return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac)"
    }
}
