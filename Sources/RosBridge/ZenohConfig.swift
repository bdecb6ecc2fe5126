import TeamwireCore

/// The Zenoh configuration files for rmw_zenoh (ROS 2 `rmw_zenoh_cpp`, read through
/// ZENOH_ROUTER_CONFIG_URI and ZENOH_SESSION_CONFIG_URI). Each file replaces rmw_zenoh's
/// built-in default entirely, so it repeats the ROS settings of rmw_zenoh's
/// DEFAULT_RMW_ZENOH_*_CONFIG.json5 that matter (timestamping for transient_local, the query
/// timeout, peers gossiping only to their router) and changes only where the team is:
///
/// - a robot runs one router (`ros2 run rmw_zenoh_cpp rmw_zenohd`) that listens on loopback for
///   its own ROS processes and on its overlay address for the team, and connects to every other
///   robot's router on the overlay; its ROS processes are peers connected to that router;
/// - a laptop runs no router: its ROS processes are clients of the robots' routers.
///
/// Multicast scouting is off everywhere (WireGuard carries no multicast, and on a LAN it would
/// find other teams' routers); gossip only travels over links that already exist, which reach
/// team members only. Team isolation comes from these connect lists, not from ROS_DOMAIN_ID
/// (only a key prefix in rmw_zenoh).
///
/// The files are JSON5 by name (Zenoh picks the parser from the extension) but plain JSON in
/// content, without comments, so any JSON reader can check them.
public enum ZenohConfig {
    public static let routerFileName = "zenoh-router.json5"
    public static let sessionFileName = "zenoh-session.json5"
    /// rmw_zenoh's router port, on loopback and on the overlay.
    public static let routerPort = 7447

    /// Whether this node runs a router: robots do, laptops do not.
    public static func runsRouter(_ c: RosContext) -> Bool { c.selfRole == .robot }

    /// The routers this node's router (robot) or sessions (laptop) connect to: every other
    /// robot's, by overlay address, sorted.
    public static func remoteRouters(_ c: RosContext) -> [String] {
        c.peers.filter { $0.role == .robot && $0.address != c.selfAddress }.map { endpoint($0.address.description) }
    }

    static func endpoint(_ host: String) -> String { "tcp/\(host):\(routerPort)" }

    /// The router config of a robot.
    public static func renderRouter(_ c: RosContext) -> String {
        JSONText.render(.object([
            ("mode", .string("router")),
            ("connect", .object([
                // Retry for ever without failing: a robot that is off now is reached when it comes up.
                ("timeout_ms", .int(-1)),
                ("exit_on_failure", .bool(false)),
                ("endpoints", .array(remoteRouters(c).map { .string($0) })),
                ("retry", retry),
            ])),
            ("listen", .object([
                // Loopback for this robot's ROS processes (up before the overlay is); the overlay
                // address for the team, and no other interface (the LAN must not reach it).
                // The overlay address waits for the interface instead of failing the router.
                ("timeout_ms", .int(-1)),
                ("exit_on_failure", .bool(false)),
                ("endpoints", .array([.string(endpoint("127.0.0.1")), .string(endpoint(c.selfAddress.description))])),
                ("retry", retry),
            ])),
            ("scouting", scouting(peerTarget: true)),
            ("timestamping", timestamping),
            ("queries_default_timeout", .int(600_000)),
            // Each robot's peers connect to each other through loopback gossip; brokering between
            // them would only add start-up traffic (rmw_zenoh's router default).
            ("routing", .object([("router", .object([("peers_failover_brokering", .bool(false))]))])),
        ]))
    }

    /// The session config of this node's ROS processes: a peer of the local router on a robot,
    /// a client of the robots' routers on a laptop.
    public static func renderSession(_ c: RosContext) -> String {
        if runsRouter(c) {
            return JSONText.render(.object([
                ("mode", .string("peer")),
                ("connect", .object([
                    ("timeout_ms", .int(-1)),
                    ("exit_on_failure", .bool(false)),
                    ("endpoints", .array([.string(endpoint("127.0.0.1"))])),
                    ("retry", retry),
                ])),
                // Other processes on this robot connect directly; other hosts go through the router.
                ("listen", .object([("endpoints", .array([.string("tcp/127.0.0.1:0")]))])),
                ("scouting", scouting(peerTarget: false)),
                ("timestamping", timestamping),
                ("queries_default_timeout", .int(600_000)),
            ]))
        }
        return JSONText.render(.object([
            ("mode", .string("client")),
            ("connect", .object([
                // A client needs one router: no retry means each robot is tried once, in order,
                // and the first that answers serves. (With retries, Zenoh 1.5 keeps retrying the
                // first robot and never tries the next: a laptop would hang while robot one is
                // off.) None answering fails the ROS process at once, as rmw_zenoh's default does.
                ("timeout_ms", .int(0)),
                ("exit_on_failure", .bool(true)),
                ("endpoints", .array(remoteRouters(c).map { .string($0) })),
                ("retry", retry),
            ])),
            ("scouting", .object([("multicast", .object([("enabled", .bool(false))]))])),
            ("timestamping", timestamping),
            ("queries_default_timeout", .int(600_000)),
        ]))
    }

    private static let retry = JSONText.object([
        ("period_init_ms", .int(1000)), ("period_max_ms", .int(4000)), ("period_increase_factor", .int(2)),
    ])

    /// Transient-local durability needs timestamps (rmw_zenoh's default).
    private static let timestamping = JSONText.object([
        ("enabled", .bool(true)), ("drop_future_timestamp", .bool(false)),
    ])

    private static func scouting(peerTarget router: Bool) -> JSONText {
        .object([
            ("multicast", .object([("enabled", .bool(false)), ("listen", .bool(false))])),
            // One hop only: routers tell their own peers and the routers they are connected to.
            ("gossip", .object([
                ("enabled", .bool(true)),
                ("multihop", .bool(false)),
                ("target", .array(router ? [.string("router"), .string("peer")] : [.string("router")])),
                ("autoconnect", .array(router ? [] : [.string("router"), .string("peer")])),
            ])),
        ])
    }
}

/// A JSON value with ordered keys, rendered indented: deterministic bytes for the same value.
indirect enum JSONText {
    case string(String)
    case int(Int)
    case bool(Bool)
    case array([JSONText])
    case object([(String, JSONText)])

    static func render(_ v: JSONText) -> String { v.text(indent: "") + "\n" }

    private func text(indent: String) -> String {
        let inner = indent + "  "
        switch self {
        case .string(let s): return JSONString.literal(s)
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .array(let a):
            if a.isEmpty { return "[]" }
            // Endpoint lists stay on one line.
            if a.allSatisfy({ if case .string = $0 { true } else { false } }) {
                return "[" + a.map { $0.text(indent: inner) }.joined(separator: ", ") + "]"
            }
            return "[\n" + a.map { inner + $0.text(indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        case .object(let o):
            if o.isEmpty { return "{}" }
            return "{\n" + o.map { inner + JSONString.literal($0.0) + ": " + $0.1.text(indent: inner) }.joined(separator: ",\n") + "\n" + indent + "}"
        }
    }
}
