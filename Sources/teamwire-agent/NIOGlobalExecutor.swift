import CConcurrencyHook
import NIOCore
import NIOPosix

/// Runs Swift concurrency's global jobs on NIO's singleton event loops, so the idle daemon has
/// no libdispatch worker pool waking up. NIO's own installer finds the runtime's hook with dlsym,
/// which cannot see it in this static-stdlib binary (`--exclude-libs ALL`); the C shim reaches
/// it through the linker instead.
enum NIOGlobalExecutor {
    typealias EnqueueGlobalHook = @convention(thin) (UnownedJob, @convention(thin) (UnownedJob) -> Void) -> Void

    /// Call once, first thing in main. Returns false if another hook was there already.
    static func install() -> Bool {
        withUnsafeTemporaryAllocation(of: EnqueueGlobalHook.self, capacity: 1) { slot in
            // Like NIO's installer, this relies on a thin closure being one plain function pointer.
            slot.baseAddress!.initialize(to: { job, _ in
                // any() stays on the current loop when called from one: no thread hop.
                MultiThreadedEventLoopGroup.singleton.any().enqueue(ExecutorJob(job))
            })
            return slot.baseAddress!.withMemoryRebound(to: UnsafeRawPointer.self, capacity: 1) {
                teamwire_install_enqueue_global_hook($0.pointee)
            }
        }
    }
}
