import TeamwireCore

extension FuzzHarness {
    /// The token text a robot is handed. The bytes are tried twice: as the text itself (prefix,
    /// whitespace, base64url and checksum checks), and as the payload inside a token with its
    /// checksum made right, so the fuzzer reaches the field parsing behind the checksum.
    static func token(_ bytes: [UInt8]) {
        tokenText(text(bytes))
        var payload = bytes
        payload += Sodium.hash(bytes).prefix(4)
        tokenText(EnrolmentToken.prefix + Base64.encode(payload, url: true))
    }

    static func tokenText(_ s: String) {
        guard let t = try? EnrolmentToken(parsing: s) else { return }
        require(t.secret.count == 32 && (1...EnrolmentToken.maxEndpoints).contains(t.endpoints.count) && Names.isValidLabel(t.team),
                "a parsed token breaks its own invariants: \(t.team) \(t.endpoints)")
        let again: EnrolmentToken
        do { again = try EnrolmentToken(parsing: t.text) } catch {
            require(false, "a parsed token's own text is refused: \(error) (\(t.text))")
            return
        }
        require(again == t, "a parsed token's text parses to another token: \(t.text)")
        require(again.text == t.text, "a token's text is not stable: \(t.text) vs \(again.text)")
    }
}
