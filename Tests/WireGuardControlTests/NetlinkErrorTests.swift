import CMnl
import Glibc
import Testing
@testable import WireGuardControl

/// nlmsgerr and NLMSG_DONE carry a negated errno. The kernel is trusted, but the decoder must not
/// trap on any bytes (issue 15: Int32.min has no negation).
@Suite struct NetlinkErrorTests {
    /// nlmsghdr (16 bytes) with `flags`, then the error field.
    static func errorMessage(_ errno: Int32, flags: UInt16 = 0, extra: [UInt8] = []) -> [UInt8] {
        var m = [UInt8](repeating: 0, count: 16)
        withUnsafeBytes(of: UInt32(20 + extra.count).littleEndian) { m.replaceSubrange(0..<4, with: $0) }
        withUnsafeBytes(of: UInt16(NLMSG_ERROR).littleEndian) { m.replaceSubrange(4..<6, with: $0) }
        withUnsafeBytes(of: flags.littleEndian) { m.replaceSubrange(6..<8, with: $0) }
        withUnsafeBytes(of: errno.littleEndian) { m += $0 }
        return m + extra
    }

    @Test func errnosAreNegatedBack() {
        #expect(NetlinkSocket.parseError(Self.errorMessage(-ENOENT)).0 == ENOENT)
        #expect(NetlinkSocket.parseError(Self.errorMessage(0)).0 == 0)
        #expect(NetlinkSocket.parseError(Self.errorMessage(-EPERM, flags: UInt16(NLM_F_ACK_TLVS), extra: [UInt8](repeating: 0, count: 16))).0 == EPERM)
    }

    @Test func theMostNegativeErrnoIsAMalformedMessageNotATrap() {
        #expect(NetlinkSocket.parseError(Self.errorMessage(.min)).0 == EBADMSG)
        #expect(NetlinkSocket.parseError(Self.errorMessage(.min, flags: UInt16(NLM_F_ACK_TLVS | NLM_F_CAPPED), extra: [UInt8](repeating: 0xFF, count: 40))).0 == EBADMSG)
        #expect(NetlinkSocket.positiveErrno(.min) == EBADMSG)
        #expect(NetlinkSocket.positiveErrno(.max) == -Int32.max)
    }

    @Test func anyShortOrOddMessageIsRefusedQuietly() {
        for n in 0..<20 { #expect(NetlinkSocket.parseError([UInt8](repeating: 0xFF, count: n)).0 == EBADMSG) }
        // An echoed-request length far past the end.
        var m = Self.errorMessage(-EINVAL, flags: UInt16(NLM_F_ACK_TLVS), extra: [UInt8](repeating: 0xFF, count: 20))
        m[20...23] = [0xFF, 0xFF, 0xFF, 0xFF]
        #expect(NetlinkSocket.parseError(m).0 == EINVAL)
    }
}
