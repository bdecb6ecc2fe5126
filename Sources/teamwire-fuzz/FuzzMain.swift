import FuzzHarness
#if canImport(Glibc)
import Glibc
#endif

// The parsers' fuzz targets (FuzzHarness.targets): see FuzzHarness/Driver.swift for the two builds.
#if TEAMWIRE_FUZZ
@_cdecl("teamwire_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzHarness.fuzz(FuzzHarness.targets, argc: argc, argv: argv)
}
#else
@main
enum Replay {
    static func main() { exit(FuzzHarness.replay(FuzzHarness.targets, arguments: Array(CommandLine.arguments.dropFirst()))) }
}
#endif
