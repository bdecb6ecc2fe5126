/// Why a daemon's own file (its lock, key or state) could not be used: one sentence for the log
/// and the user, naming the file.
public struct DaemonFileError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
