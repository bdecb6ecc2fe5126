import Logging
import NIOCore
import TeamwireCore
import WireGuardControl

/// The path timer and the listeners that feed the event loop.
extension TeamSession {
    func pathLoop() async {
        while !Task.isCancelled, !stopped {
            let wait = await withCheckedContinuation { c in
                if case .terminated = post.yield(.look(next: c)) { c.resume(returning: policy.tick) }
            }
            let last = Self.now()
            await sleep(wait)
            // Woken by traffic: look at once, but never more often than once a tick, nor later
            // than planned (a member's "direct" signal plans looks 0.1 s apart). This wait is
            // the sleeper too: a path signal or a new member arriving during it still means "look
            // now" (the doorbell stays unarmed until the next look, so traffic cannot end it).
            let since = Self.now() - last
            let limit = min(policy.tick, wait)
            if model.wokenByTraffic, since < limit { await sleep(limit - since) }
        }
    }

    /// Sleeps as the sleeper: a wake-up, a path signal or a new member cancels it to look now.
    func sleep(_ seconds: Double) async {
        if lookAsked {
            lookAsked = false
            return
        }
        let s = Task { await quietSleep(seconds: seconds) }
        sleeper = s
        await s.value
        sleeper = nil
    }

    /// Look now: end the sleep, or skip the next one when the timer is between a look and its sleep.
    func wakeSleeper() {
        if let sleeper { sleeper.cancel() } else { lookAsked = true }
    }

    /// Reads the counters, advances every member's path, applies what changed; returns the
    /// seconds until the next look.
    func tick() async -> Double {
        let now = Self.now()
        let armed = doorbell.isArmed
        // Armed before the counters are read, so no packet slips between the look and the sleep.
        if let why = doorbell.arm(ring: { [post] in post.yield(.doorbell) }) {
            logger.warning("no traffic doorbell; the start of traffic is noticed at the next idle look", metadata: ["error": "\(why)"])
        }
        if let error = await onDevice({ try $0.refresh() }) {
            logger.error("cannot read \(interfaceName)", metadata: ["error": "\(error)"])
            return policy.tick * 5
        }
        nextLook = now + policy.idleTick
        let reading = TeamModel.CounterReading(peers: reconciler.peers.mapValues(Self.counters), doorbellArmed: armed,
                                               addressesChanged: localEndpointsChanged(), now: now)
        await perform(model.handle(.countersRead(reading)), failure: "cannot apply paths to \(interfaceName)")
        return nextLook - now
    }

    static func counters(_ p: PeerState) -> PeerCounters {
        PeerCounters(rx: p.rxBytes, tx: p.txBytes, handshake: p.lastHandshake?.unixNanoseconds ?? 0)
    }

    /// Members tell us through the hub when their path to us changed (see PathSignal).
    func signalLoop() async {
        let signals: AsyncStream<(kind: PathSignalMessage.Kind, member: IPv4Address)>
        let channel: any Channel
        do {
            (channel, signals) = try await PathSignal.listen(address: enrolment.node.address, interface: interfaceName, hub: hub.address)
        } catch {
            logger.warning("path signals not available; a failed direct path is noticed at the next idle look", metadata: ["error": "\(error)"])
            return
        }
        await withTaskCancellationHandler {
            for await s in signals { post.yield(.pathSignal(s.kind, from: s.member)) }
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    /// Answers `teamwire doctor --canary` from members until the session stops.
    func canaryLoop() async {
        let channel: any Channel
        do {
            channel = try await CanaryResponder.listen(address: enrolment.node.address, interface: interfaceName, prefix: settings.prefix)
        } catch {
            logger.warning("no canary responder; `teamwire doctor --canary` on other members finds no answer here", metadata: ["error": "\(error)"])
            return
        }
        await withTaskCancellationHandler {
            try? await channel.closeFuture.get()
        } onCancel: {
            channel.close(promise: nil)
        }
    }
}
