import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Logging of the daemons (`teamwire-agent`, `teamwire coordinator serve`): one handler for
/// both, chosen once at start.
public enum TeamwireLogging {
    /// Bootstraps swift-log with `TeamwireLogHandler` at `level` in `format` (the journal's
    /// conventions when stderr is the journal) and returns the daemon's logger.
    public static func start(level: Logger.Level, format: LogFormat, label: String) -> Logger {
        let line = LogLine(format: format, journal: stderrIsJournal())
        LoggingSystem.bootstrap { label in TeamwireLogHandler(label: label, line: line, level: level) }
        return Logger(label: label)
    }

    /// Whether stderr is the systemd journal's stream: systemd sets JOURNAL_STREAM to the
    /// stream's "device:inode", and a child whose stderr was redirected elsewhere inherits the
    /// variable, so the descriptor must match it (as sd_journal_stream_fd's documentation says).
    public static func stderrIsJournal(environment value: String? = getenv("JOURNAL_STREAM").map { String(cString: $0) },
                                       fd: Int32 = STDERR_FILENO) -> Bool {
        guard let value else { return false }
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return false }
        return UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino
    }
}
