import Synchronization

/// "Some team changed": a generation number bumped after every committed change to any team
/// (enrolment, removal, leave, report, settings, team creation), and a stream per follower.
/// Long polls wait per team (LongPoll.swift); this is for followers of the whole registry (the
/// hub), which want one wake-up per burst of changes, not one per change.
final class ChangeFeed: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var nextID = 0
        var followers: [Int: AsyncStream<UInt64>.Continuation] = [:]
    }

    private let state = Mutex(State())

    var generation: UInt64 { state.withLock { $0.generation } }

    func bump() {
        state.withLock { s in
            s.generation &+= 1
            for c in s.followers.values { c.yield(s.generation) }
        }
    }

    /// Yields the current generation at once, then the newest generation after each change.
    /// Only the newest is buffered, so a follower that is busy sees one wake-up for a burst.
    func follow() -> AsyncStream<UInt64> {
        let (stream, continuation) = AsyncStream<UInt64>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { s -> Int in
            s.nextID += 1
            s.followers[s.nextID] = continuation
            continuation.yield(s.generation)
            return s.nextID
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.followers.removeValue(forKey: id) }
        }
        return stream
    }
}
