import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The daemons' log handler: each entry one `LogLine`, written to stderr in one write(2), so
/// entries from concurrent tasks never interleave.
public struct TeamwireLogHandler: LogHandler {
    public let label: String
    public let line: LogLine
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    /// Where lines go (stderr; tests collect them).
    let output: @Sendable (String) -> Void

    public init(label: String, line: LogLine, level: Logger.Level, metadataProvider: Logger.MetadataProvider? = nil,
                output: @escaping @Sendable (String) -> Void = TeamwireLogHandler.writeStandardError) {
        self.label = label
        self.line = line
        self.logLevel = level
        self.metadataProvider = metadataProvider
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let m = event.metadata { all.merge(m) { _, new in new } }
        if let e = event.error { all["error"] = .string("\(e)") }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        output(line.render(time: now, level: event.level, label: label, message: event.message.description, metadata: all))
    }

    @Sendable public static func writeStandardError(_ text: String) { writeAll(text, to: STDERR_FILENO) }
}

/// Writes all of `text` to `fd`, through short writes and EINTR (FileHandle is not in
/// FoundationEssentials, which the agent daemon is limited to).
public func writeAll(_ text: String, to fd: Int32) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0, errno == EINTR { continue }
        guard n > 0 else { return }
        bytes = bytes.dropFirst(n)
    }
}
