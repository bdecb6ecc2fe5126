import Testing
@testable import TeamwireCore
import TestSupport

@Suite("Address allocation")
struct AddressAllocatorTests {
    @Test("layout of a /24: network, hub, members, broadcast")
    func layout() {
        var a = AddressAllocator(prefix: prefix("100.80.0.0/24"))
        #expect(a.hubAddress == ip("100.80.0.1"))
        #expect(AddressAllocator.hubAddress(in: prefix("100.80.0.0/24")) == ip("100.80.0.1"))
        #expect(a.firstMemberAddress == ip("100.80.0.2"))
        #expect(a.lastMemberAddress == ip("100.80.0.254"))
        #expect(a.capacity == 253)
        #expect(a.count == 0)
        #expect(!a.isAssignable(ip("100.80.0.0")))
        #expect(!a.isAssignable(ip("100.80.0.1")))
        #expect(a.isAssignable(ip("100.80.0.2")))
        #expect(a.isAssignable(ip("100.80.0.254")))
        #expect(!a.isAssignable(ip("100.80.0.255")))
        #expect(!a.isAssignable(ip("100.80.1.2")))
        #expect(!a.isAssignable(ip("100.79.255.254")))
        let r1 = a.peek()
        #expect(r1 == ip("100.80.0.2"))
        #expect(a.count == 0, "peek does not take the address")
        let r2 = a.allocate()
        #expect(r2 == ip("100.80.0.2"))
        let r3 = a.allocate()
        #expect(r3 == ip("100.80.0.3"))
        #expect(a.count == 2)
        #expect(a.isUsed(ip("100.80.0.2")))
        #expect(!a.isUsed(ip("100.80.0.4")))
    }

    @Test("fills the whole prefix, then refuses", arguments: [24, 26, 28, 29, 30])
    func fill(length: Int) throws {
        let p = try #require(IPv4Prefix(address: ip("10.20.0.0"), length: length))
        var a = AddressAllocator(prefix: p)
        #expect(a.capacity == Int(p.size) - 3)
        var got: [IPv4Address] = []
        while let x = a.allocate() { got.append(x) }
        #expect(got.count == a.capacity)
        #expect(got == (0..<a.capacity).map { IPv4Address(p.first.value + 2 + UInt32($0)) })
        #expect(got.allSatisfy { a.isAssignable($0) && a.isUsed($0) && p.contains($0) })
        #expect(!got.contains(a.hubAddress))
        let r4 = a.peek()
        #expect(r4 == nil)
        let r5 = a.allocate()
        #expect(r5 == nil)
        #expect(a.count == a.capacity)
        // Freeing one makes exactly that one available again.
        let mid = got[got.count / 2]
        a.release(mid)
        let r6 = a.peek()
        #expect(r6 == mid)
        let r7 = a.allocate()
        #expect(r7 == mid)
        let r8 = a.allocate()
        #expect(r8 == nil)
    }

    @Test("a /30 holds the hub and exactly one member")
    func slash30() {
        var a = AddressAllocator(prefix: prefix("192.168.7.4/30"))
        #expect(AddressAllocator.longestUsablePrefix == 30)
        #expect(a.capacity == 1)
        #expect(a.hubAddress == ip("192.168.7.5"))
        let r9 = a.allocate()
        #expect(r9 == ip("192.168.7.6"))
        let r10 = a.allocate()
        #expect(r10 == nil)
    }

    @Test("prefixes longer than /30 have no member addresses", arguments: ["10.0.0.0/31", "10.0.0.8/32"])
    func tooLong(text: String) {
        var a = AddressAllocator(prefix: prefix(text))
        #expect(a.capacity <= 0)
        let r11 = a.peek()
        #expect(r11 == nil)
        let r12 = a.allocate()
        #expect(r12 == nil)
        let r13 = a.reserve(a.prefix.first)
        #expect(!r13)
        let r14 = a.reserve(a.prefix.last)
        #expect(!r14)
        #expect(a.count == 0)
    }

    @Test("reserve refuses addresses outside the member range and duplicates")
    func reserve() {
        var a = AddressAllocator(prefix: prefix("100.80.0.0/24"))
        let r15 = a.reserve(ip("100.80.0.0"))
        #expect(!r15)
        let r16 = a.reserve(ip("100.80.0.1"))
        #expect(!r16)
        let r17 = a.reserve(ip("100.80.0.255"))
        #expect(!r17)
        let r18 = a.reserve(ip("100.80.1.5"))
        #expect(!r18)
        let r19 = a.reserve(ip("100.80.0.2"))
        #expect(r19)
        let r20 = a.reserve(ip("100.80.0.2"))
        #expect(!r20)
        let r21 = a.reserve(ip("100.80.0.4"))
        #expect(r21)
        #expect(a.count == 2)
        let r22 = a.allocate()
        #expect(r22 == ip("100.80.0.3"))
        let r23 = a.allocate()
        #expect(r23 == ip("100.80.0.5"))
        // Releasing an address that is not in use changes nothing.
        a.release(ip("100.80.0.9"))
        a.release(ip("100.80.0.1"))
        #expect(a.count == 4)
        let r24 = a.allocate()
        #expect(r24 == ip("100.80.0.6"))
    }

    @Test("random allocate/release/reserve sequences match a lowest-free model", arguments: [
        ("100.80.0.0/24", UInt64(1)), ("100.80.0.0/28", UInt64(2)), ("100.80.0.0/29", UInt64(3)),
        ("100.80.0.0/30", UInt64(4)), ("10.7.0.0/22", UInt64(5)), ("255.255.255.0/24", UInt64(6)),
    ])
    func model(text: String, seed: UInt64) {
        let p = prefix(text)
        var a = AddressAllocator(prefix: p)
        let lo = p.first.value + 2, hi = p.last.value - 1
        var used = Set<UInt32>()
        var rng = SeededRNG(seed: seed)
        func lowestFree() -> UInt32? { (lo...hi).first { !used.contains($0) } }
        var fullSeen = false
        for step in 0..<3000 {
            let r = Int.random(in: 0..<10, using: &rng)
            // Bias towards allocation early so that the prefix fills up and empties again.
            let allocBias = step % 1000 < 500 ? 6 : 3
            if r < allocBias {
                let expected = lowestFree()
                let r25 = a.peek()
                #expect(r25.map(\.value) == expected)
                let got = a.allocate()
                #expect(got?.value == expected, "step \(step)")
                if let g = got { used.insert(g.value) } else { fullSeen = true }
            } else if r < 9 {
                // Release something used (usually) or something arbitrary.
                let v: UInt32
                if let u = used.randomElement(using: &rng), Bool.random(using: &rng) || used.count > 3 { v = u } else {
                    v = UInt32.random(in: p.first.value...p.last.value, using: &rng)
                }
                a.release(IPv4Address(v))
                used.remove(v)
            } else {
                let v = UInt32.random(in: p.first.value...p.last.value, using: &rng)
                let ok = a.reserve(IPv4Address(v))
                let expected = (lo...hi).contains(v) && !used.contains(v)
                #expect(ok == expected, "reserve \(IPv4Address(v))")
                if expected { used.insert(v) }
            }
            #expect(a.count == used.count)
        }
        for v in p.first.value...p.last.value { #expect(a.isUsed(IPv4Address(v)) == used.contains(v)) }
        if p.size <= 16 { #expect(fullSeen, "small prefixes should fill up during the run") }
    }
}
