import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Where the suites find what they install: the repository, the built products, the toolchain.
enum Install {
    /// The repository root (this file is Tests/InstallTests/Install.swift).
    static let repo: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// The directory holding the built executables, beside the test bundle.
    static let products: String = {
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundleDir, bundleDir.deletingLastPathComponent()] {
            if FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("teamwire").path) { return candidate.path }
        }
        return repo + "/.build/debug"
    }()

    /// Every executable the .deb ships.
    static let shipped = ["teamwire", "teamwire-agent"]

    /// The Swift toolchain's root (/opt/swift for /opt/swift/usr/bin/swiftc): what a robot lacks.
    static let toolchain: String? = {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") + ["/opt/swift/usr/bin"] {
            let swiftc = "\(dir)/swiftc"
            guard FileManager.default.isExecutableFile(atPath: swiftc),
                  let real = realpath(swiftc, nil) else { continue }
            defer { free(real) }
            // ROOT/usr/bin/swiftc
            return URL(fileURLWithPath: String(cString: real)).deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().path
        }
        return nil
    }()

    static var isRoot: Bool { geteuid() == 0 }

    /// Runs `args` in a new mount namespace where the toolchain directory is an empty tmpfs, as on
    /// a robot that never had Swift installed.
    static func withoutToolchain(_ args: [String], check: Bool = false) throws -> (status: Int32, out: String) {
        guard let toolchain else { throw LabError("no Swift toolchain found to hide") }
        let script = "mount -t tmpfs -o size=1m,mode=0755 teamwire-no-swift \"$0\" && exec \"$@\""
        return try run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, toolchain] + args, check: check)
    }
}
