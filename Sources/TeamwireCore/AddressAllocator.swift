/// Overlay address allocation inside one team prefix. The network address, the broadcast address
/// and the hub's address (the first usable one) are never handed out. Allocation takes the lowest
/// free address, so a removed node's address is reused only once it is free again.
public struct AddressAllocator: Sendable {
    public let prefix: IPv4Prefix
    private var used: Set<UInt32> = []
    /// No address below this one is free: keeps allocation O(1) amortised.
    private var lowestFreeHint: UInt32

    public init(prefix: IPv4Prefix) {
        self.prefix = prefix
        self.lowestFreeHint = prefix.first.value &+ 2
    }

    /// The hub's address: the first usable address of the prefix.
    public static func hubAddress(in prefix: IPv4Prefix) -> IPv4Address { IPv4Address(prefix.first.value + 1) }

    /// Smallest prefix that holds the hub and at least one member.
    public static let longestUsablePrefix = 30

    public var hubAddress: IPv4Address { AddressAllocator.hubAddress(in: prefix) }
    public var firstMemberAddress: IPv4Address { IPv4Address(prefix.first.value + 2) }
    public var lastMemberAddress: IPv4Address { IPv4Address(prefix.last.value - 1) }
    public var capacity: Int { Int(prefix.size) - 3 }
    public var count: Int { used.count }

    public func isAssignable(_ a: IPv4Address) -> Bool {
        a >= firstMemberAddress && a <= lastMemberAddress
    }

    public func isUsed(_ a: IPv4Address) -> Bool { used.contains(a.value) }

    /// Marks an address as taken (seeding from the store). Returns false if it is outside the
    /// assignable range or already taken.
    @discardableResult
    public mutating func reserve(_ a: IPv4Address) -> Bool {
        guard isAssignable(a), !used.contains(a.value) else { return false }
        used.insert(a.value)
        return true
    }

    public mutating func release(_ a: IPv4Address) {
        guard used.remove(a.value) != nil else { return }
        lowestFreeHint = min(lowestFreeHint, a.value)
    }

    /// The address `allocate()` would return, without taking it.
    public mutating func peek() -> IPv4Address? {
        guard used.count < capacity else { return nil }
        var v = max(lowestFreeHint, firstMemberAddress.value)
        while v <= lastMemberAddress.value, used.contains(v) { v += 1 }
        lowestFreeHint = v
        return v <= lastMemberAddress.value ? IPv4Address(v) : nil
    }

    public mutating func allocate() -> IPv4Address? {
        guard let a = peek() else { return nil }
        used.insert(a.value)
        return a
    }
}
