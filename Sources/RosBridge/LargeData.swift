/// What the DDS files set so that camera-sized samples (1 MiB images at 10-30 Hz) cross the
/// overlay: datagrams that fit one overlay packet, and socket buffers that hold whole samples.
/// A DDS sample larger than a datagram is cut into RTPS fragments by the middleware; a datagram
/// larger than the MTU would be cut again into IP fragments by the kernel, and one IP fragment
/// lost (or dropped by a full buffer) loses the whole datagram and with it the sample.
public enum LargeData {
    /// The largest UDP payload that fits the overlay MTU in one IPv4 packet: MTU − 20 (IPv4
    /// header) − 8 (UDP header), the MTU taken within 576 (the IPv4 minimum every host accepts)
    /// and 65535.
    public static func udpPayload(mtu: Int) -> Int { min(max(mtu, 576), 65535) - 28 }

    /// The socket receive buffer the DDS files ask for: 4 MiB, room for three to four 1 MiB
    /// samples in flight (the kernel charges about 2.3 kB per ~1.4 kB datagram). The kernel
    /// grants at most net.core.rmem_max (212992 B on a stock Debian or Ubuntu: a fifth of one
    /// image); the files only ask, so a robot without the sysctl still runs, with smaller buffers.
    public static let receiveBufferSize = 4 << 20
}
