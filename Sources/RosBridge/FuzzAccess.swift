/// For the fuzz harness (Sources/FuzzHarness), in this package only: the quoting `render` uses,
/// so parsed values can be written back the way teamwire writes them.
package enum RosEnvironmentWriting {
    package static func exportLine(_ name: String, _ value: String) -> String { "export \(name)=\(ShellWord.quote(value))" }
}
