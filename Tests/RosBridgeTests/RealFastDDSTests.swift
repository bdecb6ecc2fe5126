import Foundation
import RosBridge
import Testing
import TeamwireCore

/// The generated fastdds.xml against Debian's Fast DDS 2.9 (libfastrtps), through a checker
/// program built here, in network namespaces. Needs root, g++ and libfastrtps-dev; never skipped.
@Suite("fastdds.xml with the real Fast DDS", .serialized)
struct RealFastDDSTests {
    static func profile(_ lab: OverlayLab, selfIsA: Bool, directory: URL, team: String = "lab") -> String {
        FastDDSProfile.render(RealCycloneDDSTests.context(lab, selfIsA: selfIsA, directory: directory, team: team))
    }

    static func check(_ lab: OverlayLab, in ns: String, ownShm: Bool = false, file: URL, wait: (seconds: Int, name: String)? = nil) throws -> Command {
        let exe = try FastDDSChecker.executable.get()
        var args = [exe.path, file.path]
        if let w = wait { args += [String(w.seconds), w.name] }
        return lab.command(in: ns, ownShm: ownShm, args)
    }

    @Test("Fast DDS takes the generated file as its default participant QoS, without a logged error", arguments: ["lab", "t&<\"'>--x"])
    func accepted(team: String) async throws {
        try await OverlayLab.with { lab in
            try await withTemporaryDirectory { dir in
                let file = try Self.profile(lab, selfIsA: true, directory: dir, team: team).write(to: dir, name: "fastdds.xml")
                let r = try Self.check(lab, in: lab.nsA, file: file).run()
                #expect(r.status == 0, "\(r.out)")
                let understood = lines(r.out).filter { !$0.hasPrefix("warning: ") }
                #expect(understood == [
                    "use_builtin_transports 0",
                    "transport udpv4 maxInitialPeersRange=32 maxMessageSize=1392 receiveBufferSize=4194304 whitelist=100.64.0.2 whitelist=127.0.0.1",
                    "transport shm",
                    "initial_peer 100.64.0.2:0",
                    "initial_peer 100.64.0.3:0",
                    "metatraffic_unicast 100.64.0.2:0",
                    "participant created",
                    "errors 0",
                ])
            }
        }
    }

    @Test("a misspelt element, a bad value or a dangling transport id is caught: the check above can fail", arguments: [
        ("<maxInitialPeersRange>32</maxInitialPeersRange>", "<maxInitialPeerRange>32</maxInitialPeerRange>"),
        ("<useBuiltinTransports>false<", "<useBuiltinTransports>nope<"),
        ("<udpv4><address>100.64.0.3</address>", "<udpv4><adress>100.64.0.3</adress>"),
        ("<transport_id>teamwire_shm</transport_id>\n        <type>SHM</type>", "<transport_id>other_shm</transport_id>\n        <type>SHM</type>"),
    ])
    func refused(good: String, bad: String) async throws {
        try await OverlayLab.with { lab in
            try await withTemporaryDirectory { dir in
                let text = Self.profile(lab, selfIsA: true, directory: dir)
                #expect(text.contains(good))
                let file = try text.replacing(good, with: bad).write(to: dir, name: "fastdds.xml")
                let r = try Self.check(lab, in: lab.nsA, file: file).run()
                #expect(r.status != 0, "\(r.out)")
                #expect(r.out.contains("error: "), "\(r.out)")
            }
        }
    }

    /// The checker on A and on B (or twice on A), each with its own /dev/shm so that only UDP connects them.
    static func pair(_ lab: OverlayLab, _ first: (ns: String, file: URL), _ second: (ns: String, file: URL)) throws -> [(status: Int32, out: String)] {
        let one = try check(lab, in: second.ns, ownShm: true, file: second.file, wait: (6, "two")).start()
        Thread.sleep(forTimeInterval: 0.3)
        let two = try check(lab, in: first.ns, ownShm: true, file: first.file, wait: (6, "one")).run()
        return [two, one.wait()]
    }

    @Test("two members find each other through the initial peers; discovery is announced on the overlay address")
    func discovery() async throws {
        try await OverlayLab.with { lab in
            try await withTemporaryDirectory { dir in
                let a = try Self.profile(lab, selfIsA: true, directory: dir).write(to: dir, name: "a.xml")
                let b = try Self.profile(lab, selfIsA: false, directory: dir).write(to: dir, name: "b.xml")
                let r = try Self.pair(lab, (lab.nsA, a), (lab.nsB, b))
                #expect(r[0].status == 0 && r[1].status == 0, "\(r.map(\.out))")
                #expect(r[0].out.contains("discovered two\nremote_metatraffic_unicast 100.64.0.3:7410\n"), "\(r[0].out)")
                #expect(r[1].out.contains("discovered one\nremote_metatraffic_unicast 100.64.0.2:7410\n"), "\(r[1].out)")
            }
        }
    }

    @Test("two processes of one member find each other over UDP too (this node is its own initial peer)")
    func local() async throws {
        try await OverlayLab.with { lab in
            try await withTemporaryDirectory { dir in
                let a = try Self.profile(lab, selfIsA: true, directory: dir).write(to: dir, name: "a.xml")
                let r = try Self.pair(lab, (lab.nsA, a), (lab.nsA, a))
                #expect(r[0].status == 0 && r[1].status == 0, "\(r.map(\.out))")
                #expect(r[0].out.contains("discovered two\n") && r[1].out.contains("discovered one\n"))
            }
        }
    }

    @Test("control: without the initial peers nobody is found")
    func control() async throws {
        try await OverlayLab.with { lab in
            try await withTemporaryDirectory { dir in
                let strip: (String) -> String = { text in
                    guard let start = text.range(of: "<initialPeersList>"), let end = text.range(of: "</initialPeersList>") else { return text }
                    return String(text[..<start.lowerBound]) + String(text[end.upperBound...])
                }
                let a = try strip(Self.profile(lab, selfIsA: true, directory: dir)).write(to: dir, name: "a.xml")
                let b = try strip(Self.profile(lab, selfIsA: false, directory: dir)).write(to: dir, name: "b.xml")
                let r = try Self.pair(lab, (lab.nsA, a), (lab.nsB, b))
                #expect(r.allSatisfy { $0.status != 0 && $0.out.contains("nobody discovered") }, "\(r.map(\.out))")
            }
        }
    }
}
