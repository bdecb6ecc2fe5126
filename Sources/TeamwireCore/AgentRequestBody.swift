#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How the agent's socket API (`AgentAPI`) reads a request body: here, beside the messages, so
/// the fuzz harness runs the very same decoding without the agent's NIO server.
public enum AgentRequestBody {
    public static func decode<B: Decodable>(_ type: B.Type, from body: [UInt8]) throws(APIError) -> B {
        do { return try JSONDecoder().decode(B.self, from: Data(body)) } catch {
            throw APIError(.badRequest, "malformed request: \(error)")
        }
    }
}
