import NIOPosix
import TeamwireCore
import WireGuardControl

/// The device side of a session: every write goes through the reconciler, on `io`.
extension TeamSession {
    /// Takes the device to the whole plan; the model then keeps the endpoints WireGuard learns.
    func applyPlan(_ plan: PeerPlan) async -> (any Error)? {
        if let error = await onDevice({ try $0.reconcile(to: plan) }) { return error }
        _ = model.handle(.planApplied)
        return nil
    }

    /// Runs `body` on the reconciler on `io`; the reconciler comes back whatever happens (after a
    /// failed write it has read the device again).
    func onDevice(_ body: @escaping @Sendable (inout Reconciler) throws -> Void) async -> (any Error)? {
        let before = reconciler
        do {
            let (after, error) = try await Self.io.runIfActive { () -> (Reconciler, (any Error)?) in
                var r = before
                do { try body(&r) } catch { return (r, error) }
                return (r, nil)
            }
            reconciler = after
            return error
        } catch {
            return error
        }
    }

    /// Runs blocking work (file saves with fsync) on `io`.
    func onIO(_ body: @escaping @Sendable () throws -> Void) async -> (any Error)? {
        do { try await Self.io.runIfActive(body) } catch { return error }
        return nil
    }

    /// One thread for every team's blocking system work, in order, off the NIO event loops that
    /// run the agent's tasks (idle, it waits on a condition: no wake-ups). It lives as long as the agent.
    static let io: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        return pool
    }()
}
