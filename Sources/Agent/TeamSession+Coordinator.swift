import CoordinatorClient
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import TeamwireCore

/// The coordinator side of a session: the long poll on the team map, contact bookkeeping,
/// endpoint reports.
extension TeamSession {
    func pollLoop() async {
        while !Task.isCancelled {
            do {
                // At the start and back from an outage: ask for what changed at once (the answer
                // is the sign the coordinator is there, and the next poll parks); otherwise park
                // for a minute.
                let update = try await client.map(since: revision, wait: coordinatorError == nil && firstPoll != nil ? 60 : 0)
                await reachable()
                await apply(update)
                if firstPoll == nil { firstPoll = true }
            } catch {
                if Task.isCancelled { return }
                // Only a refusal sealed by the coordinator counts: an unsealed "node removed"
                // can come from anyone on the path and must never make a robot drop its team.
                if case .refused(let e) = error, e.code == .nodeRemoved || e.code == .unknownNode {
                    let why = e.message
                    logger.warning("removed from the team by the coordinator", metadata: ["reason": "\(why)"])
                    await onRemoved(team, why)
                    return
                }
                // A connection it accepted (a parked poll broken by a crash) says it was there
                // just now: it is probably restarting, so ask again soon.
                if case .noReply = error { backoff.alive(at: Self.now()) }
                await unreachable(error)
                if firstPoll == nil { firstPoll = false }
                // Jittered so a campus of robots does not reconnect in lockstep after an outage.
                await quietSleep(seconds: backoff.delay(now: Self.now(), jitter: Double.random(in: 0..<1)))
            }
        }
    }

    /// The coordinator answered.
    func reachable() async {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        backoff.alive(at: Self.now())
        if coordinatorError != nil {
            logger.notice("coordinator reachable again")
            coordinatorError = nil
            lastContact = now
            await saveContact()
        } else {
            lastContact = now
            // Kept on disk so a node rebooted while the coordinator is down can say since when.
            // (The saved value comes from a file: no arithmetic on it may trap.)
            let age = now.subtractingReportingOverflow(savedContact ?? 0)
            if age.overflow || age.partialValue > 600_000 { await saveContact() }
        }
    }

    func unreachable(_ error: ClientError) async {
        let first = coordinatorError == nil
        // Set before the save suspends: an answer meanwhile must find it set, to clear it.
        coordinatorError = "\(error)"
        if first {
            logger.warning("coordinator unreachable; tunnels stay up, retrying", metadata: ["error": "\(error)"])
            await saveContact()
        }
    }

    func saveContact() async {
        guard let c = lastContact, c != savedContact else { return }
        if let error = await onIO({ [store, team] in try store.saveContact(team, c) }) {
            logger.warning("cannot save the time of the last coordinator contact", metadata: ["error": "\(error)"])
        } else {
            savedContact = c
        }
    }

    /// Drops the parked long poll (its connection is from an address we may no longer have)
    /// and parks a new one at once.
    func reconnectCoordinator() {
        guard !stopped else { return }
        pollTask?.cancel()
        pollTask = Task { await self.pollLoop() }
    }

    // MARK: reports

    func localEndpointsChanged() -> Bool {
        LocalEndpoints.candidates(port: listenPort) != reported
    }

    func reportLoop() async {
        while !Task.isCancelled, !stopped {
            reportDue = false
            await report()
            if reportDue { continue }
            // Liveness for the coordinator; address changes are reported at once by the path check.
            let s = Task { await quietSleep(seconds: coordinatorError == nil ? 120 : 10) }
            reportSleeper = s
            await s.value
        }
    }

    /// Reports now: wakes the report loop, or has it report again when one is in flight.
    func reportNow() {
        guard !stopped else { return }
        // As the report itself does: the next look must not take the same change for new.
        reported = LocalEndpoints.candidates(port: listenPort)
        reportDue = true
        reportSleeper?.cancel()
    }

    func report() async {
        let endpoints = LocalEndpoints.candidates(port: listenPort)
        reported = endpoints
        do {
            // Short: a refused connection is retried until the deadline, and this is also how
            // the agent notices the coordinator is gone while a long poll is still parked.
            let r = try await client.report(endpoints: endpoints, listenPort: listenPort, machineID: machineID, timeout: .seconds(5))
            await reachable()
            logger.debug("reported endpoints", metadata: ["endpoints": "\(endpoints)", "observed": "\(r.observedEndpoint.map { "\($0)" } ?? "-")"])
        } catch {
            await unreachable(error)
        }
    }

    /// Tells the coordinator this node leaves (best effort, short).
    func leaveCoordinator() async -> String? {
        do {
            try await client.leave()
            return nil
        } catch {
            return "\(error)"
        }
    }
}
