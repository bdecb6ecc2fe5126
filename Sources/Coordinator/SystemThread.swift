import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One dedicated OS thread that runs blocking system work (netlink, the WireGuard UAPI socket,
/// `nft`) in order, off Swift's cooperative pool. It can enter another network namespace first:
/// namespaces belong to threads, so the sockets it opens and the processes it spawns live there.
final class SystemThread: Sendable {
    private struct Queue {
        var jobs: [@Sendable () -> Void] = []
        var closed = false
        /// Why the thread could not start, if it could not.
        var failure: String?
    }

    private let queue = Mutex(Queue())
    private let wake = DispatchSemaphore(value: 0)

    /// Starts the thread; with `networkNamespace` (a path such as /var/run/netns/NAME) the
    /// thread moves into it before running anything, or this throws.
    init(name: String, networkNamespace: String? = nil) throws {
        let started = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            if let ns = networkNamespace, let problem = Self.enter(networkNamespace: ns) {
                queue.withLock { $0.failure = problem; $0.closed = true }
                started.signal()
                return
            }
            started.signal()
            while true {
                wake.wait()
                let next = queue.withLock { q -> (@Sendable () -> Void)? in
                    q.jobs.isEmpty ? nil : q.jobs.removeFirst()
                }
                guard let job = next else { return }  // woken with nothing queued: closed
                job()
            }
        }
        thread.name = name
        thread.start()
        started.wait()
        if let problem = queue.withLock({ $0.failure }) { throw CoordinatorError(problem) }
    }

    /// Runs `body` on the thread, after everything queued before it.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, Error>) in
            let queued = queue.withLock { q -> Bool in
                guard !q.closed else { return false }
                q.jobs.append { c.resume(with: Result { try body() }) }
                return true
            }
            if queued {
                wake.signal()
            } else {
                c.resume(throwing: CoordinatorError("the hub's system thread has stopped"))
            }
        }
    }

    /// Lets the queued jobs finish, then ends the thread. Later `run` calls throw.
    func stop() {
        let wasOpen = queue.withLock { q -> Bool in
            defer { q.closed = true }
            return !q.closed
        }
        if wasOpen { wake.signal() }
    }

    /// setns(2) into a network namespace, for the calling thread only. Glibc's module does not
    /// export setns (it needs _GNU_SOURCE), so it is looked up at run time.
    private static func enter(networkNamespace path: String) -> String? {
        typealias SetNS = @convention(c) (Int32, Int32) -> Int32
        let cloneNewNet: Int32 = 0x4000_0000
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else { return "setns(2) is not available" }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "cannot open network namespace \(path): \(String(cString: strerror(errno)))" }
        defer { close(fd) }
        guard unsafeBitCast(symbol, to: SetNS.self)(fd, cloneNewNet) == 0 else {
            return "cannot enter network namespace \(path): \(String(cString: strerror(errno)))"
        }
        return nil
    }
}
