import NIOCore
import NIOPosix
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// "My direct path to you failed": when a member's direct path to another dies, it routes that
/// member through the hub and says so, because the other end still routes it directly and its
/// WireGuard drops what the hub relays from it (the sender's address belongs to the sender's
/// own peer there). So the signal goes to the hub (HubSignals in the coordinator), which
/// passes it on from its own overlay address, naming the sender. The receiver moves the sender
/// to the hub too, and both ends are on the hub within a tick of each other.
///
/// Listening costs nothing while idle (the socket wakes the agent only when a signal arrives).
/// Only datagrams that came in on the team interface from the hub's overlay address count:
/// WireGuard has authenticated their source. The worst a forged one could do is move traffic
/// to the hub, which still carries it.
enum PathSignal {
    /// UDP port on each member's overlay address (outside the range WireGuard ports are picked from).
    static let port = PathSignalMessage.port

    /// Listens on `address`:`port` of `interface`; yields every valid signal from `hub`.
    static func listen(address: IPv4Address, interface: String, hub: IPv4Address) async throws -> (Channel, AsyncStream<(kind: PathSignalMessage.Kind, member: IPv4Address)>) {
        let ifindex = Int(if_nametoindex(interface))
        let (stream, continuation) = AsyncStream<(kind: PathSignalMessage.Kind, member: IPv4Address)>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.receivePacketInfo, value: true)
            .channelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    try ch.pipeline.syncOperations.addHandler(Receiver(ifindex: ifindex, hub: hub, continuation: continuation))
                }
            }
            .bind(host: address.description, port: Int(port)).get()
        channel.closeFuture.whenComplete { _ in continuation.finish() }
        return (channel, stream)
    }

    /// Tells `member`, through the hub, how we now send to it.
    static func send(_ kind: PathSignalMessage.Kind, to member: IPv4Address, hub: IPv4Address, using prober: Prober) {
        prober.send(PathSignalMessage.encode(kind, member), to: hub, port: port)
    }

    final class Receiver: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let ifindex: Int
        let hub: IPv4Address
        let continuation: AsyncStream<(kind: PathSignalMessage.Kind, member: IPv4Address)>.Continuation

        init(ifindex: Int, hub: IPv4Address, continuation: AsyncStream<(kind: PathSignalMessage.Kind, member: IPv4Address)>.Continuation) {
            self.ifindex = ifindex
            self.hub = hub
            self.continuation = continuation
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let env = unwrapInboundIn(data)
            guard env.metadata?.packetInfo?.interfaceIndex == ifindex,
                  case .v4(let a) = env.remoteAddress, IPv4Address(UInt32(bigEndian: a.address.sin_addr.s_addr)) == hub,
                  let signal = PathSignalMessage.parse(env.data.readableBytesView) else { return }
            continuation.yield(signal)
        }
    }
}
