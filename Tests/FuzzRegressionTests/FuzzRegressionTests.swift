import Foundation
import FuzzCoordinatorHarness
import FuzzHarness
import Testing

/// Replays every committed fuzz input (Fuzz/corpus/TARGET: seeds from the tests' examples;
/// Fuzz/regressions/TARGET: every crash a fuzz run found) through the same harness functions
/// libFuzzer drives, without libFuzzer. A broken property traps and so crashes this test run.
@Suite struct FuzzRegressionTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz")

    static func files(_ kind: String, _ target: String) -> [URL] {
        let dir = fuzzDirectory.appendingPathComponent(kind).appendingPathComponent(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { dir.appendingPathComponent($0) }
    }

    @Test(arguments: (FuzzHarness.targets + CoordinatorFuzz.targets).map(\.name))
    func replaysSeedsAndRegressions(_ name: String) throws {
        let target = try #require((FuzzHarness.targets + CoordinatorFuzz.targets).first { $0.name == name })
        let seeds = Self.files("corpus", name), regressions = Self.files("regressions", name)
        // A moved or misnamed directory must fail here, not pass with nothing replayed.
        #expect(seeds.count >= 3, "Fuzz/corpus/\(name) has \(seeds.count) seeds")
        for file in seeds + regressions {
            target.run(Array(try Data(contentsOf: file)))
        }
    }

    /// Every input directory belongs to a target, so no committed input is silently skipped.
    @Test func everyInputDirectoryNamesATarget() throws {
        let names = Set((FuzzHarness.targets + CoordinatorFuzz.targets).map(\.name))
        for kind in ["corpus", "regressions"] {
            let dir = Self.fuzzDirectory.appendingPathComponent(kind)
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [] where !entry.hasPrefix(".") {
                #expect(names.contains(entry), "Fuzz/\(kind)/\(entry) names no fuzz target")
            }
        }
        #expect(FileManager.default.fileExists(atPath: Self.fuzzDirectory.appendingPathComponent("corpus").path))
    }
}
