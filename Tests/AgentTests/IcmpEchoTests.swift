@testable import Agent
import AgentClient
import Testing
import TeamwireCore

/// The echo `teamwire ping` sends: its bytes, what counts as its answer, and a real round trip
/// through the loopback interface (the kernel answers; the campus test pings members).
@Suite("ICMP echo")
struct IcmpEchoTests {
    @Test func requestBytesAndChecksum() {
        let p = IcmpEcho.echoRequest(identifier: 0x1234, sequence: 7, payload: [1, 2, 3])
        #expect(Array(p[0..<2]) == [8, 0] && Array(p[4...]) == [0x12, 0x34, 0, 7, 1, 2, 3])
        // A correct checksum makes the whole message sum to zero.
        #expect(IcmpEcho.checksum(p) == 0)
        // RFC 1071's example: 0001 f203 f4f5 f6f7 sums to ddf2, so the checksum is 220d.
        #expect(IcmpEcho.checksum([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]) == 0x220d)
    }

    @Test func onlyTheAnswerToThisProbeCounts() {
        let payload = IcmpEcho.magic + [9, 9]
        let reply: [UInt8] = [0, 0, 0, 0, 0xab, 0xcd, 0, 5] + payload
        let ipHeader: [UInt8] = [0x45] + [UInt8](repeating: 0, count: 19)
        #expect(IcmpEcho.isEchoReply(reply, raw: false, sequence: 5, payload: payload))
        #expect(IcmpEcho.isEchoReply(ipHeader + reply, raw: true, sequence: 5, payload: payload))
        #expect(!IcmpEcho.isEchoReply(reply, raw: false, sequence: 6, payload: payload))  // another probe's
        #expect(!IcmpEcho.isEchoReply(reply, raw: false, sequence: 5, payload: IcmpEcho.magic + [9, 8]))  // an earlier run's
        var request = reply
        request[0] = 8
        #expect(!IcmpEcho.isEchoReply(request, raw: false, sequence: 5, payload: payload))  // our own request, seen by a raw socket
        #expect(!IcmpEcho.isEchoReply([0x46, 0], raw: true, sequence: 5, payload: payload))
        #expect(!IcmpEcho.isEchoReply([], raw: true, sequence: 5, payload: payload))
    }

    @Test func aRealEchoThroughLoopback() async throws {
        let (rtt, _, _) = try await IcmpEcho.probe(IPv4Address("127.0.0.1")!, interface: "lo", sequence: 1, timeout: .seconds(2))
        let t = try #require(rtt)
        #expect(t > .zero && t < .seconds(1))
        // A large probe with DF set (a path MTU probe): loopback's MTU carries it whole.
        let (big, _, tooBig) = try await IcmpEcho.probe(IPv4Address("127.0.0.1")!, interface: "lo", sequence: 3, timeout: .seconds(2),
                                                         payloadSize: 8972, dontFragment: true)
        #expect(big != nil && !tooBig)
        // An interface that does not exist is a sentence, not a silent timeout.
        await #expect(throws: AgentError.self) {
            _ = try await IcmpEcho.probe(IPv4Address("127.0.0.1")!, interface: "tw-nonexistent", sequence: 2, timeout: .seconds(1))
        }
    }
}
