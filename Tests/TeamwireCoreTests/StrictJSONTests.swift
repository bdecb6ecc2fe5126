import Foundation
import Testing
@testable import TeamwireCore
import TestSupport

private struct Inner: Codable, Equatable { var a: Int; var b: [Int] }
private struct Outer: Codable, Equatable {
    var name: String
    var inner: Inner
    var list: [Inner]
    var opt: Inner?
    var tags: [String: Int]?
}
/// Each level adds two to the depth: the object and its array.
private struct Nest: Codable, Equatable { var n: [Nest] }

private func nest(_ levels: Int) -> String {
    levels == 0 ? "" : "{\"n\":[\(nest(levels - 1))]}"
}

@Suite("Strict JSON")
struct StrictJSONTests {
    static func decode<T: Codable>(_ type: T.Type, _ json: String) -> Result<T, APIError> {
        outcome { () throws(APIError) in try StrictJSON.decode(T.self, from: Array(json.utf8)) }
    }

    static let outer = "{\"name\":\"x\",\"inner\":{\"a\":1,\"b\":[1,2]},\"list\":[{\"a\":2,\"b\":[]},{\"a\":3,\"b\":[4]}]}"

    @Test("well-formed input decodes")
    func valid() throws {
        let v = try #require(Self.decode(Outer.self, Self.outer).successValue)
        #expect(v == Outer(name: "x", inner: Inner(a: 1, b: [1, 2]), list: [Inner(a: 2, b: []), Inner(a: 3, b: [4])], opt: nil, tags: nil))
        #expect(Self.decode(MapRequest.self, "{\"since\":3,\"waitSeconds\":0}").successValue == MapRequest(since: 3, waitSeconds: 0))
        #expect(Self.decode(MapRequest.self, " {\"waitSeconds\":0 ,\n\"since\":3} ").successValue == MapRequest(since: 3, waitSeconds: 0))
    }

    @Test("explicit null for an absent optional is accepted")
    func nullOptional() {
        #expect(Self.decode(ReportRequest.self, "{\"endpoints\":[],\"listenPort\":null}").successValue == ReportRequest(endpoints: [], listenPort: nil))
        let v = Self.decode(Outer.self, "{\"name\":\"x\",\"inner\":{\"a\":1,\"b\":[]},\"list\":[],\"opt\":null,\"tags\":null}").successValue
        #expect(v?.opt == nil && v?.name == "x")
    }

    @Test("unknown fields are refused and named, at any depth", arguments: [
        ("{\"since\":3,\"waitSeconds\":0,\"admin\":true}", MapRequestOrOuter.map, "admin"),
        ("{\"since\":3,\"waitSeconds\":0,\"Since\":4}", .map, "Since"),
        ("{\"since\":3,\"waitSeconds\":0,\"extra\":{}}", .map, "extra"),
        ("{\"name\":\"x\",\"inner\":{\"a\":1,\"b\":[],\"c\":0},\"list\":[]}", .outer, "inner.c"),
        ("{\"name\":\"x\",\"inner\":{\"a\":1,\"b\":[]},\"list\":[{\"a\":2,\"b\":[]},{\"a\":3,\"b\":[],\"zz\":1}]}", .outer, "list[1].zz"),
        ("{\"name\":\"x\",\"inner\":{\"a\":1,\"b\":[]},\"list\":[],\"opt\":{\"a\":1,\"b\":[],\"q\":[1]}}", .outer, "opt.q"),
        ("{\"name\":\"x\",\"inner\":{\"a\":1,\"b\":[]},\"list\":[],\"aaa\":1,\"zzz\":2}", .outer, "aaa"),
    ])
    func unknownFields(json: String, type: MapRequestOrOuter, field: String) throws {
        let e: APIError?
        switch type {
        case .map: e = Self.decode(MapRequest.self, json).failureValue
        case .outer: e = Self.decode(Outer.self, json).failureValue
        }
        let error = try #require(e)
        #expect(error.code == .badRequest)
        #expect(error.message == "unknown field '\(field)'")
    }

    enum MapRequestOrOuter: Sendable { case map, outer }

    @Test("dictionary fields keep all their keys (none is mistaken for unknown)")
    func dictionaries() {
        let json = "{\"name\":\"x\",\"inner\":{\"a\":1,\"b\":[]},\"list\":[],\"tags\":{\"p\":1,\"q\":2}}"
        #expect(Self.decode(Outer.self, json).successValue?.tags == ["p": 1, "q": 2])
    }

    @Test("an unknown key injected anywhere into a valid document is always found")
    func injectedKeys() throws {
        var rng = SeededRNG(seed: 515)
        for _ in 0..<200 {
            var tree = try JSONSerialization.jsonObject(with: Data(Self.outer.utf8)) as! [String: Any]
            // Pick a random object in the tree and add a key to it.
            let paths: [(String, (inout [String: Any]) -> Void)] = [
                ("", { $0["zz"] = 1 }),
                ("inner.", { var i = $0["inner"] as! [String: Any]; i["zz"] = 1; $0["inner"] = i }),
                ("list[0].", { var l = $0["list"] as! [[String: Any]]; l[0]["zz"] = 1; $0["list"] = l }),
                ("list[1].", { var l = $0["list"] as! [[String: Any]]; l[1]["zz"] = 1; $0["list"] = l }),
            ]
            let (path, inject) = paths.randomElement(using: &rng)!
            inject(&tree)
            let data = try JSONSerialization.data(withJSONObject: tree)
            let e = Self.decode(Outer.self, String(decoding: data, as: UTF8.self)).failureValue
            #expect(e?.message == "unknown field '\(path)zz'")
        }
    }

    @Test("nesting is capped at 32 levels")
    func depthCap() {
        #expect(StrictJSON.maxDepth == 32)
        #expect(Self.decode(Nest.self, nest(16)).successValue != nil, "depth 32 is allowed")
        let e = Self.decode(Nest.self, nest(17)).failureValue
        #expect(e?.code == .badRequest)
        #expect(e?.message == "JSON is nested too deeply")
        // The cap applies before the shape is checked.
        let deepArrays = String(repeating: "[", count: 33) + String(repeating: "]", count: 33)
        #expect(Self.decode(MapRequest.self, deepArrays).failureValue?.message == "JSON is nested too deeply")
        let okArrays = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        #expect(Self.decode(MapRequest.self, okArrays).failureValue?.message.hasPrefix("body does not match the expected shape") == true)
        // Very deep input does not crash.
        let huge = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(Self.decode(MapRequest.self, huge).failureValue?.code == .badRequest)
    }

    @Test("depth counts objects and arrays")
    func depthFunction() throws {
        // The depth is the smallest limit the document parses under.
        func d(_ s: String) throws -> Int {
            try #require((0...8).first { (try? JSONTree.parse(Data(s.utf8), maxDepth: $0, fragmentsAllowed: true)) != nil })
        }
        #expect(try d("1") == 0)
        #expect(try d("{}") == 1)
        #expect(try d("[]") == 1)
        #expect(try d("[[],[[1]]]") == 3)
        #expect(try d("{\"a\":[{\"b\":{}}],\"c\":1}") == 4)
    }

    @Test("wrong types, missing fields and invalid values are refused", arguments: [
        ("{\"since\":\"3\",\"waitSeconds\":0}", "body does not match the expected shape: wrong type at 'since'"),
        ("{\"since\":3,\"waitSeconds\":true}", "body does not match the expected shape: wrong type at 'waitSeconds'"),
        ("{\"since\":3}", "body does not match the expected shape: missing field 'waitSeconds'"),
        ("{}", "body does not match the expected shape: missing field 'since'"),
        ("[]", "body does not match the expected shape: wrong type"),
        ("{\"since\":3.5,\"waitSeconds\":0}", nil),
        ("{\"since\":-1,\"waitSeconds\":0}", nil),
        ("{\"since\":18446744073709551616,\"waitSeconds\":0}", nil),
        ("{\"since\":null,\"waitSeconds\":0}", nil),
    ] as [(String, String?)])
    func wrongShapes(json: String, message: String?) throws {
        let e = try #require(Self.decode(MapRequest.self, json).failureValue)
        #expect(e.code == .badRequest)
        if let message { #expect(e.message == message) } else {
            // Foundation words these differently (some without a path); the refusal is what matters.
            #expect(e.message.hasPrefix("body does not match the expected shape: "))
        }
    }

    @Test("typed values inside the JSON are validated by their own decoders")
    func typedValues() {
        let key = fixedKey(1).base64Key
        let good = "{\"name\":\"a\",\"publicKey\":\"\(key)\",\"address\":\"100.80.0.2\",\"role\":\"robot\",\"endpoints\":[\"1.2.3.4:5\"]}"
        #expect(Self.decode(Member.self, good).successValue?.address == ip("100.80.0.2"))
        for bad in [
            good.replacingOccurrences(of: "robot", with: "admin"),
            good.replacingOccurrences(of: "100.80.0.2", with: "100.80.0.02"),
            good.replacingOccurrences(of: key, with: "AAAA"),
            good.replacingOccurrences(of: "1.2.3.4:5", with: "1.2.3.4"),
        ] {
            let e = Self.decode(Member.self, bad).failureValue
            #expect(e?.code == .badRequest, "\(bad)")
            #expect(e?.message.hasPrefix("body does not match the expected shape: ") == true)
        }
        let e = Self.decode(Member.self, good.replacingOccurrences(of: "1.2.3.4:5", with: "nope")).failureValue
        #expect(e?.message.contains("at 'endpoints.[0]'") == true || e?.message.contains("endpoints") == true)
    }

    @Test("input that is not JSON is refused", arguments: [
        "", " ", "{", "}", "{\"since\":1,\"waitSeconds\":0} x", "{since:1}", "{'since':1}", "\u{FEFF}{}x", "nul",
    ])
    func notJSON(json: String) {
        let e = Self.decode(MapRequest.self, json).failureValue
        #expect(e == APIError(.badRequest, "body is not valid JSON"))
    }

    /// 1e400 is syntactically JSON, but no JSON number holds it: refused by where it is, not as
    /// "not valid JSON" (which sent people looking for a syntax error).
    @Test("a number no JSON number can hold is named by its path", arguments: [
        (#"{"since":1e400,"waitSeconds":0}"#, "the number at 'since'"), (#"{"since":0,"waitSeconds":-1e400}"#, "the number at 'waitSeconds'"),
        (#"{"since":1e-400,"waitSeconds":0}"#, "the number at 'since'"), (#"{"since":0,"waitSeconds":0,"x":[1,2,1e999]}"#, "the number at 'x.[2]'"),
        (#"{"since":1\#(String(repeating: "0", count: 400)),"waitSeconds":0}"#, "the number at 'since'"),
        (#"{"since":0,"waitSeconds":0,"x":{"y":-4e-330}}"#, "the number at 'x.y'"),
    ])
    func numberBeyondAnyJSONNumber(json: String, says: String) {
        let e = Self.decode(MapRequest.self, json).failureValue
        #expect(e?.code == .badRequest)
        #expect(e?.message == "\(says) is beyond what a JSON number can hold (larger than about 1.8e308, or nearer 0 than 4.9e-324)", "\(String(describing: e))")
    }

    @Test("decoding errors are described in one line with their path")
    func describe() {
        struct K: CodingKey {
            var stringValue: String; var intValue: Int?
            init(_ s: String) { stringValue = s; intValue = nil }
            init(_ i: Int) { stringValue = "Index \(i)"; intValue = i }
            init?(stringValue: String) { self.init(stringValue) }
            init?(intValue: Int) { self.init(intValue) }
        }
        #expect(StrictJSON.describe(DecodingError.keyNotFound(K("x"), .init(codingPath: [K("a"), K(2)], debugDescription: ""))) == "missing field 'x' at 'a.[2]'")
        #expect(StrictJSON.describe(DecodingError.keyNotFound(K("x"), .init(codingPath: [], debugDescription: ""))) == "missing field 'x'")
        #expect(StrictJSON.describe(DecodingError.typeMismatch(Int.self, .init(codingPath: [K("n")], debugDescription: ""))) == "wrong type at 'n'")
        #expect(StrictJSON.describe(DecodingError.valueNotFound(Int.self, .init(codingPath: [K("n")], debugDescription: ""))) == "missing value at 'n'")
        #expect(StrictJSON.describe(DecodingError.dataCorrupted(.init(codingPath: [K("e")], debugDescription: "bad thing"))) == "bad thing at 'e'")
        #expect(StrictJSON.describe(APIError(.badRequest, "m")) == "m [bad_request]")
    }
}

@Suite("API errors")
struct APIErrorTests {
    @Test("JSON shape and unknown codes")
    func codable() throws {
        let e = APIError(.clockSkew, "off", serverTime: 5)
        #expect(String(decoding: ControlCodec.encodeJSON(e), as: UTF8.self) == "{\"code\":\"clock_skew\",\"message\":\"off\",\"serverTime\":5}")
        #expect(String(decoding: ControlCodec.encodeJSON(APIError(.badRequest, "m")), as: UTF8.self) == "{\"code\":\"bad_request\",\"message\":\"m\"}")
        let future = try JSONDecoder().decode(APIError.self, from: Data("{\"code\":\"brand_new\",\"message\":\"m\"}".utf8))
        #expect(future.code == ErrorCode("brand_new"))
        #expect(future.code.rawValue == "brand_new")
        #expect(future.description == "m [brand_new]")
        #expect(try JSONDecoder().decode(APIError.self, from: Data(ControlCodec.encodeJSON(e))) == e)
        let body = ErrorBody(e)
        #expect(String(decoding: ControlCodec.encodeJSON(body), as: UTF8.self).hasPrefix("{\"error\":{\"code\":\"clock_skew\""))
    }
}
