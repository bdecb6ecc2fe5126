import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How many connections each caller may hold open on the agent's socket at once. Since the
/// `teamwire` group may use it, a member's process (any ROS node of the ROS user) must not be
/// able to take every file descriptor the agent has and so stop it: a uid other than root gets
/// `perCaller` connections, root is not limited (its commands are the way to repair things).
final class ConnectionLimit: Sendable {
    let perCaller: Int
    private let open = Mutex<[uid_t: Int]>([:])

    init(perCaller: Int) { self.perCaller = perCaller }

    /// Takes a slot for `caller` (nil: the kernel did not say, counted as one unknown caller);
    /// false when it has none left.
    func admit(_ caller: uid_t?) -> Bool {
        let key = caller ?? uid_t.max
        if key == 0 { return true }
        return open.withLock { open in
            let n = open[key, default: 0]
            guard n < perCaller else { return false }
            open[key] = n + 1
            return true
        }
    }

    /// Gives back a slot `admit` took.
    func release(_ caller: uid_t?) {
        let key = caller ?? uid_t.max
        if key == 0 { return }
        open.withLock { open in
            let n = open[key, default: 0] - 1
            open[key] = n > 0 ? n : nil
        }
    }
}
