// swift-tools-version: 6.0
import PackageDescription

/// Link settings of every executable the .deb ships (teamwire, teamwire-agent): robots have no
/// Swift toolchain, so the Swift runtime and Foundation are linked statically (only the code used
/// is mapped: 2.3 MiB less resident than the shared libraries), with lld packing the relative
/// relocations (DT_RELR, 10 KiB instead of 1.2 MiB that ld.so reads at every start) and no symbols
/// exported (nothing dlopens them). InstallTests runs each with the toolchain hidden.
let shippedExecutable: [LinkerSetting] = [
    .unsafeFlags(["-static-stdlib", "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
                  "-Xlinker", "--no-export-dynamic"]),
    // Foundation's static archives the driver does not name (the agent links none of CoreFoundation or ICU).
    .linkedLibrary("_FoundationCollections"), .linkedLibrary("_FoundationCShims"), .linkedLibrary("_FoundationICU"), .linkedLibrary("CoreFoundation"),
]

let package = Package(
    name: "teamwire",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "teamwire", targets: ["teamwire"]),
        .executable(name: "teamwire-agent", targets: ["teamwire-agent"]),
        .executable(name: "teamwire-bench", targets: ["teamwire-bench"]),
        .library(name: "TeamwireCore", targets: ["TeamwireCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.25.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
    ],
    targets: [
        // C libraries, each linked only by the target that needs it.
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CMnl", pkgConfig: "libmnl", providers: [.apt(["libmnl-dev"])]),
        .systemLibrary(name: "CAvahi", pkgConfig: "avahi-client", providers: [.apt(["libavahi-client-dev"])]),
        // Sets the Swift runtime's global-executor hook by a linked reference (teamwire-agent).
        .target(name: "CConcurrencyHook"),

        // Pure core: value types and protocol logic, no I/O.
        .target(name: "TeamwireCore", dependencies: ["CSodium"]),
        // The daemons' log handler: text with millisecond times, the journal's priority prefixes
        // under systemd, or one JSON object per line.
        .target(name: "TeamwireLogging", dependencies: ["TeamwireCore", .product(name: "Logging", package: "swift-log")]),
        // What both daemons keep on the host: the exclusive lock on a state directory, the
        // private key file, and who may use a Unix socket (agent.sock, admin.sock).
        .target(name: "DaemonFiles", dependencies: ["TeamwireCore"]),

        // WireGuard devices: kernel (generic netlink through libmnl) or wireguard-go (UAPI),
        // plus links, addresses and routes over rtnetlink.
        .target(
            name: "WireGuardControl",
            dependencies: ["TeamwireCore", "CMnl", .product(name: "Logging", package: "swift-log")]
        ),

        // The coordinator: SQLite store, team state, public and admin HTTP APIs, the hub relay.
        .target(
            name: "Coordinator",
            dependencies: [
                "TeamwireCore", "WireGuardControl", "DaemonFiles",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Clients of the coordinator: the node side of the sealed protocol and the admin socket.
        .target(
            name: "CoordinatorClient",
            dependencies: [
                "TeamwireCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The agent's state directory layout and the client of its API on agent.sock (join,
        // status, leave, ping): what the CLI needs of the agent, without the daemon.
        .target(
            name: "AgentClient",
            dependencies: [
                "TeamwireCore", "CoordinatorClient", "DaemonFiles",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // The node's daemon: enrols, keeps each team's WireGuard interface in sync with the team
        // map, picks direct or relayed paths, answers join/status/leave on its Unix socket.
        .target(
            name: "Agent",
            dependencies: [
                "TeamwireCore", "AgentClient", "DaemonFiles", "CoordinatorClient", "WireGuardControl", "RosBridge", "AvahiPublisher", "TeamwireLogging",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // ROS outputs, pure: the ROS env file, CycloneDDS and Fast DDS files and hosts file
        // rendered from the team map, and the mDNS names members are published under.
        .target(name: "RosBridge", dependencies: ["TeamwireCore"]),
        // `teamwire doctor`'s findings from what it gathered (pure; the command does the I/O).
        .target(name: "Doctor", dependencies: ["TeamwireCore"]),
        // Publishes members' names and the ROS master on the local avahi-daemon (libavahi-client).
        .target(
            name: "AvahiPublisher",
            dependencies: ["TeamwireCore", "CAvahi", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "teamwire",
            dependencies: [
                "TeamwireCore", "Coordinator", "CoordinatorClient", "AgentClient", "DaemonFiles", "WireGuardControl", "RosBridge", "TeamwireLogging", "Doctor",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            linkerSettings: shippedExecutable
        ),
        .executableTarget(
            name: "teamwire-agent",
            dependencies: [
                "TeamwireCore", "Agent", "DaemonFiles", "WireGuardControl", "CConcurrencyHook", "TeamwireLogging",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: shippedExecutable
        ),
        .executableTarget(
            name: "teamwire-bench",
            dependencies: [
                "TeamwireCore", "CoordinatorClient", "WireGuardControl",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Runs inside a VM with the kernel's WireGuard (scripts/test-kernel-wireguard).
        .executableTarget(name: "wg-kernel-check", dependencies: ["WireGuardControl", "TeamwireCore"]),
        .testTarget(name: "TeamwireCoreTests", dependencies: ["TeamwireCore", "TestSupport"]),
        .testTarget(name: "DoctorTests", dependencies: ["Doctor", "TeamwireCore"]),
        .testTarget(name: "TeamwireLoggingTests", dependencies: ["TeamwireLogging", .product(name: "Logging", package: "swift-log")]),
        .testTarget(
            name: "CoordinatorTests",
            dependencies: [
                "TeamwireCore", "Coordinator", "CoordinatorClient", "WireGuardControl", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "AgentTests",
            dependencies: ["Agent", "AgentClient", "WireGuardControl", "TestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "DaemonFilesTests", dependencies: ["DaemonFiles", "TeamwireCore"]),
        .testTarget(name: "WireGuardControlTests", dependencies: ["WireGuardControl", "TeamwireCore", "CMnl", "TestSupport"]),
        // End-to-end on scripts/campus-lab: runs the built `teamwire` binary in namespaces.
        .testTarget(name: "CampusTests", dependencies: ["TeamwireCore", "TestSupport", "Doctor"]),
        // Running programs from tests (posix_spawn, output to a file; `sh`) and the seeded RNG, shared by the test targets.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "RosBridgeTests", dependencies: ["RosBridge", "TeamwireCore", "TestSupport"]),
        .testTarget(name: "AvahiPublisherTests", dependencies: ["AvahiPublisher", "TeamwireCore", "CAvahi", "TestSupport"]),
        .testTarget(name: "SystemLibraryTests", dependencies: ["CMnl", "CAvahi", "CSodium"]),
        // Installing on a robot (issue 16): the shipped binaries with the toolchain hidden, the
        // .deb installed, upgraded and purged, the ROS package built with colcon, the systemd
        // units rated by systemd-analyze. Runs built programs and scripts, links none of the code.
        .testTarget(name: "InstallTests", dependencies: ["TeamwireCore", "TestSupport"]),

        // Fuzzing (issue 15): one harness function per parser that takes outside bytes, checking
        // what must hold for any input. `scripts/fuzz` builds `teamwire-fuzz` with libFuzzer and
        // ASan (-DTEAMWIRE_FUZZ); the normal build makes it a replayer of files, and
        // FuzzRegressionTests replays Fuzz/corpus and Fuzz/regressions through the same functions.
        .target(name: "FuzzHarness", dependencies: ["TeamwireCore", "WireGuardControl", "RosBridge", "CFuzzerDriver"]),
        .executableTarget(name: "teamwire-fuzz", dependencies: ["FuzzHarness"]),
        // The coordinator's request handlers on a real SQLite state: its own executable, since
        // GRDB, Hummingbird and NIO make the sanitized build several times longer.
        .target(
            name: "FuzzCoordinatorHarness",
            dependencies: ["FuzzHarness", "Coordinator", "TeamwireCore", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(name: "teamwire-fuzz-coordinator", dependencies: ["FuzzCoordinatorHarness", "FuzzHarness"]),
        // Declares libFuzzer's driver, which the fuzz build's entry point calls.
        .target(name: "CFuzzerDriver"),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzHarness", "FuzzCoordinatorHarness"]),
    ],
    swiftLanguageModes: [.v6]
)
