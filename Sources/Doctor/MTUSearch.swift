/// Which DF probe sizes (whole IP packets) to send to one member: the full size (the interface
/// MTU) first; when it does not come back, the smallest, then a binary search between the two
/// for the largest that does. Pure: the command sends the probes and records the outcomes.
public struct MTUSearch: Sendable, Equatable {
    /// IP and ICMP headers: a packet of `size` bytes carries `size - overhead` bytes of payload.
    public static let overhead = 28
    /// The smallest probe: the 24-byte tag the agent puts in every echo.
    public static let smallest = 24 + overhead

    public let full: Int
    private var low: Int?
    private var high: Int?
    private var smallestFailed = false

    public init(full: Int) { self.full = max(full, Self.smallest) }

    /// The next packet size to probe, nil when the answer is known.
    public var next: Int? {
        guard let high else { return full }
        if smallestFailed || low == full { return nil }
        guard let low else { return Self.smallest }
        return high - low > 1 ? low + (high - low) / 2 : nil
    }

    public mutating func record(_ size: Int, passed: Bool) {
        if passed {
            low = max(low ?? size, size)
            if size == full { high = full }
        } else {
            high = min(high ?? size, size)
            if size == Self.smallest { smallestFailed = true }
        }
    }

    public var result: PathMTU { PathMTU(full: full, largestPassing: low) }
}
