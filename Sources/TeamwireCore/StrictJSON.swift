import Foundation

/// Decoding that refuses what the type does not know: unknown fields are an error naming the field,
/// not silently dropped. Works for any Codable type by comparing the input's keys with the keys of
/// the decoded value re-encoded.
public enum StrictJSON {
    public static let maxDepth = 32

    public static func decode<T: Codable>(_ type: T.Type, from bytes: [UInt8]) throws(APIError) -> T {
        let data = Data(bytes)
        let value: T
        let tree: Any
        do {
            tree = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw APIError(.badRequest, "body is not valid JSON")
        }
        guard depth(tree) <= maxDepth else { throw APIError(.badRequest, "JSON is nested too deeply") }
        do {
            value = try JSONDecoder().decode(T.self, from: data)
        } catch DecodingError.dataCorrupted(let c) where c.codingPath.isEmpty && c.debugDescription == "The given data was not valid JSON." {
            // The JSON parsed above: this is how Foundation on Linux reports a number its field
            // cannot hold (1.5 or 1e30 for an integer, -1 for an unsigned one), without a path.
            throw APIError(.badRequest, "body does not match the expected shape: a number does not fit its field (fractional, negative or too large)")
        } catch {
            throw APIError(.badRequest, "body does not match the expected shape: \(describe(error))")
        }
        let known = try! JSONSerialization.jsonObject(with: ControlCodec.encoder().encode(value), options: [.fragmentsAllowed])
        if let path = firstUnknownKey(tree, known, path: "") {
            throw APIError(.badRequest, "unknown field '\(path)'")
        }
        return value
    }

    static func depth(_ v: Any) -> Int {
        if let d = v as? [String: Any] { return 1 + (d.values.map(depth).max() ?? 0) }
        if let a = v as? [Any] { return 1 + (a.map(depth).max() ?? 0) }
        return 0
    }

    static func firstUnknownKey(_ input: Any, _ known: Any, path: String) -> String? {
        if let d = input as? [String: Any] {
            let k = known as? [String: Any] ?? [:]
            for key in d.keys.sorted() {
                let sub = path.isEmpty ? key : "\(path).\(key)"
                if d[key] is NSNull, k[key] == nil { continue }
                guard let kv = k[key] else { return sub }
                if let found = firstUnknownKey(d[key]!, kv, path: sub) { return found }
            }
        } else if let a = input as? [Any], let ka = known as? [Any] {
            for (i, v) in a.enumerated() where i < ka.count {
                if let found = firstUnknownKey(v, ka[i], path: "\(path)[\(i)]") { return found }
            }
        }
        return nil
    }

    /// A one-line, user-facing description of a DecodingError.
    public static func describe(_ error: Error) -> String {
        func at(_ path: [CodingKey]) -> String {
            let p = path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "" : " at '\(p)'"
        }
        switch error as? DecodingError {
        case .keyNotFound(let k, let c)?: return "missing field '\(k.stringValue)'\(at(c.codingPath))"
        case .typeMismatch(_, let c)?: return "wrong type\(at(c.codingPath))"
        case .valueNotFound(_, let c)?: return "missing value\(at(c.codingPath))"
        case .dataCorrupted(let c)?: return "\(c.debugDescription)\(at(c.codingPath))"
        default: return "\(error)"
        }
    }
}
