/// One function per parser that takes bytes from outside. Each runs the real parser on the bytes
/// and checks what must hold for any input; it traps (`require`) only when such a property is
/// broken, so under libFuzzer a trap is a finding, and in `swift test` a replayed finding
/// crashes the test run.
public enum FuzzHarness {
    public struct Target: Sendable {
        public let name: String
        /// What it runs and checks, for `teamwire-fuzz --list` and the README.
        public let summary: String
        public let run: @Sendable ([UInt8]) -> Void

        package init(name: String, summary: String, run: @escaping @Sendable ([UInt8]) -> Void) {
            self.name = name
            self.summary = summary
            self.run = run
        }
    }

    public static let targets: [Target] = [
        Target(name: "token", summary: "EnrolmentToken(parsing:): a token that parses re-encodes (.text) to an equal token", run: token),
        Target(name: "frames", summary: "Envelope.decodeRequest/decodeReply and opening on raw HTTP bodies (a decoded envelope re-encodes to its bytes; no box opens), PathSignalMessage.parse and CanaryMessage.parse/answer on raw datagrams", run: frames),
        Target(name: "sealed-request", summary: "the request JSON inside a correctly sealed box: ControlCodec.openRequest for every operation, OpenedRequest.body for every body type, ReplayWindow.admit; what decodes re-seals and opens equal", run: sealedRequest),
        Target(name: "sealed-reply", summary: "the reply JSON inside a correctly sealed box: ControlCodec.openReply for every reply type; what decodes re-seals and opens equal", run: sealedReply),
        Target(name: "strict-json", summary: "StrictJSON.decode for the coordinator's admin and node messages: decodes or throws APIError; what decodes re-encodes and decodes equal", run: strictJSON),
        Target(name: "uapi", summary: "UAPI.parseGet/parseSet (wireguard-go replies): a parsed device written back as a reply parses equal; showconf renders it", run: uapi),
        Target(name: "netlink", summary: "netlink: NetlinkReceived.split, NetlinkAttribute.parse (nested), NetlinkSocket.parseError, Link.parseLink, GenericNetlink.familyID, WireGuardNetlink.decodeDevice; a decoded device re-encoded by setMessages decodes equal", run: netlink),
        Target(name: "ros-env", summary: "RosEnvironment.entries/parse/unsetNames: parsed entries written back with teamwire's quoting parse equal", run: rosEnvironment),
        Target(name: "addresses", summary: "IPv4Address, IPv6Address, IPv4Prefix, Endpoint, IPAddressRange, keys, TokenID, Base64, Hex: what parses prints to text that parses back equal", run: addresses),
        Target(name: "agent-api", summary: "the agent socket's JoinRequest/LeaveRequest bodies (AgentRequestBody.decode) and the checks join/leave run first", run: agentAPI),
    ]

    public static func target(named name: String) -> Target? { targets.first { $0.name == name } }

    /// A property every input must satisfy; a violation is a bug to fix, not an input to refuse.
    package static func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                        file: StaticString = #fileID, line: UInt = #line) {
        if !condition() { fatalError("fuzz property violated: \(message())", file: file, line: line) }
    }

    /// The input as text, as the parsers that take `String` receive it from a file or socket.
    package static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
