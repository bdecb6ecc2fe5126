import ArgumentParser

@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teamwire-bench",
        abstract: "Benchmarks for teamwire. Build and run in release: swift run -c release teamwire-bench SUBCOMMAND",
        subcommands: [CoordinatorBench.self, WireGuardBench.self]
    )
}
