import FuzzHarness

#if canImport(Glibc)
import Glibc
#endif

// Built two ways. `scripts/fuzz` builds it with -sanitize=fuzzer,address and -DTEAMWIRE_FUZZ: then
// libFuzzer's main drives `LLVMFuzzerTestOneInput` with the target that TEAMWIRE_FUZZ_TARGET names.
// The normal build (so `swift build` checks it compiles) replays files through a target instead.

/// To standard error (glibc's `stderr` is a global var that Swift 6 will not read).
func complain(_ message: String) {
    var line = "teamwire-fuzz: " + message + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// The target named by TEAMWIRE_FUZZ_TARGET, or an exit naming the targets.
func selectedTarget() -> FuzzHarness.Target {
    let name = getenv("TEAMWIRE_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = FuzzHarness.target(named: name) else {
        complain("set TEAMWIRE_FUZZ_TARGET to one of: \(FuzzHarness.targets.map(\.name).joined(separator: " "))")
        exit(2)
    }
    return target
}

#if TEAMWIRE_FUZZ
import CFuzzerDriver

/// Chosen before libFuzzer starts, and only read after: libFuzzer runs inputs on one thread.
nonisolated(unsafe) var fuzzTarget: FuzzHarness.Target?

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzTarget!.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// SwiftPM links this module's entry point as `main` (on Linux it renames it so tests can link
/// executables): here it is, taking libFuzzer's command line.
@_cdecl("teamwire_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    fuzzTarget = selectedTarget()
    var argc = argc, argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOne(data, size) }
}
#else
@main
enum Replay {
    /// `TEAMWIRE_FUZZ_TARGET=NAME teamwire-fuzz FILE...` runs each file through the target once,
    /// as libFuzzer would (a crash input is checked this way without a sanitized build);
    /// `teamwire-fuzz --list` prints the targets.
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        if args == ["--list"] {
            for t in FuzzHarness.targets { print("\(t.name)\t\(t.summary)") }
            return
        }
        let target = selectedTarget()
        for path in args {
            guard let f = fopen(path, "rb") else { complain("cannot open \(path)"); exit(1) }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while case let n = fread(&chunk, 1, chunk.count, f), n > 0 { bytes += chunk[..<n] }
            fclose(f)
            target.run(bytes)
            print("\(target.name): \(path): ok")
        }
    }
}
#endif
