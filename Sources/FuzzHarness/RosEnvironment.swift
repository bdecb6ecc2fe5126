import RosBridge

extension FuzzHarness {
    /// `ros.env` as `teamwire exec` reads it back (a user can edit the file). Whatever parses,
    /// written back with teamwire's own quoting, parses to the same variables.
    static func rosEnvironment(_ bytes: [UInt8]) {
        let s = text(bytes)
        guard let entries = try? RosEnvironment.entries(s) else {
            require((try? RosEnvironment.parse(s)) == nil && (try? RosEnvironment.unsetNames(s)) == nil, "parse accepts what entries refuses")
            return
        }
        let set = (try? RosEnvironment.parse(s)) ?? []
        let unset = (try? RosEnvironment.unsetNames(s)) ?? []
        require(set.map(\.name) == entries.filter { $0.value != nil }.map(\.name) && set.map(\.value) == entries.compactMap(\.value)
                    && unset == entries.filter { $0.value == nil }.map(\.name), "parse and unsetNames disagree with entries")
        let written = entries.map { e in e.value.map { RosEnvironmentWriting.exportLine(e.name, $0) } ?? "unset \(e.name)" }.joined(separator: "\n") + "\n"
        do {
            let again = try RosEnvironment.entries(written)
            require(again.map(\.name) == entries.map(\.name) && again.map(\.value) == entries.map(\.value),
                    "parsed variables written back parse differently:\n\(written)")
        } catch {
            require(false, "parsed variables written back are refused: \(error)\n\(written)")
        }
    }
}
