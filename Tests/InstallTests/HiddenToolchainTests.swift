import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Robots have no Swift toolchain: every executable the .deb ships must load and work without it.
@Suite("Shipped binaries run without the Swift toolchain")
struct HiddenToolchainTests {
    @Test("the ELF headers name no Swift library and no path under the toolchain", arguments: Install.shipped)
    func noSwiftLibraries(binary: String) throws {
        let path = Install.products + "/" + binary
        let dynamic = try run(["readelf", "--dynamic", "--wide", path]).out
        let needed = dynamic.split(separator: "\n").filter { $0.contains("(NEEDED)") }
        #expect(!needed.isEmpty, "\(binary) is dynamic, it needs libc at least")
        for line in needed {
            #expect(!line.contains("libswift") && !line.contains("libFoundation") && !line.contains("libdispatch")
                    && !line.contains("libBlocksRuntime"), "\(binary) needs a Swift runtime library: \(line)")
        }
        if let toolchain = Install.toolchain {
            for line in dynamic.split(separator: "\n") where line.contains("RUNPATH") || line.contains("RPATH") {
                #expect(!line.contains(toolchain), "\(binary) looks for libraries in the toolchain: \(line)")
            }
        }
    }

    @Test("the toolchain really is hidden in the test's namespace")
    func toolchainHidden() throws {
        try #require(Install.isRoot, "hiding the toolchain needs a mount namespace (root)")
        let toolchain = try #require(Install.toolchain)
        let r = try Install.withoutToolchain(["sh", "-c", "ls -A \"$0\"; test -e \"$0/usr/bin/swiftc\" && echo FOUND || echo GONE", toolchain])
        #expect(r.status == 0, "\(r.out)")
        #expect(r.out.contains("GONE"), "\(r.out)")
    }

    @Test("each shipped binary answers --version and --help", arguments: Install.shipped)
    func versionAndHelp(binary: String) throws {
        try #require(Install.isRoot, "hiding the toolchain needs a mount namespace (root)")
        let path = Install.products + "/" + binary
        let version = try Install.withoutToolchain([path, "--version"])
        #expect(version.status == 0, "\(binary) --version without the toolchain: \(version.out)")
        #expect(version.out.range(of: #"^\d+\.\d+\.\d+"#, options: .regularExpression) != nil, "\(version.out)")
        let help = try Install.withoutToolchain([path, "--help"])
        #expect(help.status == 0, "\(binary) --help without the toolchain: \(help.out)")
        #expect(help.out.contains("USAGE"), "\(help.out)")
    }

    /// The CLI's heaviest code: the coordinator (SQLite through GRDB, Hummingbird on NIO, the
    /// admin socket) and the admin commands, all without the toolchain.
    @Test("the coordinator serves and the admin CLI talks to it, without the toolchain")
    func coordinatorWithoutToolchain() throws {
        try #require(Install.isRoot, "hiding the toolchain needs a mount namespace (root)")
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("tw-notoolchain-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        let tw = Install.products + "/teamwire"
        // One namespace for both: the coordinator in the background, the admin CLI against it.
        let script = """
            "$0" coordinator serve --state "$1" --listen 127.0.0.1:0 --no-hub --public-endpoint 192.0.2.1:7946 & pid=$!
            trap 'kill $pid 2>/dev/null; wait $pid' EXIT
            for i in $(seq 100); do [ -S "$1/admin.sock" ] && break; sleep 0.1; done
            "$0" team create iris --state "$1" && "$0" token create iris --state "$1" >/dev/null && "$0" team list --state "$1"
            """
        let r = try Install.withoutToolchain(["sh", "-c", script, tw, state])
        #expect(r.status == 0, "\(r.out)")
        #expect(r.out.contains("created team iris"), "\(r.out)")
        #expect(FileManager.default.fileExists(atPath: state + "/coordinator.db"))
    }
}
