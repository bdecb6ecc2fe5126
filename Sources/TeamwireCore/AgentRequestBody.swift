/// How the agent's socket API (`AgentAPI`) reads a request body: here, beside the messages, so
/// the fuzz harness runs the very same decoding without the agent's NIO server. Strict, as the
/// coordinator's APIs: unknown fields are refused by name, and the error says which field is
/// wrong rather than dumping a DecodingError.
public enum AgentRequestBody {
    public static func decode<B: Codable>(_ type: B.Type, from body: [UInt8]) throws(APIError) -> B {
        try StrictJSON.decode(B.self, from: body)
    }
}
