import NIOCore
import NIOPosix
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// Answers `teamwire doctor --canary` on the team's overlay address (UDP 7948): proof that a
/// datagram reaches this member's agent through the overlay and comes back. Only datagrams that
/// came in on the team interface from an address in the team's prefix (WireGuard has checked
/// the source against the sending peer) and are exactly a canary request get an answer, at most
/// 50 a second: nothing outside the team can use it to reflect traffic.
enum CanaryResponder {
    static func listen(address: IPv4Address, interface: String, prefix: IPv4Prefix) async throws -> Channel {
        let ifindex = Int(if_nametoindex(interface))
        return try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.receivePacketInfo, value: true)
            .channelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    try ch.pipeline.syncOperations.addHandler(Handler(ifindex: ifindex, prefix: prefix, self: address))
                }
            }
            .bind(host: address.description, port: Int(CanaryMessage.port)).get()
    }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        let ifindex: Int
        let prefix: IPv4Prefix
        let own: IPv4Address
        var limit = RateLimit(perSecond: 50, burst: 100)
        let start = ContinuousClock.now

        init(ifindex: Int, prefix: IPv4Prefix, self own: IPv4Address) {
            self.ifindex = ifindex
            self.prefix = prefix
            self.own = own
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let env = unwrapInboundIn(data)
            guard env.metadata?.packetInfo?.interfaceIndex == ifindex, case .v4(let a) = env.remoteAddress else { return }
            let from = IPv4Address(UInt32(bigEndian: a.address.sin_addr.s_addr))
            guard prefix.contains(from), from != own, let reply = CanaryMessage.answer(to: env.data.readableBytesView) else { return }
            let d = ContinuousClock.now - start
            guard limit.admit(now: Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18) else { return }
            context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: env.remoteAddress, data: ByteBuffer(bytes: reply))), promise: nil)
        }
    }
}
