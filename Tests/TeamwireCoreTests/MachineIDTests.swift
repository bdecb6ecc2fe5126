import Foundation
import Testing
@testable import TeamwireCore
import TestSupport

@Suite("Machine id hash and canary")
struct MachineIDTests {
    @Test func theHashIsHMACSHA256KeyedByTheIDTruncated() {
        // python3: hmac.new(b"0123…", b"teamwire machine id v1", "sha256").hexdigest()[:32]
        let h = MachineID.hash(fileText: "0123456789abcdef0123456789abcdef\n")
        #expect(h == "cc0c73139db5e5a4cbb174094bb1cc5b")
        // The id is read as systemd writes it; case and surrounding blanks do not matter.
        #expect(MachineID.hash(fileText: "  0123456789ABCDEF0123456789abcdef  ") == h)
        #expect(MachineID.hash(fileText: "fedcba9876543210fedcba9876543210") != h)
        // Never the id itself.
        #expect(!(h ?? "").contains("0123456789abcdef"))
        // Not an id: empty (first boot), "uninitialized", all zeros, short, non-hex.
        for text in ["", "\n", "uninitialized\n", String(repeating: "0", count: 32), "0123456789abcdef", String(repeating: "g", count: 32)] {
            #expect(MachineID.hash(fileText: text) == nil, "\(text)")
        }
    }

    @Test func hostileReportedHashesAreNamedInOneSentence() {
        #expect(MachineID.problem("cc0c73139db5e5a4cbb174094bb1cc5b") == nil)
        #expect(MachineID.problem("")?.contains("32 hex characters (got 0)") == true)
        #expect(MachineID.problem(String(repeating: "a", count: 1_000_000))?.contains("(got 9999)") == true)
        #expect(MachineID.problem("CC0C73139DB5E5A4CBB174094BB1CC5B")?.contains("lowercase hex") == true)
        #expect(MachineID.problem("cc0c73139db5e5a4cbb174094bb1cc5\u{e9}") != nil)  // 32 bytes of UTF-8, one not hex
        #expect(MachineID.problem(String(repeating: "z", count: 32)) != nil)
    }

    @Test func sharedIDsAreGroupedByName() {
        let groups = MachineID.shared([(name: "r3", hash: "a"), (name: "r1", hash: "b"), (name: "r2", hash: "a"), (name: "l", hash: nil),
                                       (name: "r4", hash: nil), (name: "r5", hash: "b"), (name: "r6", hash: "c")])
        #expect(groups == [["r1", "r5"], ["r2", "r3"]])
        #expect(MachineID.shared([]).isEmpty)
    }

    /// Old caches, old agents and old coordinators wrote no machine id: their JSON still decodes,
    /// strictly too; the field round-trips where it is.
    @Test func jsonWithoutTheFieldDecodes() throws {
        let key = fixedKey(1)
        let old = #"{"name":"robot1","publicKey":"\#(key.base64Key)","address":"100.64.0.2","role":"robot","endpoints":["192.0.2.11:51820"]}"#
        let m = try StrictJSON.decode(Member.self, from: Array(old.utf8))
        #expect(m.machineID == nil && m.name == "robot1")
        #expect(try JSONDecoder().decode(Member.self, from: Data(old.utf8)).machineID == nil)
        var withID = m
        withID.machineID = "cc0c73139db5e5a4cbb174094bb1cc5b"
        #expect(try StrictJSON.decode(Member.self, from: ControlCodec.encodeJSON(withID)) == withID)
        // An old agent's report and enrolment bodies.
        #expect(try StrictJSON.decode(ReportRequest.self, from: Array(#"{"endpoints":[],"listenPort":51820}"#.utf8)).machineID == nil)
        let r = ReportRequest(endpoints: [], listenPort: 1, machineID: "cc0c73139db5e5a4cbb174094bb1cc5b")
        #expect(try StrictJSON.decode(ReportRequest.self, from: ControlCodec.encodeJSON(r)) == r)
        // The agent's status from an older agent (no machine ids) still decodes in a newer CLI.
        let status = #"{"name":"robot2","address":"100.64.0.3","role":"robot","path":"direct","reachable":true,"peer":{"rxBytes":0,"txBytes":0}}"#
        #expect(try JSONDecoder().decode(MemberStatus.self, from: Data(status.utf8)).machineID == nil)
    }

    @Test func canaryAnswersOnlyWellFormedRequests() {
        let nonce = (0..<16).map { UInt8($0) }
        let request = CanaryMessage.encode(.request, nonce: nonce)
        #expect(CanaryMessage.answer(to: request) == CanaryMessage.encode(.answer, nonce: nonce))
        #expect(CanaryMessage.parse(CanaryMessage.encode(.answer, nonce: nonce))! == (.answer, nonce))
        // An answer is never answered (two agents cannot ping-pong), nor anything malformed.
        #expect(CanaryMessage.answer(to: CanaryMessage.encode(.answer, nonce: nonce)) == nil)
        #expect(CanaryMessage.answer(to: request.dropLast()) == nil)
        #expect(CanaryMessage.answer(to: request + [0]) == nil)
        #expect(CanaryMessage.answer(to: [UInt8]()) == nil)
        var wrongKind = request
        wrongKind[CanaryMessage.magic.count] = 3
        #expect(CanaryMessage.answer(to: wrongKind) == nil)
        var wrongMagic = request
        wrongMagic[0] ^= 1
        #expect(CanaryMessage.answer(to: wrongMagic) == nil)
        // Random datagrams of every length around the real one: no trap, and an answer only to
        // what is exactly a request, which re-encodes to its bytes.
        var rng = SeededRNG(seed: 17)
        for _ in 0..<20_000 {
            var bytes = rng.bytes(Int.random(in: 0...(CanaryMessage.size + 3), using: &rng))
            if bytes.count >= CanaryMessage.magic.count, Bool.random(using: &rng) { bytes.replaceSubrange(0..<CanaryMessage.magic.count, with: CanaryMessage.magic) }
            if let (kind, n) = CanaryMessage.parse(bytes) { #expect(CanaryMessage.encode(kind, nonce: n) == bytes) }
            if CanaryMessage.answer(to: bytes) != nil { #expect(CanaryMessage.parse(bytes)?.kind == .request) }
        }
    }

    @Test func theRateLimitAdmitsABurstThenTheRate() {
        var limit = RateLimit(perSecond: 50, burst: 100)
        #expect((0..<150).filter { _ in limit.admit(now: 10) }.count == 100)
        #expect((0..<100).filter { _ in limit.admit(now: 11) }.count == 50)  // one second later: 50 more
        let back = limit.admit(now: 10.5)
        #expect(!back)  // a clock going back gives nothing
        #expect((0..<1000).filter { _ in limit.admit(now: 1000) }.count == 100)  // refills to the burst only
    }
}
