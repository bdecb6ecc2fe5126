// wg-kernel-check OUTPUT: drives the kernel's WireGuard through WireGuardControl (generic
// netlink and rtnetlink, no `wg` or `ip`) and checks every read-back field by field. Meant to
// run as root inside a VM whose kernel has WireGuard (scripts/test-kernel-wireguard). At the
// end it writes the device in `wg showconf` format to OUTPUT, for a diff against the real tool.
// Exits 1 with a message on the first mismatch.
import Glibc
import TeamwireCore
import WireGuardControl

let ifname = "wg0"

/// Unbuffered, so progress and the failure interleave correctly on the VM console.
func emit(_ fd: Int32, _ text: String) {
    let b = Array(text.utf8)
    _ = b.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
}

func fail(_ message: String) -> Never {
    emit(2, "wg-kernel-check: FAIL: \(message)\n")
    exit(1)
}

func check(_ ok: Bool, _ message: @autoclosure () -> String) {
    if !ok { fail(message()) }
}

func step(_ message: String) { emit(1, "wg-kernel-check: \(message)\n") }

func must<T>(_ what: String, _ body: () throws -> T) -> T {
    do { return try body() } catch { fail("\(what): \(error)") }
}

func thrown(_ body: () throws -> Void) -> WireGuardError? {
    do {
        try body()
        return nil
    } catch {
        return error as? WireGuardError
    }
}

/// SplitMix64 seeded from the clock: peer keys need not be valid curve points for the kernel.
struct RNG: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func key() -> PublicKey { try! PublicKey(rawValue: (0..<32).map { _ in UInt8.random(in: 0...255, using: &self) }) }
}

/// Every configured field of `have` equals `want` (allowed IPs as a set: the kernel keeps them
/// in a trie), and the statistics are those of a peer that never talked.
func compare(_ have: PeerState?, _ want: PeerConfiguration, _ what: String) {
    guard let have else { fail("\(what): peer \(want.publicKey) missing") }
    check(have.presharedKey == (want.presharedKey ?? .zero), "\(what): preshared key of \(want.publicKey) differs")
    check(have.endpoint == want.endpoint, "\(what): endpoint of \(want.publicKey) is \(String(describing: have.endpoint)), want \(String(describing: want.endpoint))")
    check(have.persistentKeepalive == (want.persistentKeepalive ?? 0), "\(what): keepalive of \(want.publicKey) is \(have.persistentKeepalive)")
    check(have.allowedIPs.count == want.allowedIPs.count && Set(have.allowedIPs) == Set(want.allowedIPs),
          "\(what): allowed IPs of \(want.publicKey): \(have.allowedIPs.count) \(have.allowedIPs.prefix(4)), want \(want.allowedIPs.count) \(want.allowedIPs.prefix(4))")
    check(have.protocolVersion == 1 && have.lastHandshake == nil && have.rxBytes == 0 && have.txBytes == 0,
          "\(what): statistics of \(want.publicKey): v\(have.protocolVersion) \(String(describing: have.lastHandshake)) rx \(have.rxBytes) tx \(have.txBytes)")
}

guard CommandLine.arguments.count == 2 else {
    emit(2, "usage: wg-kernel-check OUTPUT.conf   (as root, on a kernel with WireGuard; creates \(ifname))\n")
    exit(2)
}
let output = CommandLine.arguments[1]
var rng = RNG(state: UInt64(time(nil)) ^ UInt64(getpid()) << 32)

// MARK: Interface and backend

check(KernelBackend.isAvailable(), "KernelBackend.isAvailable() is false: no 'wireguard' generic netlink family")
must("creating \(ifname)") { try Link.createWireGuard(ifname) }
must("creating \(ifname) again (must be idempotent)") { try Link.createWireGuard(ifname) }
let link = must("describing \(ifname)") { try Link.describe(ifname) }
check(link.kind == "wireguard" && !link.isUp, "\(ifname) is \(link)")
check(thrown { try Link.createWireGuard("lo") } == .notWireGuard("lo"), "createWireGuard(lo) must refuse: lo is not WireGuard")
let backend = must("opening the kernel backend") { try KernelBackend(interfaceName: ifname) }
let device = WireGuardDevice(backend: backend)
check(device.kind == .kernel, "backend kind \(device.kind)")
check(thrown { _ = try KernelBackend(interfaceName: "lo").read() } == .notWireGuard("lo"), "reading lo must say notWireGuard")
check(thrown { _ = try KernelBackend(interfaceName: "wg9").read() } == .noSuchInterface("wg9"), "reading wg9 must say noSuchInterface")
let empty = must("reading the new device") { try device.read() }
check(empty.name == ifname && empty.privateKey == nil && empty.peers.isEmpty && empty.fwmark == 0, "fresh device: \(ConfigText.showconf(empty))")
step("created \(ifname) (family id \(backend.family)); errors map to notWireGuard / noSuchInterface")

// MARK: A small configuration, field by field

let privateKey = PrivateKey.generate()
let small = [
    PeerConfiguration(publicKey: rng.key(), presharedKey: .generate(), endpoint: Endpoint("192.0.2.1:51820"),
                      allowedIPs: [IPAddressRange("10.10.0.0/16")!, IPAddressRange("100.64.0.2/32")!], persistentKeepalive: 25),
    PeerConfiguration(publicKey: rng.key(), endpoint: Endpoint("[2001:db8::1]:51821"),
                      allowedIPs: [IPAddressRange("fd00:1::/64")!, IPAddressRange("100.64.0.3/32")!]),
    PeerConfiguration(publicKey: rng.key(), allowedIPs: [IPAddressRange("100.64.0.4/32")!]),
]
let config = DeviceConfiguration(interface: InterfaceConfiguration(privateKey: privateKey, listenPort: 51820, fwmark: 0x2a), peers: small)
must("applying the configuration") { try device.replace(with: config) }
let s1 = must("reading back") { try device.read() }
check(s1.privateKey.map { $0.constantTimeEquals(privateKey) } == true, "private key differs")
check(s1.publicKey == privateKey.publicKey, "public key differs")
check(s1.listenPort == 51820, "listen port \(s1.listenPort)")
check(s1.fwmark == 0x2a, "fwmark \(s1.fwmark)")
check(s1.peers.map(\.publicKey) == small.map(\.publicKey), "peers (in order) differ: \(s1.peers.map(\.publicKey))")
for p in small { compare(s1.peer(p.publicKey), p, "small configuration") }
let noop = must("reconciling with the same configuration") { try device.reconcile(to: config) }
check(noop.isEmpty, "reconcile found \(noop.peers.count) peer changes on a device that matches")
step("3 peers (IPv4 and IPv6 endpoints, preshared key, keepalive) read back field by field; reconcile is a no-op")

// MARK: 2,000 peers: several SET messages, a multi-part dump

var bulk: [PeerConfiguration] = []
for i in 0..<2000 {
    let endpoint: Endpoint? = switch i % 3 {
    case 0: Endpoint(host: .ipv4(IPv4Address(0xC633_6400 + UInt32(i % 250 + 1))), port: UInt16(20000 + i))  // 198.51.100.x
    case 1: Endpoint(host: .ipv6(IPv6Address(bytes: [0x20, 0x01, 0x0d, 0xb8, 0, 2] + [UInt8](repeating: 0, count: 8) + [UInt8(i >> 8), UInt8(i & 255)])!), port: 51820)
    default: nil
    }
    bulk.append(PeerConfiguration(
        publicKey: rng.key(), presharedKey: i % 4 == 0 ? .generate() : nil, endpoint: endpoint,
        allowedIPs: [.host(IPv4Address(0x6441_0000 + UInt32(i + 1))), IPAddressRange(family: .v6, bytes: [0xfd, 2] + [UInt8](repeating: 0, count: 12) + [UInt8(i >> 8), UInt8(i & 255)], prefixLength: 128)!],
        persistentKeepalive: i % 10 == 0 ? 15 : nil))
}
// One peer with 1,500 allowed IPs: its allowed IPs span messages both ways.
bulk.append(PeerConfiguration(publicKey: rng.key(), endpoint: Endpoint("203.0.113.9:4500"),
                              allowedIPs: (0..<1500).map { .host(IPv4Address(0x0A80_0000 + UInt32($0))) }))
let bulkUpdate = DeviceUpdate(peers: bulk.map { PeerUpdate(adding: $0) })
let messages = must("encoding") { try WireGuardNetlink.setMessages(bulkUpdate, interface: ifname, family: backend.family, maxMessageSize: backend.maxMessageSize) }
check(messages.count > 1, "2,001 peers fit in one message?")
let t0 = ContinuousClock.now
must("applying 2,001 peers") { try device.apply(bulkUpdate) }
let t1 = ContinuousClock.now
let s2 = must("reading 2,004 peers") { try device.read() }
let t2 = ContinuousClock.now
check(s2.peers.count == 3 + bulk.count, "\(s2.peers.count) peers after adding \(bulk.count) to 3")
check(s2.peers.map(\.publicKey) == small.map(\.publicKey) + bulk.map(\.publicKey), "peer order differs after the bulk add")
for p in small { compare(s2.peer(p.publicKey), p, "after the bulk add, an earlier peer") }
for p in bulk { compare(s2.peer(p.publicKey), p, "bulk peer") }
check(s2.peers.last!.allowedIPs.count == 1500, "the big peer has \(s2.peers.last!.allowedIPs.count) allowed IPs")
step("2,001 peers in \(messages.count) SET messages (\(t1 - t0)); read back in \(t2 - t1), all fields checked")

// MARK: Remove one peer, replace one peer's allowed IPs, touch nothing else

let victim = bulk[5].publicKey, changed = bulk[6], ghost = rng.key()
let newIPs = [IPAddressRange("100.66.0.1/32")!, IPAddressRange("100.66.1.0/24")!]
must("removing and updating") {
    try device.apply(DeviceUpdate(peers: [
        .removing(victim),
        PeerUpdate(publicKey: changed.publicKey, updateOnly: true, replaceAllowedIPs: true, allowedIPs: newIPs),
        PeerUpdate(publicKey: ghost, updateOnly: true, allowedIPs: [IPAddressRange("100.66.2.2/32")!]),  // must not be created
    ]))
}
let s3 = must("reading after the change") { try device.read() }
check(s3.peers.count == s2.peers.count - 1, "\(s3.peers.count) peers after removing one of \(s2.peers.count)")
check(s3.peer(victim) == nil, "removed peer still there")
check(s3.peer(ghost) == nil, "UPDATE_ONLY created a peer")
var want = changed
want.allowedIPs = newIPs
compare(s3.peer(changed.publicKey), want, "updated peer")
for p in s2.peers where p.publicKey != victim && p.publicKey != changed.publicKey {
    check(s3.peer(p.publicKey) == p, "untouched peer \(p.publicKey) changed")
}
check(s3.peers.map(\.publicKey) == s2.peers.map(\.publicKey).filter { $0 != victim }, "peer order changed")
step("removed one peer, replaced one peer's allowed IPs (UPDATE_ONLY, no peer created); \(s3.peers.count - 1) others unchanged")

// MARK: Address, MTU, up, route

let overlay = IPv4Address("100.64.0.1")!
must("setting the MTU") { try Link.setMTU(ifname, 1380) }
must("adding \(overlay)/24") { try Link.addAddress(ifname, overlay, prefixLength: 24) }
must("adding \(overlay)/24 again (idempotent)") { try Link.addAddress(ifname, overlay, prefixLength: 24) }
must("bringing \(ifname) up") { try Link.setUp(ifname) }
let up = must("describing") { try Link.describe(ifname) }
check(up.isUp && up.mtu == 1380, "\(ifname) after set up: \(up)")
let addresses = must("listing addresses") { try Link.listAddresses(ifname) }
check(addresses.count == 1 && addresses[0].address == overlay && addresses[0].prefixLength == 24, "addresses: \(addresses)")
let route = IPv4Prefix("100.64.128.0/17")!
must("adding a route") { try Link.addRoute(route, interface: ifname) }
must("adding the route again (idempotent)") { try Link.addRoute(route, interface: ifname) }
let routes = must("listing routes") { try Link.routes(ifname) }
check(Set(routes) == [route, IPv4Prefix("100.64.0.0/24")!], "routes via \(ifname): \(routes)")
step("\(ifname) up, MTU 1380, address \(overlay)/24, routes \(routes.map(\.description).joined(separator: ", "))")

// MARK: The final state, as `wg showconf` prints it

let final = must("reading the final state") { try device.read() }
let text = ConfigText.showconf(final)
guard let f = fopen(output, "w") else { fail("cannot write \(output): \(String(cString: strerror(errno)))") }
check(fputs(text, f) >= 0 && fclose(f) == 0, "writing \(output) failed")
step("wrote \(final.peers.count) peers in wg showconf format to \(output) (\(text.utf8.count) bytes)")
step("OK")
