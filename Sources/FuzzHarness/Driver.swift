#if canImport(Glibc)
import Glibc
#endif
#if TEAMWIRE_FUZZ
import CFuzzerDriver
#endif

// The two ways a fuzz executable runs. Built by `scripts/fuzz` (-sanitize=fuzzer,address
// -DTEAMWIRE_FUZZ), libFuzzer drives `LLVMFuzzerTestOneInput` with the target that
// TEAMWIRE_FUZZ_TARGET names; in the normal build (so `swift build` checks it compiles) the
// executable replays files through a target instead.
extension FuzzHarness {
    /// `TEAMWIRE_FUZZ_TARGET=NAME EXECUTABLE FILE...` runs each file through the target once;
    /// `EXECUTABLE --list` prints the targets. Returns the exit status.
    public static func replay(_ targets: [Target], arguments: [String]) -> Int32 {
        if arguments == ["--list"] {
            for t in targets { print("\(t.name)\t\(t.summary)") }
            return 0
        }
        guard let target = selected(targets) else { return 2 }
        for path in arguments {
            guard let f = fopen(path, "rb") else { complain("cannot open \(path)"); return 1 }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while case let n = fread(&chunk, 1, chunk.count, f), n > 0 { bytes += chunk[..<n] }
            fclose(f)
            target.run(bytes)
            print("\(target.name): \(path): ok")
        }
        return 0
    }

    /// The target TEAMWIRE_FUZZ_TARGET names, or nil (and the names on standard error).
    static func selected(_ targets: [Target]) -> Target? {
        let name = getenv("TEAMWIRE_FUZZ_TARGET").map { String(cString: $0) } ?? ""
        guard let target = targets.first(where: { $0.name == name }) else {
            complain("set TEAMWIRE_FUZZ_TARGET to one of: \(targets.map(\.name).joined(separator: " "))")
            return nil
        }
        return target
    }

    /// To standard error (glibc's `stderr` is a global var that Swift 6 will not read).
    static func complain(_ message: String) {
        var line = "teamwire-fuzz: " + message + "\n"
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }
}

#if TEAMWIRE_FUZZ
/// Chosen before libFuzzer starts and only read after: libFuzzer runs inputs on one thread.
nonisolated(unsafe) private var fuzzTarget: FuzzHarness.Target?

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzTarget!.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

extension FuzzHarness {
    /// libFuzzer's main, for the executable's entry point: SwiftPM links that as `main` (on
    /// Linux it renames it so that tests can link executables), which keeps libFuzzer's own out.
    public static func fuzz(_ targets: [Target], argc: CInt, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
        guard let target = selected(targets) else { return 2 }
        fuzzTarget = target
        var argc = argc, argv = argv
        return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOne(data, size) }
    }
}
#endif
