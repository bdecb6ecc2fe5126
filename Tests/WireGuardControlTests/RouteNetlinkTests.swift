import Foundation
import Glibc
import Testing
import TeamwireCore
import WireGuardControl
import TestSupport

/// A fresh network namespace for one test, removed afterwards whatever happens. `run` executes
/// a body on a new thread that has joined it: netlink sockets and if_nametoindex act in the
/// namespace of the calling thread, and a test's own task threads must never be moved.
final class ScratchNamespace: Sendable {
    let name = "tw-rtnl-\(getpid() % 100_000)-\(UInt32.random(in: 0..<1_000_000))"

    static func with<R>(_ body: (ScratchNamespace) async throws -> R) async throws -> R {
        let ns = ScratchNamespace()
        try sh(["ip", "netns", "add", ns.name])
        defer { _ = try? sh(["ip", "netns", "del", ns.name], check: false) }
        return try await body(ns)
    }

    /// `withoutNetAdmin`: the thread also drops CAP_NET_ADMIN (capabilities are per thread).
    func run<T: Sendable>(withoutNetAdmin: Bool = false, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        let path = "/var/run/netns/\(name)"
        return try await withCheckedThrowingContinuation { (done: CheckedContinuation<T, Error>) in
            let thread = Thread {
                let fd = open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0, joinNetworkNamespace(fd) == 0 else {
                    done.resume(throwing: LabError("cannot join \(path): errno \(errno)"))
                    return
                }
                close(fd)
                if withoutNetAdmin, !dropNetAdmin() {
                    done.resume(throwing: LabError("cannot drop CAP_NET_ADMIN: errno \(errno)"))
                    return
                }
                done.resume(with: Result { try body() })
            }
            thread.start()
        }
    }
}

/// setns(2) with CLONE_NEWNET; Swift's Glibc module leaves out the _GNU_SOURCE declaration.
private func joinNetworkNamespace(_ fd: Int32) -> Int32 {
    typealias SetNS = @convention(c) (Int32, Int32) -> Int32
    guard let sym = dlsym(nil, "setns") else { return -1 }  // RTLD_DEFAULT
    return unsafeBitCast(sym, to: SetNS.self)(fd, 0x4000_0000)
}

/// Clears CAP_NET_ADMIN from the calling thread's effective set (capget/capset, version 3).
private func dropNetAdmin() -> Bool {
    typealias Cap = @convention(c) (UnsafeMutableRawPointer, UnsafeMutableRawPointer) -> Int32
    guard let get = dlsym(nil, "capget"), let set = dlsym(nil, "capset") else { return false }
    var header: [UInt32] = [0x2008_0522, 0]  // _LINUX_CAPABILITY_VERSION_3, this thread
    var data = [UInt32](repeating: 0, count: 6)  // {effective, permitted, inheritable} x 2
    guard unsafeBitCast(get, to: Cap.self)(&header, &data) == 0 else { return false }
    data[0] &= ~(UInt32(1) << 12)  // CAP_NET_ADMIN
    return unsafeBitCast(set, to: Cap.self)(&header, &data) == 0
}

/// The error a call threw, if it was a WireGuardError (nil when it succeeded).
func wireGuardError(_ body: () throws -> Void) -> WireGuardError? {
    do {
        try body()
        return nil
    } catch {
        return error as? WireGuardError
    }
}

/// Links, addresses and routes on the host's real rtnetlink, inside a scratch namespace.
@Suite(.serialized)
struct RouteNetlinkTests {
    struct Observed: Sendable {
        var kind: String
        var created: Link.Description
        var afterUp: Link.Description
        var addresses: [String]
        var afterRemove: [String]
        var routes: [IPv4Prefix]
        var routesAfterRemove: [IPv4Prefix]
        var ipAddr: String
        var ipRoute: String
        var secondCreate: WireGuardError?
        var wireguardOverDummy: WireGuardError?
        var deleted: Bool
        var deleteAgain: WireGuardError?
        var missingIndex: WireGuardError?
        var mtuOfMissing: WireGuardError?
    }

    /// Creates `name` with the first link kind this kernel has (this host has no `dummy`).
    static func createScratchLink(_ name: String) throws -> String {
        for kind in ["dummy", "ifb", "bridge"] {
            if case .system(_, EOPNOTSUPP)? = wireGuardError({ try Link.create(name, kind: kind) }) { continue }
            try Link.create(name, kind: kind)  // again: idempotent, and any other error surfaces
            return kind
        }
        throw LabError("the kernel has none of the dummy, ifb and bridge link kinds")
    }

    @Test func scratchLinkAddressesAndRoutes() async throws {
        let observed = try await ScratchNamespace.with { ns in
            try await ns.run { [name = ns.name] () throws -> Observed in
                let kind = try RouteNetlinkTests.createScratchLink("twd0")
                let secondCreate = wireGuardError { try Link.create("twd0", kind: kind) }  // idempotent
                let created = try Link.describe("twd0")
                try Link.setUp("twd0")
                try Link.setMTU("twd0", 1380)
                let afterUp = try Link.describe("twd0")
                let mtuOfMissing = wireGuardError { try Link.setMTU("twnone0", 1280) }

                try Link.addAddress("twd0", IPv4Address("100.64.0.1")!, prefixLength: 24)
                try Link.addAddress("twd0", IPv4Address("100.64.0.1")!, prefixLength: 24)  // idempotent
                try Link.addAddress("twd0", IPv4Address("100.64.7.9")!, prefixLength: 32)
                let addresses = try Link.listAddresses("twd0").map { "\($0.address)/\($0.prefixLength)" }
                try Link.removeAddress("twd0", IPv4Address("100.64.7.9")!, prefixLength: 32)
                try Link.removeAddress("twd0", IPv4Address("100.64.7.9")!, prefixLength: 32)  // idempotent
                let afterRemove = try Link.listAddresses("twd0").map { "\($0.address)/\($0.prefixLength)" }

                try Link.addRoute(IPv4Prefix("100.64.1.0/24")!, interface: "twd0")
                try Link.addRoute(IPv4Prefix("100.64.1.0/24")!, interface: "twd0")  // idempotent
                try Link.addRoute(IPv4Prefix("100.65.0.0/16")!, interface: "twd0")
                let routes = try Link.routes("twd0")
                // Cross-check what we wrote with iproute2.
                let ipAddr = try sh(["ip", "-n", name, "-4", "-o", "addr", "show", "dev", "twd0"]).out
                let ipRoute = try sh(["ip", "-n", name, "-4", "route", "show", "dev", "twd0"]).out
                try Link.removeRoute(IPv4Prefix("100.65.0.0/16")!, interface: "twd0")
                try Link.removeRoute(IPv4Prefix("100.65.0.0/16")!, interface: "twd0")  // idempotent
                let routesAfterRemove = try Link.routes("twd0")

                let wireguardOverDummy = wireGuardError { try Link.createWireGuard("twd0") }
                try Link.setUp("twd0", up: false)
                try Link.delete("twd0")
                return Observed(
                    kind: kind, created: created, afterUp: afterUp, addresses: addresses, afterRemove: afterRemove, routes: routes,
                    routesAfterRemove: routesAfterRemove, ipAddr: ipAddr, ipRoute: ipRoute, secondCreate: secondCreate,
                    wireguardOverDummy: wireguardOverDummy, deleted: !Link.exists("twd0"),
                    deleteAgain: wireGuardError { try Link.delete("twd0") },
                    missingIndex: wireGuardError { _ = try Link.ifindex("twd0") }, mtuOfMissing: mtuOfMissing)
            }
        }
        #expect(observed.secondCreate == nil)
        #expect(observed.created.name == "twd0" && observed.created.kind == observed.kind && !observed.created.isUp && observed.created.index > 0)
        #expect(observed.afterUp.isUp && observed.afterUp.mtu == 1380)
        #expect(observed.mtuOfMissing == .noSuchInterface("twnone0"))
        #expect(observed.addresses == ["100.64.0.1/24", "100.64.7.9/32"])
        #expect(observed.afterRemove == ["100.64.0.1/24"])
        #expect(observed.ipAddr.contains("inet 100.64.0.1/24") && !observed.ipAddr.contains("100.64.7.9"))
        // The kernel's connected route for the address, and ours.
        #expect(Set(observed.routes) == Set(["100.64.0.0/24", "100.64.1.0/24", "100.65.0.0/16"].map { IPv4Prefix($0)! }))
        #expect(observed.ipRoute.contains("100.64.1.0/24 scope link") && observed.ipRoute.contains("100.65.0.0/16 scope link"))
        #expect(Set(observed.routesAfterRemove) == Set(["100.64.0.0/24", "100.64.1.0/24"].map { IPv4Prefix($0)! }))
        #expect(observed.wireguardOverDummy == .notWireGuard("twd0"))
        #expect(observed.deleted)
        #expect(observed.deleteAgain == .noSuchInterface("twd0"))
        #expect(observed.missingIndex == .noSuchInterface("twd0"))
    }

    @Test func namespaceIsolation() async throws {
        // What a thread does in the scratch namespace is invisible here, and the reverse.
        let inside = try await ScratchNamespace.with { ns in
            try await ns.run { () throws -> (Bool, Bool) in
                _ = try RouteNetlinkTests.createScratchLink("twiso0")
                return (Link.exists("twiso0"), Link.exists("lo"))
            }
        }
        #expect(inside == (true, true))
        #expect(!Link.exists("twiso0"))
    }

    @Test func kernelWireGuard() async throws {
        // This host has no wireguard module (checked with the kernel's module list); where one
        // is present the same calls must work instead. scripts/test-kernel-wireguard covers the
        // kernel backend in a VM that has it.
        let hostHasModule = access("/sys/module/wireguard", F_OK) == 0
        let (create, backend, available) = try await ScratchNamespace.with { ns in
            try await ns.run { () -> (WireGuardError?, WireGuardError?, Bool) in
                (wireGuardError { try Link.createWireGuard("twwg0") },
                 wireGuardError { _ = try KernelBackend(interfaceName: "twwg0").read() },
                 KernelBackend.isAvailable())
            }
        }
        if hostHasModule {
            #expect(create == nil && backend == nil && available)
        } else {
            #expect(create == .kernelModuleMissing)
            #expect(backend == .kernelModuleMissing)
            #expect(!available)
        }
    }

    @Test func withoutCapNetAdminIsPermissionDenied() async throws {
        let (create, address, list) = try await ScratchNamespace.with { ns in
            try await ns.run(withoutNetAdmin: true) { () -> (WireGuardError?, WireGuardError?, Int) in
                (wireGuardError { try Link.create("twperm0", kind: "ifb") },
                 wireGuardError { try Link.addAddress("lo", IPv4Address("10.9.9.9")!, prefixLength: 32) },
                 try Link.listAddresses("lo").count)  // reading needs no capability
            }
        }
        guard case .permissionDenied? = create else { Issue.record("create gave \(String(describing: create))"); return }
        guard case .permissionDenied? = address else { Issue.record("addAddress gave \(String(describing: address))"); return }
        #expect(list == 0)
    }

    @Test func refusesBadNamesAndKinds() async throws {
        let results = try await ScratchNamespace.with { ns in
            try await ns.run { () -> [WireGuardError?] in
                [wireGuardError { try Link.create("", kind: "dummy") },
                 wireGuardError { try Link.create("sixteen-chars-xx", kind: "dummy") },
                 wireGuardError { try Link.create("a/b", kind: "dummy") },
                 wireGuardError { try Link.create("twk0", kind: "no-such-kind") },
                 wireGuardError { try Link.setUp("twnone0") },
                 wireGuardError { try Link.addAddress("lo", IPv4Address("10.0.0.1")!, prefixLength: 33) },
                 wireGuardError { try Link.addRoute(IPv4Prefix("10.9.0.0/16")!, interface: "twnone0") }]
            }
        }
        for r in results.prefix(3) {
            if case .invalidConfiguration? = r {} else { Issue.record("bad name gave \(String(describing: r))") }
        }
        if case .system(_, let e)? = results[3] { #expect(e == EOPNOTSUPP) } else { Issue.record("unknown kind gave \(String(describing: results[3]))") }
        #expect(results[4] == .noSuchInterface("twnone0"))
        if case .invalidConfiguration? = results[5] {} else { Issue.record("/33 gave \(String(describing: results[5]))") }
        #expect(results[6] == .noSuchInterface("twnone0"))
    }
}
