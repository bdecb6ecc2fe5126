import Foundation
import Logging
import Synchronization
import Testing
import TeamwireLogging
#if canImport(Glibc)
import Glibc
#endif

/// The daemons' log lines: syslog priorities, millisecond times, the journal's conventions, and
/// JSON that parses whatever the message and metadata hold.
@Suite struct LogLineTests {
    /// 2023-11-14T22:13:20Z and 5.999999 ms: milliseconds are truncated, not rounded.
    let time = timespec(tv_sec: 1_700_000_000, tv_nsec: 5_999_999)

    @Test func levelsMapToSyslogPriorities() {
        let expected: [Logger.Level: Int] = [.trace: 7, .debug: 7, .info: 6, .notice: 5, .warning: 4, .error: 3, .critical: 2]
        for level in Logger.Level.allCases { #expect(LogLine.priority(level) == expected[level], "\(level)") }
        let journal = LogLine(format: .text, journal: true)
        for level in Logger.Level.allCases {
            let line = journal.render(time: time, level: level, label: "teamwire.agent", message: "m", metadata: [:])
            #expect(line == "<\(expected[level]!)>\(level.rawValue) teamwire.agent: m\n")
        }
    }

    @Test func timestampsHaveMilliseconds() throws {
        #expect(LogLine.timestamp(time, utc: true) == "2023-11-14T22:13:20.005Z")
        #expect(LogLine.timestamp(timespec(tv_sec: 1_700_000_000, tv_nsec: 999_999_999), utc: true) == "2023-11-14T22:13:20.999Z")
        #expect(LogLine.timestamp(timespec(tv_sec: 0, tv_nsec: 120_000_000), utc: true) == "1970-01-01T00:00:00.120Z")
        // Local time with its offset: the same instant once the offset is taken off.
        let local = LogLine.timestamp(time, utc: false)
        let m = try #require(local.wholeMatch(of: /(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.005([+-])(\d\d):(\d\d)/), "\(local)")
        var parts = tm()
        parts.tm_year = Int32(m.1)! - 1900
        parts.tm_mon = Int32(m.2)! - 1
        parts.tm_mday = Int32(m.3)!
        parts.tm_hour = Int32(m.4)!
        parts.tm_min = Int32(m.5)!
        parts.tm_sec = Int32(m.6)!
        let offset = (Int(m.8)! * 3600 + Int(m.9)! * 60) * (m.7 == "-" ? -1 : 1)
        #expect(Int(timegm(&parts)) - offset == 1_700_000_000, "\(local)")
    }

    @Test func textLineForATerminal() throws {
        let line = LogLine(format: .text, journal: false).render(
            time: time, level: .info, label: "teamwire.agent", message: "agent socket ready",
            metadata: ["path": "/var/lib/teamwire/agent.sock", "mode": "0660"])
        let stamp = LogLine.timestamp(time, utc: false)
        #expect(line == "\(stamp) info teamwire.agent: agent socket ready mode=0660 path=/var/lib/teamwire/agent.sock\n")
    }

    @Test func textStaysOnOneLine() {
        let line = LogLine(format: .text, journal: true).render(
            time: time, level: .error, label: "teamwire.coordinator", message: "wireguard-go said:\nline 2\tend",
            metadata: ["error": "no such \"file\"\n", "empty": "", "plain": "a=b", "list": .array(["x", "y z"]), "key with space": "v"])
        #expect(line == #"<3>error teamwire.coordinator: wireguard-go said:\nline 2\tend empty="" error="no such \"file\"\n" key_with_space=v list="[x, y z]" plain="a=b""# + "\n")
        #expect(line.filter { $0 == "\n" }.count == 1)
    }

    @Test func jsonIsOneValidObjectPerLine() throws {
        let nasty = "quote \" backslash \\ newline \n tab \t bell \u{7} nul \u{0} del \u{7f} é 🤖 \u{2028}"
        let metadata: Logger.Metadata = [
            "peer": "robot1", "nasty": .string(nasty), "count": .stringConvertible(42),
            "list": .array(["a", .dictionary(["k": "v"])]), "nested": .dictionary(["inner": .array([])]),
        ]
        for journal in [false, true] {
            let line = LogLine(format: .json, journal: journal).render(time: time, level: .warning, label: "teamwire.agent", message: nasty, metadata: metadata)
            #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1)
            var body = Substring(line.dropLast())
            if journal {
                #expect(body.hasPrefix("<4>{"))
                body = body.dropFirst(3)
            } else {
                #expect(body.hasPrefix("{"))
            }
            let object = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], "\(line)")
            #expect(Set(object.keys) == ["time", "level", "label", "message", "metadata"])
            #expect(object["time"] as? String == "2023-11-14T22:13:20.005Z")
            #expect(object["level"] as? String == "warning")
            #expect(object["label"] as? String == "teamwire.agent")
            #expect(object["message"] as? String == nasty)
            let meta = try #require(object["metadata"] as? [String: Any])
            #expect(meta["peer"] as? String == "robot1" && meta["nasty"] as? String == nasty && meta["count"] as? String == "42")
            let list = try #require(meta["list"] as? [Any])
            #expect(list.first as? String == "a" && (list.last as? [String: String]) == ["k": "v"])
            #expect(((meta["nested"] as? [String: Any])?["inner"] as? [Any])?.isEmpty == true)
        }
        // Control characters are escaped, never raw, and keys come out sorted.
        let line = LogLine(format: .json, journal: false).render(time: time, level: .info, label: "l", message: "\u{1}", metadata: ["b": "1", "a": "2"])
        #expect(line.hasSuffix(#""message":"\u0001","metadata":{"a":"2","b":"1"}}"# + "\n"))
    }

    @Test func handlerMergesMetadataAndHonoursItsLevel() {
        let lines = Mutex<[String]>([])
        var logger = Logger(label: "teamwire.test") { label in
            TeamwireLogHandler(label: label, line: LogLine(format: .json, journal: true), level: .info) { text in lines.withLock { $0.append(text) } }
        }
        logger[metadataKey: "team"] = "iris"
        logger[metadataKey: "peer"] = "old"
        logger.debug("dropped")
        logger.notice("kept", metadata: ["peer": "robot1"])
        let got = lines.withLock { $0 }
        #expect(got.count == 1)
        #expect(got.first?.hasPrefix("<5>{") == true)
        #expect(got.first?.contains(#""level":"notice","label":"teamwire.test","message":"kept","metadata":{"peer":"robot1","team":"iris"}}"#) == true, "\(got)")
    }

    @Test func journalIsRecognisedOnlyOnItsOwnStream() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)").path
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        defer { close(fd); unlink(path) }
        var st = stat()
        try #require(fstat(fd, &st) == 0)
        #expect(TeamwireLogging.stderrIsJournal(environment: "\(st.st_dev):\(st.st_ino)", fd: fd))
        // A child that inherited JOURNAL_STREAM but writes elsewhere is not on the journal.
        #expect(!TeamwireLogging.stderrIsJournal(environment: "\(st.st_dev):\(st.st_ino + 1)", fd: fd))
        for garbage in [nil, "", "1", "1:2:3", "a:b", ":"] as [String?] {
            #expect(!TeamwireLogging.stderrIsJournal(environment: garbage, fd: fd), "\(garbage ?? "nil")")
        }
    }
}
