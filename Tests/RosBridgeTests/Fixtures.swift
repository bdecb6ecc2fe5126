import RosBridge
import TeamwireCore
import TestSupport

func ip(_ s: String) -> IPv4Address {
    guard let a = IPv4Address(s) else { fatalError("bad test address \(s)") }
    return a
}

func member(_ name: String, _ address: String, _ role: Role = .robot) -> RosMember { RosMember(name: name, address: ip(address), role: role) }

/// Team "alpha": robot1 (this node), robot2, laptop; robot2 runs the ROS master.
func alpha(
    members: [RosMember]? = nil, master: String? = "robot2", mtu: Int = 1420, directory: String = "/var/lib/teamwire/ros/alpha",
    selfName: String = "robot1", selfAddress: String = "100.64.0.2", team: String = "alpha", participants: Int = 32,
    selfRole: Role = .robot
) -> RosContext {
    RosContext(
        team: team, selfName: selfName, selfAddress: ip(selfAddress),
        members: members ?? [member("laptop", "100.64.0.10", .laptop), member("robot1", "100.64.0.2"), member("robot2", "100.64.0.3")],
        rosMaster: master, rosDomainID: 17, interfaceName: "tw-\(team)", mtu: mtu, directory: directory,
        participantsPerHost: participants, selfRole: selfRole)
}

/// A team of `n` members 100.64.1.1 ... in scrambled order, this node the first.
func bigTeam(_ n: Int) -> RosContext {
    let ms = (1...n).map { member("r\($0)", "100.64.\(1 + $0 / 250).\($0 % 250 + 1)") }
    return RosContext(
        team: "big", selfName: ms[0].name, selfAddress: ms[0].address, members: ms.reversed(), rosMaster: nil,
        rosDomainID: 3, interfaceName: "tw-big", mtu: 1420, directory: "/run/tw", participantsPerHost: 8)
}

/// The lines of a rendered file (without the final empty string after the trailing newline).
func lines(_ s: String) -> [String] {
    var l = s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if l.last == "" { l.removeLast() }
    return l
}

/// Every permutation-free reordering we check: reversed, rotated, and a few seeded shuffles.
func reorderings<T>(_ a: [T]) -> [[T]] {
    var out = [a.reversed(), Array(a.dropFirst()) + a.prefix(1)]
    var rng = SeededRNG(seed: 42)
    for _ in 0..<5 { out.append(a.shuffled(using: &rng)) }
    return out
}

