#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Decoding that refuses what the type does not know: unknown fields are an error naming the field,
/// not silently dropped. Works for any Codable type by comparing the input's keys with the keys of
/// the decoded value re-encoded.
public enum StrictJSON {
    public static let maxDepth = 32

    public static func decode<T: Codable>(_ type: T.Type, from bytes: [UInt8]) throws(APIError) -> T {
        let data = Data(bytes)
        let value: T
        let tree: JSONTree
        do {
            tree = try JSONTree.parse(data, maxDepth: maxDepth)
        } catch is JSONTree.TooDeep {
            throw APIError(.badRequest, "JSON is nested too deeply")
        } catch let e as JSONTree.NumberOutOfRange {
            throw APIError(.badRequest, "the number\(at(e.path)) is beyond what a JSON number can hold (larger than about 1.8e308, or nearer 0 than 4.9e-324)")
        } catch {
            throw APIError(.badRequest, "body is not valid JSON")
        }
        do {
            value = try JSONDecoder().decode(T.self, from: data)
        } catch DecodingError.dataCorrupted(let c) where c.codingPath.isEmpty && c.debugDescription == "The given data was not valid JSON." {
            // The JSON parsed above: this is how Foundation on Linux reports a number its field
            // cannot hold (1.5 or 1e30 for an integer, -1 for an unsigned one), without a path.
            throw APIError(.badRequest, "body does not match the expected shape: a number does not fit its field (fractional, negative or too large)")
        } catch {
            throw APIError(.badRequest, "body does not match the expected shape: \(describe(error))")
        }
        let known = try! JSONTree.parse(ControlCodec.encoder().encode(value), fragmentsAllowed: true)
        if let path = firstUnknownKey(tree, known, path: "") {
            throw APIError(.badRequest, "unknown field '\(path)'")
        }
        return value
    }

    static func firstUnknownKey(_ input: JSONTree, _ known: JSONTree, path: String) -> String? {
        switch (input, known) {
        case (.object(let d), _):
            let k: [String: JSONTree]
            if case .object(let o) = known { k = o } else { k = [:] }
            for key in d.keys.sorted() {
                let sub = path.isEmpty ? key : "\(path).\(key)"
                if d[key] == .null, k[key] == nil { continue }
                guard let kv = k[key] else { return sub }
                if let found = firstUnknownKey(d[key]!, kv, path: sub) { return found }
            }
        case (.array(let a), .array(let ka)):
            for (i, v) in a.enumerated() where i < ka.count {
                if let found = firstUnknownKey(v, ka[i], path: "\(path)[\(i)]") { return found }
            }
        default: break
        }
        return nil
    }

    /// " at 'body.endpoints.[0]'" for a coding path, "" for the top level.
    static func at(_ path: [CodingKey]) -> String {
        let p = path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        return p.isEmpty ? "" : " at '\(p)'"
    }

    /// A one-line, user-facing description of a DecodingError.
    public static func describe(_ error: Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let k, let c)?: return "missing field '\(k.stringValue)'\(at(c.codingPath))"
        case .typeMismatch(_, let c)?: return "wrong type\(at(c.codingPath))"
        case .valueNotFound(_, let c)?: return "missing value\(at(c.codingPath))"
        case .dataCorrupted(let c)?: return "\(c.debugDescription)\(at(c.codingPath))"
        default: return "\(error)"
        }
    }
}

/// The shape of a JSON document: objects with their keys, arrays, null, and other values.
/// Parsed with JSONDecoder (JSONSerialization is not in FoundationEssentials), which checks the
/// whole input's syntax before decoding starts.
enum JSONTree: Decodable, Equatable {
    case object([String: JSONTree])
    case array([JSONTree])
    case null
    case scalar

    struct TooDeep: Error {}
    /// A number no Double holds (1e400, 1e-400): refused as JSONSerialization would, by where it is.
    struct NumberOutOfRange: Error { var path: [CodingKey] }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private static let maxDepthKey = CodingUserInfoKey(rawValue: "teamwire.maxDepth")!

    /// Like JSONSerialization: the top level must be an object or an array unless
    /// `fragmentsAllowed`. Throws `TooDeep` when objects and arrays nest deeper than `maxDepth`.
    static func parse(_ data: Data, maxDepth: Int = .max, fragmentsAllowed: Bool = false) throws -> JSONTree {
        let decoder = JSONDecoder()
        decoder.userInfo[maxDepthKey] = maxDepth
        let tree = try decoder.decode(JSONTree.self, from: data)
        switch tree {
        case .object, .array: return tree
        case .null, .scalar:
            guard fragmentsAllowed else { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "not an object or array")) }
            return tree
        }
    }

    init(from decoder: any Decoder) throws {
        // The containers above this value make up its coding path.
        let tooDeep = decoder.codingPath.count >= (decoder.userInfo[Self.maxDepthKey] as? Int ?? .max)
        if let o = try? decoder.container(keyedBy: Key.self) {
            if tooDeep { throw TooDeep() }
            var d: [String: JSONTree] = [:]
            for k in o.allKeys { d[k.stringValue] = try o.decode(JSONTree.self, forKey: k) }
            self = .object(d)
        } else if var a = try? decoder.unkeyedContainer() {
            if tooDeep { throw TooDeep() }
            var items: [JSONTree] = []
            while !a.isAtEnd { items.append(try a.decode(JSONTree.self)) }
            self = .array(items)
        } else {
            let v = try decoder.singleValueContainer()
            if v.decodeNil() {
                self = .null
            } else {
                // A number must fit a Double, as JSONSerialization requires (1e400 is refused).
                if (try? v.decode(Bool.self)) == nil, (try? v.decode(String.self)) == nil, (try? v.decode(Double.self)) == nil {
                    throw NumberOutOfRange(path: decoder.codingPath)
                }
                self = .scalar
            }
        }
    }
}
