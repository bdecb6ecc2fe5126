import NIOCore
import NIOHTTP1
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

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

    /// Why an exchange failed, in a few plain words (never a library's type or an errno number).
    /// Before the request went out it names what stopped the connection ("connection refused",
    /// "no route to host", "timed out after 3 s") and reads after "cannot reach X: "; once it was
    /// sent it says what the server did ("closed the connection before answering", "did not
    /// answer within 10 s") and reads after "the server at X ".
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        /// The connection was made and the request written: the server may have acted on it
        /// (the outcome is unknown), and it was there to accept the connection.
        public var sent = false
        /// The task asking was cancelled (the exchange was abandoned, not failed by the server).
        public var cancelled = false
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
            promise.fail(exchange.sent ? Failure(description: "did not answer within \(seconds(timeout))", sent: true)
                                       : Failure(description: "timed out after \(seconds(timeout))"))
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
            case .failure(let error): promise.fail(Failure(description: Self.connectFailure(error)))
            }
        }
        return try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            // On the loop, where `sent` lives: whether the server may have the request matters.
            loop.execute { promise.fail(Failure(description: "was interrupted", sent: exchange.sent, cancelled: true)) }
        }
    }

    /// Why a connection could not be made, e.g. "connection refused" or "timed out after 3 s".
    static func connectFailure(_ error: any Error) -> String {
        switch error {
        case let e as IOError: return errnoText(e.errnoCode)
        case ChannelError.connectTimeout(let t): return "timed out after \(seconds(t))"
        case let e as NIOConnectionError:
            // Connecting to a name: each of its addresses failed, or the name did not resolve.
            if e.connectionErrors.isEmpty {
                return e.dnsAError != nil || e.dnsAAAAError != nil ? "the name \(e.host) does not resolve" : "the name \(e.host) has no address"
            }
            var reasons: [String] = []
            for f in e.connectionErrors {
                let r = connectFailure(f.error)
                if !reasons.contains(r) { reasons.append(r) }
            }
            return reasons.joined(separator: ", ")
        default: return "the connection failed"
        }
    }

    /// What a server did to a request it had been sent, e.g. "closed the connection before answering".
    static func brokenExchange(_ error: any Error) -> String {
        switch error {
        case let e as IOError where e.errnoCode == ECONNRESET: "reset the connection before answering"
        case let e as IOError: "broke off the exchange (\(errnoText(e.errnoCode)))"
        case is HTTPParserError: "answered with something that is not HTTP"
        default: "broke off the exchange"
        }
    }

    /// The system's words for an errno, as a phrase: "connection refused", "no route to host".
    static func errnoText(_ code: Int32) -> String {
        switch code {
        // What a local firewall rule that rejects gives (nftables/iptables `reject`, SELinux).
        case EPERM, EACCES: return "blocked on this host (\(lowercasedFirst(String(cString: strerror(code)))))"
        case ETIMEDOUT: return "timed out"
        default: return lowercasedFirst(String(cString: strerror(code)))
        }
    }

    static func lowercasedFirst(_ s: String) -> String { s.prefix(1).lowercased() + s.dropFirst() }

    static func seconds(_ t: TimeAmount) -> String {
        let ms = t.nanoseconds / 1_000_000
        return ms % 1000 == 0 ? "\(ms / 1000) s" : "\(Double(ms) / 1000) s"
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
                    promise.fail(Failure(description: "sent an answer larger than \(maxBody) bytes", sent: true))
                    context.close(promise: nil)
                    return
                }
                reply!.body += buf.readableBytesView
            case .end:
                if let reply { promise.succeed(reply) }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(Failure(description: reply == nil ? "closed the connection before answering" : "closed the connection in the middle of its answer",
                                 sent: sent))
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(sent ? Failure(description: HTTPExchange.brokenExchange(error), sent: true)
                              : Failure(description: HTTPExchange.connectFailure(error)))
            context.close(promise: nil)
        }
    }
}
