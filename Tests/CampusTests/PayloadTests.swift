import Foundation
import Testing
import TeamwireCore
import TestSupport

/// Camera-sized samples across the overlay with the real middleware: 1 MiB at 10 Hz from robot1
/// to robot2 with CycloneDDS (ddsperf), Fast DDS (rclpy, sensor_msgs/Image) and Zenoh, using the
/// programs of Benchmarks/payload-bench. The generated files keep every datagram within the
/// overlay MTU, so robot1 creates no IP fragment; the middlewares' own sizes fragment.
extension CampusTests {
    /// With the generated files: samples arrive directly and through the hub (client isolation),
    /// and robot1 never fragments.
    @Test func largeSamplesAcrossTheOverlay() async throws {
        try await Campus.with("pl") { c in
            try await c.join(["robot1", "robot2"])
            try c.spawn("robot1", "zrouter", c.payloadCommand(.zenoh, role: "router"))
            try c.spawn("robot2", "zrouter", c.payloadCommand(.zenoh, role: "router"))
            for path in [Path.direct, .relay] {
                if path == .relay { try c.isolation(true) }
                try await c.until("robot1 → robot2 is \(path)", timeout: 15) {
                    _ = try c.ping("robot1", c.overlay("robot2"), wait: 1)
                    return try c.path("robot1", to: "robot2") == path
                }
                for mw in [PayloadMiddleware.cyclonedds, .fastdds, .zenoh] {
                    let r = try await c.payloadRun(mw, name: "\(mw)-\(path)")
                    print("\(mw) \(path): sent \(r.sent), received \(r.received), fragments \(r.fragments)")
                    #expect(r.sent >= 20, "\(mw) \(path): the publisher sent \(r.sent) samples")
                    #expect(r.received * 10 >= r.sent * 9, "\(mw) \(path): \(r.received) of \(r.sent) 1 MiB samples arrived")
                    #expect(r.fragments == 0, "\(mw) \(path): robot1 created \(r.fragments) IP fragments")
                }
            }
        }
    }

    /// Control: the same runs with the DDS files less teamwire's large-data settings (the
    /// middlewares' own message sizes and buffers): robot1 fragments every sample.
    @Test func largeSamplesWithMiddlewareDefaultsFragment() async throws {
        try await Campus.with("pb") { c in
            try await c.join(["robot1", "robot2"])
            try await c.until("robot1 → robot2 is direct", timeout: 15) {
                _ = try c.ping("robot1", c.overlay("robot2"), wait: 1)
                return try c.path("robot1", to: "robot2") == .direct
            }
            for h in ["robot1", "robot2"] { try c.exec(h, ["sh", "-c", Campus.stripLargeData]) }
            for mw in [PayloadMiddleware.cyclonedds, .fastdds] {
                let r = try await c.payloadRun(mw, name: "\(mw)-defaults", defaults: true)
                print("\(mw) with defaults: sent \(r.sent), received \(r.received), fragments \(r.fragments)")
                #expect(r.fragments > 0, "\(mw) with its default sizes created no IP fragment (sent \(r.sent), received \(r.received))")
            }
        }
    }
}

enum PayloadMiddleware: String, CustomStringConvertible {
    case cyclonedds, fastdds, zenoh
    var description: String { rawValue }
}

extension Campus {
    /// 1 MiB samples at 10 Hz for this long.
    static let payloadSeconds = 3

    /// The files that `stripLargeData` writes: the generated ones less the large-data lines.
    static let defaultsDir = "/tmp/teamwire-lab/defaults"
    static let stripLargeData = """
        mkdir -p \(defaultsDir) && d=/var/lib/teamwire/ros/iris &&
        sed -E '/<(MaxMessageSize|MaxRexmitMessageSize|FragmentSize|SocketReceiveBufferSize|SocketSendBufferSize)[ >]/d' $d/cyclonedds.xml > \(defaultsDir)/cyclonedds.xml &&
        sed -E '/<(maxMessageSize|sendBufferSize|receiveBufferSize)>/d' $d/fastdds.xml > \(defaultsDir)/fastdds.xml
        """

    /// A payload-bench program under `teamwire exec` (the team's environment), optionally with
    /// the stripped DDS files.
    func payloadCommand(_ mw: PayloadMiddleware, role: String, defaults: Bool = false) -> [String] {
        var env = ["env", "ROS_HOME=/tmp/teamwire-lab/ros", "PYTHONUNBUFFERED=1", "RMW_IMPLEMENTATION=rmw_fastrtps_cpp"]
        if defaults {
            let d = Self.defaultsDir
            env += ["CYCLONEDDS_URI=file://\(d)/cyclonedds.xml", "FASTRTPS_DEFAULT_PROFILES_FILE=\(d)/fastdds.xml", "FASTDDS_DEFAULT_PROFILES_FILE=\(d)/fastdds.xml"]
        }
        let seconds = role == "pub" ? Self.payloadSeconds : Self.payloadSeconds + 20
        let bench = Self.repo + "/Benchmarks/payload/"
        let program: [String]
        switch (mw, role) {
        case (.cyclonedds, "sub"): program = ["ddsperf", "-D", "\(seconds)", "sub"]
        case (.cyclonedds, _): program = ["ddsperf", "-D", "60", "-Qminmatch:1", "-Qinitwait:15", "pub", "10Hz", "size", "1MiB"]
        case (.fastdds, _): program = [Self.ros2Python, bench + "image.py", role, "10", "\(seconds)", "reliable"]
        case (.zenoh, "router"): program = [Self.zenohPython, bench + "zenoh_bytes.py", "router"]
        case (.zenoh, _): program = [Self.zenohPython, bench + "zenoh_bytes.py", role, "10", "\(seconds)"]
        }
        return [Self.binary, "exec", "--"] + env + program
    }

    /// IPv4 FragCreates of a lab host: datagrams it cut into IP fragments.
    func fragCreates(_ host: String) throws -> Int {
        let ip = try exec(host, ["cat", "/proc/net/snmp"]).out.split(separator: "\n").filter { $0.hasPrefix("Ip: ") }
        guard ip.count == 2 else { throw LabError("unexpected /proc/net/snmp on \(host)") }
        let names = ip[0].split(separator: " "), values = ip[1].split(separator: " ")
        guard let i = names.firstIndex(of: "FragCreates"), let v = Int(values[i]) else { throw LabError("no FragCreates on \(host)") }
        return v
    }

    /// One run: a subscriber on robot2, a publisher on robot1 (10 Hz for `payloadSeconds`);
    /// what was sent, what arrived and how many IP fragments robot1 created meanwhile.
    func payloadRun(_ mw: PayloadMiddleware, name: String, defaults: Bool = false) async throws -> (sent: Int, received: Int, fragments: Int) {
        try spawn("robot2", "sub-" + name, payloadCommand(mw, role: "sub", defaults: defaults))
        let before = try fragCreates("robot1")
        var sent = 0
        if mw == .cyclonedds {
            // ddsperf's pub runs until stopped (its reliable writer as fast as acknowledgements
            // allow, up to 10 Hz); its sub counts what arrived and what was lost. With the
            // generated files it runs until 20 samples arrived; the control for a fixed time.
            try spawn("robot1", "pub-" + name, payloadCommand(mw, role: "pub", defaults: defaults))
            try await until("robot1's ddsperf publishes", timeout: 20) { log("robot1", "pub-" + name).contains("/s ") }
            if defaults {
                try await Task.sleep(for: .seconds(Self.payloadSeconds - 1))
            } else {
                try await until("robot2's ddsperf received 20 samples", timeout: 40) { Self.ddsperfCounts(log("robot2", "sub-" + name)).received >= 20 }
            }
            try stop("robot1", "pub-" + name, signal: "INT")
        } else {
            let out = try exec("robot1", payloadCommand(mw, role: "pub", defaults: defaults), check: false).out
            sent = out.split(separator: "\n").first { $0.hasPrefix("sent ") }.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        }
        let fragments = try fragCreates("robot1") - before
        try await Task.sleep(for: .seconds(1))
        try stop("robot2", "sub-" + name, signal: mw == .cyclonedds ? "INT" : "KILL")
        let subLog = log("robot2", "sub-" + name)
        if mw == .cyclonedds {
            let c = Self.ddsperfCounts(subLog)
            return (c.received + c.lost, c.received, fragments)
        }
        return (sent, subLog.components(separatedBy: "heard: ").count - 1, fragments)
    }

    /// The last counts of a ddsperf sub: "size 1048576 total 47 lost 0 ...", where lost counts
    /// the sequence numbers that never came.
    static func ddsperfCounts(_ log: String) -> (received: Int, lost: Int) {
        var counts = (received: 0, lost: 0)
        for line in log.split(separator: "\n") where line.contains(" size 1048576 total ") {
            let w = line.split(separator: " ")
            if let t = w.firstIndex(of: "total"), t + 3 < w.count, let v = Int(w[t + 1]), let l = Int(w[t + 3]) { counts = (v, l) }
        }
        return counts
    }
}
