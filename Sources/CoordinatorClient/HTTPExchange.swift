import NIOCore
import NIOHTTP1
import NIOPosix

/// One HTTP/1.1 request and its reply on a connection of its own, over TCP or a Unix socket.
///
/// The control protocol needs nothing more: a sealed POST every minute or two (the long poll,
/// reports), or one JSON call from the CLI. A connection per request holds no pool to go stale
/// when a robot roams (a pooled connection from a vanished address hangs until it times out),
/// and it keeps TLS, HTTP/2 and compression code, which teamwire never uses (requests are
/// sealed boxes), out of the agent.
public enum HTTPExchange {
    public enum Target: Sendable, CustomStringConvertible {
        case tcp(host: String, port: Int)
        case unix(path: String)

        public var description: String {
            switch self {
            case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case .unix(let path): path
            }
        }
    }

    public struct Reply: Sendable {
        public var status: Int
        public var contentType: String?
        public var body: [UInt8]
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        /// The connection was made and the request written: the server may have acted on it
        /// (the outcome is unknown), and it was there to accept the connection.
        public var sent = false
    }

    /// Sends the request and collects the reply (at most `maxBody` bytes). Fails after
    /// `connectTimeout` without a connection, after `timeout` without the whole reply, or when
    /// the task is cancelled (the connection is closed then).
    public static func send(_ method: HTTPMethod, _ target: Target, path: String, headers extra: [(String, String)] = [],
                            body: [UInt8]? = nil, connectTimeout: TimeAmount = .seconds(3), timeout: TimeAmount,
                            maxBody: Int) async throws -> Reply {
        var headers = HTTPHeaders()
        switch target {
        case .tcp: headers.add(name: "Host", value: target.description)
        case .unix: headers.add(name: "Host", value: "localhost")
        }
        for (n, v) in extra { headers.add(name: n, value: v) }
        headers.add(name: "Content-Length", value: "\(body?.count ?? 0)")
        headers.add(name: "Connection", value: "close")
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)

        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = loop.makePromise(of: Reply.self)
        // Set on the loop when the request goes out; every failure after that says so.
        let exchange = Exchange(head: head, body: body, maxBody: maxBody, promise: promise)
        let deadline = loop.scheduleTask(in: timeout) {
            promise.fail(Failure(description: "no reply within \(timeout.nanoseconds / 1_000_000_000) s", sent: exchange.sent))
        }
        promise.futureResult.whenComplete { _ in deadline.cancel() }
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    try ch.pipeline.syncOperations.addHTTPClientHandlers()
                    try ch.pipeline.syncOperations.addHandler(exchange)
                }
            }
        let connecting: EventLoopFuture<Channel>
        switch target {
        case .tcp(let host, let port): connecting = bootstrap.connect(host: host, port: port)
        case .unix(let path): connecting = bootstrap.connect(unixDomainSocketPath: path)
        }
        connecting.whenComplete { result in
            switch result {
            case .success(let channel): promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
            case .failure(let error): promise.fail(Failure(description: Self.describe(error)))
            }
        }
        return try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            promise.fail(CancellationError())
        }
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? IOError { return e.description }
        if case .connectTimeout(let t)? = error as? ChannelError { return "no connection within \(t.nanoseconds / 1_000_000_000) s" }
        return "\(error)"
    }

    /// Writes the request once connected; collects the reply.
    final class Exchange: ChannelInboundHandler, @unchecked Sendable {  // touched only on its event loop
        typealias InboundIn = HTTPClientResponsePart
        typealias OutboundOut = HTTPClientRequestPart

        let head: HTTPRequestHead
        let body: [UInt8]?
        let maxBody: Int
        let promise: EventLoopPromise<Reply>
        var reply: Reply?
        /// The request was written to a connected socket.
        var sent = false

        init(head: HTTPRequestHead, body: [UInt8]?, maxBody: Int, promise: EventLoopPromise<Reply>) {
            self.head = head
            self.body = body
            self.maxBody = maxBody
            self.promise = promise
        }

        func channelActive(context: ChannelHandlerContext) {
            sent = true
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            if let body, !body.isEmpty {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h):
                reply = Reply(status: Int(h.status.code), contentType: h.headers.first(name: "Content-Type"), body: [])
            case .body(let buf):
                guard reply != nil else { return }
                guard reply!.body.count + buf.readableBytes <= maxBody else {
                    promise.fail(Failure(description: "reply larger than \(maxBody) bytes", sent: true))
                    context.close(promise: nil)
                    return
                }
                reply!.body += buf.readableBytesView
            case .end:
                if let reply { promise.succeed(reply) }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(Failure(description: "connection closed before the whole reply", sent: sent))
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(Failure(description: HTTPExchange.describe(error), sent: sent))
            context.close(promise: nil)
        }
    }
}
