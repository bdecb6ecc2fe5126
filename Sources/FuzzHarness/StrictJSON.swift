import TeamwireCore

extension FuzzHarness {
    /// The strict decoder on its own, for every type the coordinator decodes with it: the admin
    /// socket's requests (AdminAPI) and the sealed request forms. It decodes or throws APIError
    /// (typed throws: nothing else can escape), and a value it accepts, re-encoded, is accepted
    /// again and equal.
    static func strictJSON(_ bytes: [UInt8]) {
        strict(bytes, CreateTeamRequest.self)
        strict(bytes, CreateTokenRequest.self)
        strict(bytes, SetRosMasterRequest.self)
        strict(bytes, SetTeamSettingsRequest.self)
        strict(bytes, EnrollRequest.self)
        strict(bytes, MapRequest.self)
        strict(bytes, ReportRequest.self)
        strict(bytes, Empty.self)
        strict(bytes, SealedRequest<MapRequest>.self) { a, b in a.type == b.type && a.op == b.op && a.ts == b.ts && a.body == b.body }
    }

    static func strict<T: Codable & Equatable>(_ bytes: [UInt8], _ type: T.Type) { strict(bytes, type, equal: ==) }

    static func strict<T: Codable>(_ bytes: [UInt8], _ type: T.Type, equal: (T, T) -> Bool) {
        guard let value = try? StrictJSON.decode(T.self, from: bytes) else { return }
        let encoded = ControlCodec.encodeJSON(value)
        do {
            let again = try StrictJSON.decode(T.self, from: encoded)
            require(equal(again, value), "\(T.self) decoded from its own encoding differs: \(value) vs \(again)")
        } catch {
            require(false, "\(T.self) \(value) was accepted, but its own encoding is refused: \(error) (\(text(encoded)))")
        }
    }
}
