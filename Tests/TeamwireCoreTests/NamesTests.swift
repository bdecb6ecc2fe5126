import Testing
@testable import TeamwireCore
import TestSupport

@Suite("Names")
struct NamesTests {
    @Test("valid labels", arguments: [
        "a", "z", "0", "9", "robot1", "team-a", "a-b-c", "1robot", "123", "a--b", "x0-9",
        String(repeating: "a", count: 63),
        "a" + String(repeating: "-", count: 61) + "z",
    ])
    func valid(name: String) {
        #expect(Names.labelProblem(name) == nil)
        #expect(Names.isValidLabel(name))
        #expect(Names.isValidHostname(name))
    }

    @Test("invalid labels and the reason given", arguments: [
        ("", "is empty"),
        (String(repeating: "a", count: 64), "is longer than 63 characters"),
        (String(repeating: "é", count: 32), "is longer than 63 characters"),  // 64 UTF-8 bytes
        ("Robot", "has uppercase letters (names are lowercase)"),
        ("robotA", "has uppercase letters (names are lowercase)"),
        ("-robot", "starts or ends with '-'"),
        ("robot-", "starts or ends with '-'"),
        ("-", "starts or ends with '-'"),
        ("ro bot", "has the character \" \" (allowed: a-z, 0-9 and '-')"),
        ("ro_bot", "has the character \"_\" (allowed: a-z, 0-9 and '-')"),
        ("ro.bot", "has the character \".\" (allowed: a-z, 0-9 and '-')"),
        ("röbot", "has the character \"\\u{00F6}\" (allowed: a-z, 0-9 and '-')"),
        ("robot\n", "has the character \"\\n\" (allowed: a-z, 0-9 and '-')"),
        ("robot\0", "has the character \"\\0\" (allowed: a-z, 0-9 and '-')"),
    ])
    func invalid(name: String, problem: String) {
        #expect(Names.labelProblem(name) == problem)
        #expect(!Names.isValidLabel(name))
    }

    @Test("label rules against a character-level model over random strings")
    func model() {
        var rng = SeededRNG(seed: 1123)
        let alphabet = Array("abcxyz0189-----AZ_. é")
        for _ in 0..<3000 {
            let n = Int.random(in: 0...70, using: &rng)
            let s = String((0..<n).map { _ in alphabet.randomElement(using: &rng)! })
            let allowed = s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
            let expected = !s.isEmpty && s.utf8.count <= 63 && allowed && s.first != "-" && s.last != "-"
            #expect(Names.isValidLabel(s) == expected, "\(s)")
        }
    }

    @Test("host names: dotted labels, any case, at most 253 characters")
    func hostnames() {
        #expect(Names.isValidHostname("Example.COM"))
        #expect(Names.isValidHostname("a.b.c"))
        #expect(Names.isValidHostname("xn--bcher-kva.example"))
        #expect(!Names.isValidHostname(""))
        #expect(!Names.isValidHostname("."))
        #expect(!Names.isValidHostname("a..b"))
        #expect(!Names.isValidHostname(".a"))
        #expect(!Names.isValidHostname("a."))
        #expect(!Names.isValidHostname("-a.b"))
        #expect(!Names.isValidHostname("a.b-"))
        #expect(!Names.isValidHostname("a_b.c"))
        #expect(!Names.isValidHostname("a b"))
        #expect(!Names.isValidHostname("bücher.example"))
        #expect(!Names.isValidHostname(String(repeating: "a", count: 64) + ".b"))
        let l63 = String(repeating: "a", count: 63)
        let l61 = String(repeating: "b", count: 61)
        let max = [l63, l63, l63, l61].joined(separator: ".")
        #expect(max.utf8.count == 253)
        #expect(Names.isValidHostname(max))
        #expect(!Names.isValidHostname(max + "b"))
    }
}
