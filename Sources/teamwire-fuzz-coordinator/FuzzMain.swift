import FuzzCoordinatorHarness
import FuzzHarness
#if canImport(Glibc)
import Glibc
#endif

// The coordinator's fuzz target (CoordinatorFuzz.targets): see FuzzHarness/Driver.swift for the two builds.
#if TEAMWIRE_FUZZ
@_cdecl("teamwire_fuzz_coordinator_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzHarness.fuzz(CoordinatorFuzz.targets, argc: argc, argv: argv)
}
#else
@main
enum Replay {
    static func main() { exit(FuzzHarness.replay(CoordinatorFuzz.targets, arguments: Array(CommandLine.arguments.dropFirst()))) }
}
#endif
