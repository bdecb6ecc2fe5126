/// A failure a command-line program (teamwire, teamwire-agent) reports as one line on stderr
/// with exit status 1.
public struct CLIError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
