import NIOCore
import NIOPosix
import Synchronization

/// Sleeps on a NIO event loop's timer rather than with `Task.sleep`.
///
/// On Linux, `Task.sleep` goes through libdispatch, whose timer thread wakes up every second
/// however far away the deadline is (measured: a process doing nothing but a 60 s
/// `Task.sleep` wakes 60 times). NIO programs its timer for the deadline itself, so an idle
/// agent sleeps until its next real look. Cancelling the task ends the sleep at once.
func quietSleep(seconds: Double) async {
    guard seconds > 0, !Task.isCancelled else { return }
    let loop = MultiThreadedEventLoopGroup.singleton.next()
    let scheduled = Mutex<Scheduled<Void>?>(nil)
    await withTaskCancellationHandler {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let s = loop.scheduleTask(in: .nanoseconds(Int64(seconds * 1e9))) { c.resume() }
            s.futureResult.whenFailure { _ in c.resume() }  // cancelled
            scheduled.withLock { $0 = s }
            if Task.isCancelled { s.cancel() }
        }
    } onCancel: {
        scheduled.withLock { $0?.cancel() }
    }
}
