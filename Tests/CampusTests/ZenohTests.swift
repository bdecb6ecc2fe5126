import Foundation
import Testing
import TeamwireCore

/// rmw_zenoh's transport across the overlay with the real Zenoh (the `eclipse-zenoh` Python
/// package, the same Rust library rmw_zenoh_cpp links): routers and sessions opened from the files
/// the agent wrote, found through ZENOH_ROUTER_CONFIG_URI / ZENOH_SESSION_CONFIG_URI in the
/// environment `teamwire exec` gives them.
extension CampusTests {
    /// A publisher on robot1 and subscribers on robot2 (a peer of its own router) and the laptop
    /// (a client of the robots' routers); still delivered under client isolation (through the hub);
    /// a robot that joins later is reached without restarting anything that runs. Control: Zenoh's
    /// defaults (multicast scouting) find nothing across the overlay.
    @Test func zenohAcrossTheOverlay() async throws {
        try await Campus.with("z") { c in
            try await c.join(["robot1", "robot2"])
            try await c.startAgent("laptop")
            try c.tw("laptop", ["join", try c.token(role: "laptop"), "--name", "laptop", "--wait", "15"])
            for h in ["robot1", "robot2"] {
                try c.spawn(h, "zrouter", Campus.zenoh("router", "env", "-"))
            }
            try c.spawn("robot2", "zsub", Campus.zenoh("sub", "env", "teamwire/chatter"))
            try c.spawn("laptop", "zsub", Campus.zenoh("sub", "env", "teamwire/chatter"))
            try c.spawn("robot1", "zpub", Campus.zenoh("pub", "env", "teamwire/chatter", "hi-from-robot1"))
            try await c.until("robot2 hears robot1 over Zenoh", timeout: 30) { c.log("robot2", "zsub").contains("heard: hi-from-robot1") }
            try await c.until("the laptop hears robot1 through a robot's router", timeout: 30) {
                c.log("laptop", "zsub").contains("heard: hi-from-robot1")
            }
            let laptopFiles = try c.exec("laptop", ["ls", "/var/lib/teamwire/ros/iris"]).out
            #expect(laptopFiles.contains("zenoh-session.json5") && !laptopFiles.contains("zenoh-router"), "a laptop runs no router: \(laptopFiles)")

            // Client isolation: the routers' TCP link moves to the hub path with the overlay.
            try c.isolation(true)
            try await c.until("robot1 reaches robot2 through the hub", timeout: 10) { try c.path("robot1", to: "robot2") == .relay }
            let before = Campus.heard(c.log("robot2", "zsub"))
            try await c.until("robot2 keeps hearing robot1 through the hub", timeout: 30) {
                Campus.heard(c.log("robot2", "zsub")) > before + 5
            }

            // Control, under the same isolation: default sessions (peer mode, multicast scouting)
            // on the same two robots. They do work (a default subscriber on robot1 itself hears
            // the publisher), and the generated ones keep delivering meanwhile.
            try c.spawn("robot2", "zdefsub", Campus.zenoh("sub", "default", "teamwire/control"))
            try c.spawn("robot1", "zdefsub", Campus.zenoh("sub", "default", "teamwire/control"))
            try c.spawn("robot1", "zdefpub", Campus.zenoh("pub", "default", "teamwire/control", "default-from-robot1"))
            try await c.until("robot1's default subscriber hears its default publisher", timeout: 15) {
                c.log("robot1", "zdefsub").contains("heard: default-from-robot1")
            }
            #expect(c.log("robot2", "zdefsub").contains("open sub"))
            let during = Campus.heard(c.log("robot2", "zsub"))
            try await Task.sleep(for: .seconds(8))
            #expect(!c.log("robot2", "zdefsub").contains("heard:"), "Zenoh's defaults found robot1 across the overlay:\n\(c.log("robot2", "zdefsub"))")
            #expect(Campus.heard(c.log("robot2", "zsub")) > during + 10, "the generated sessions stopped delivering during the control")
            try c.isolation(false)

            // A robot joining later: its router's file lists robot1 and robot2, and the link it
            // opens serves both ways, so robot1's running router (started without robot3 in its
            // file) delivers to it.
            try await c.join(["robot3"])
            try c.spawn("robot3", "zrouter", Campus.zenoh("router", "env", "-"))
            try c.spawn("robot3", "zsub", Campus.zenoh("sub", "env", "teamwire/chatter"))
            try await c.until("robot3, joined later, hears robot1's running publisher", timeout: 45) {
                c.log("robot3", "zsub").contains("heard: hi-from-robot1")
            }
        }
    }
}

extension Campus {
    /// The venv scripts/setup-debian makes with `eclipse-zenoh` from PyPI.
    static let zenohPython = "/opt/teamwire-zenoh/bin/python"

    /// ROLE (router, pub or sub) with the team's file named by the environment (SOURCE "env",
    /// run under `teamwire exec`) or Zenoh's defaults (SOURCE "default").
    static let zenohProgram = """
        import os, sys, time, zenoh
        role, source, key = sys.argv[1:4]
        zenoh.init_log_from_env_or("error")
        if source == "default":
            conf = zenoh.Config()
        else:
            conf = zenoh.Config.from_file(os.environ["ZENOH_ROUTER_CONFIG_URI" if role == "router" else "ZENOH_SESSION_CONFIG_URI"])
        session = zenoh.open(conf)
        print("open", role, source, session.zid(), flush=True)
        if role == "pub":
            publisher = session.declare_publisher(key)
            i = 0
            while True:
                i += 1
                publisher.put(f"{sys.argv[4]} {i}")
                time.sleep(0.2)
        elif role == "sub":
            subscriber = session.declare_subscriber(key, lambda s: print("heard:", s.payload.to_string(), flush=True))
        while True:
            time.sleep(3600)
        """

    static func zenoh(_ role: String, _ source: String, _ args: String...) -> [String] {
        [binary, "exec", "--", "env", "PYTHONUNBUFFERED=1", zenohPython, "-c", zenohProgram, role, source] + args
    }

    /// How many messages a subscriber's log shows.
    static func heard(_ log: String) -> Int { log.components(separatedBy: "heard:").count - 1 }
}
