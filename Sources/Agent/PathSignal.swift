import Foundation
import NIOCore
import NIOPosix
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// "I now reach you through the hub": one datagram a member sends through the tunnel when its
/// direct path to us failed. Without it, a member whose own traffic is only replies would keep
/// sending them on the dead direct path until its next idle look (up to the keepalive
/// interval). With it, both ends are on the hub within a tick of each other.
///
/// Listening costs nothing while idle (the socket wakes the agent only when a signal arrives).
/// Only datagrams that came in on the team interface from a member's overlay address count:
/// WireGuard has authenticated their source. The worst a forged one could do is move traffic
/// to the hub, which still carries it.
enum PathSignal {
    /// UDP port on each member's overlay address (outside the range WireGuard ports are picked from).
    static let port: UInt16 = 7947
    static let message: [UInt8] = Array("teamwire-path-relay-1".utf8)

    /// Listens on `address`:`port` of `interface`; yields the overlay source address of every valid signal.
    static func listen(address: IPv4Address, interface: String) async throws -> (Channel, AsyncStream<IPv4Address>) {
        let ifindex = Int(if_nametoindex(interface))
        let (stream, continuation) = AsyncStream<IPv4Address>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.receivePacketInfo, value: true)
            .channelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    try ch.pipeline.syncOperations.addHandler(Receiver(ifindex: ifindex, continuation: continuation))
                }
            }
            .bind(host: address.description, port: Int(port)).get()
        channel.closeFuture.whenComplete { _ in continuation.finish() }
        return (channel, stream)
    }

    /// Sends the signal to a member's overlay address (through whatever peer now covers it: the hub).
    static func send(to address: IPv4Address, using prober: Prober) {
        prober.send(message, to: address, port: port)
    }

    final class Receiver: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let ifindex: Int
        let continuation: AsyncStream<IPv4Address>.Continuation

        init(ifindex: Int, continuation: AsyncStream<IPv4Address>.Continuation) {
            self.ifindex = ifindex
            self.continuation = continuation
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let env = unwrapInboundIn(data)
            guard env.metadata?.packetInfo?.interfaceIndex == ifindex,
                  env.data.readableBytesView.elementsEqual(PathSignal.message),
                  case .v4(let a) = env.remoteAddress else { return }
            continuation.yield(IPv4Address(UInt32(bigEndian: a.address.sin_addr.s_addr)))
        }
    }
}
