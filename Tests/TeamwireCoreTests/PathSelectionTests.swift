import Testing
@testable import TeamwireCore
import TestSupport

/// One member's WireGuard peer as the agent sees it: counters that only go up (until the peer
/// is re-created), a fake clock, and the path machine the agent keeps for it.
private struct Link {
    var machine: PathMachine
    var candidates: Int
    var policy: PathPolicy { machine.policy }
    var rx: UInt64 = 1_000
    var tx: UInt64 = 1_000
    /// Latest completed handshake, ns (0: none).
    var handshake: Int64 = 0
    var now: Double

    init(_ mode: PathMode = .auto, candidates: Int = 2, at now: Double = 0, policy: PathPolicy = .standard, adopted: Bool = false) {
        machine = PathMachine(mode: mode, policy: policy, now: now, adopted: adopted)
        self.candidates = candidates
        self.now = now
    }

    /// Moves the clock to `t`, adds to the counters, and reads them. What arrives completes a
    /// handshake unless `oneWay` (the member's initiations, whose answers are lost).
    @discardableResult
    mutating func read(at t: Double, rx dr: UInt64 = 0, tx dt: UInt64 = 0, oneWay: Bool = false, quiet: Bool = false) -> Effects {
        now = t
        rx += dr
        tx += dt
        if dr > 0, !oneWay { handshake = Int64(t * 1e9) + 1_700_000_000_000_000_000 }
        let effects = Effects(machine.handle(.countersRead(PeerCounters(rx: rx, tx: tx, handshake: handshake), candidates: candidates, quiet: quiet, now: t)))
        // The agent re-creates the peer: its counters and handshake start again.
        if effects.restart { resetCounters() }
        return effects
    }

    /// The peer is not on the device at `t`.
    @discardableResult
    mutating func readMissing(at t: Double) -> Effects {
        now = t
        return Effects(machine.handle(.countersRead(nil, candidates: candidates, quiet: false, now: t)))
    }

    @discardableResult
    mutating func handle(_ e: PathEvent) -> Effects { Effects(machine.handle(e)) }

    /// The peer was re-created: its counters start again from `rx`/`tx`.
    mutating func resetCounters(rx: UInt64 = 0, tx: UInt64 = 0) {
        self.rx = rx
        self.tx = tx
        handshake = 0
    }

    var phase: PathMachine.Phase { machine.phase }
    var deadline: Double { machine.deadline(now: now) }

    /// The member's endpoint candidates, told apart by port.
    var endpoints: [Endpoint] { (0..<candidates).map { Endpoint(host: .ipv4(IPv4Address("192.0.2.7")!), port: UInt16(51_000 + $0)) } }
    /// Which candidate the peer is given (nil: none), and whether it is set over what WireGuard learnt.
    var candidate: Int? {
        switch machine.endpointIntent(endpoints) {
        case .set(let e), .keepLearnt(initial: let e?): Int(e.port) - 51_000
        case .keepLearnt(initial: nil): nil
        }
    }
    var pinned: Bool {
        if case .set = machine.endpointIntent(endpoints) { return true }
        return false
    }
    /// The endpoint intent with `n` candidates (to see the candidate index beyond `candidates`).
    func candidate(of n: Int) -> Int? {
        var l = self
        l.candidates = n
        return l.candidate
    }

    /// An auto link made direct: baseline at `t`, an answer on the trial a tick later.
    static func direct(at t: Double = 0, candidates: Int = 2, policy: PathPolicy = .standard) -> Link {
        var l = Link(.auto, candidates: candidates, at: t, policy: policy)
        l.read(at: t)
        l.read(at: t + policy.tick, rx: 148, tx: 148)
        precondition(l.phase == .direct)
        return l
    }

    /// From direct: traffic goes out each tick and nothing comes back until the path fails.
    /// Returns the time it failed.
    @discardableResult
    mutating func failDirect() -> Double {
        precondition(phase == .direct)
        var t = now
        repeat {
            t += policy.tick
            read(at: t, tx: 500)
        } while phase == .direct && t < now + 100
        precondition(phase != .direct)
        return t
    }

    /// From relay: waits for the trial and lets it run out unanswered. Returns the time the trial
    /// started and the time it failed.
    @discardableResult
    mutating func failTrial() -> (start: Double, end: Double) {
        guard case .relay(let retryAt) = phase else { preconditionFailure("not relay: \(phase)") }
        read(at: retryAt)
        guard case .trial(let until) = phase else { preconditionFailure("no trial: \(phase)") }
        let start = now
        var t = now
        while t < until {
            t = min(t + policy.tick, until)
            read(at: t, tx: 32)
        }
        precondition(phase != .direct && !machine.isTrial)
        return (start, t)
    }

    var retryAt: Double? {
        if case .relay(let r) = phase { return r }
        return nil
    }

    /// The wait the next failure starts (the backoff in force): fails the path on a copy (a
    /// trial first when direct is not up) and measures.
    var nextWait: Double {
        var l = self
        if l.phase == .direct {
            let failed = l.failDirect()
            return l.retryAt! - failed
        }
        if case .relay = l.phase { l.read(at: l.retryAt!) }
        guard case .trial(let until) = l.phase else { preconditionFailure("no trial: \(l.phase)") }
        l.read(at: until)
        return l.retryAt! - until
    }
}

/// What one event asked of the agent.
private struct Effects: Equatable {
    var active = false
    var probe = false
    var restart = false
    var changed = false
    var signal: PathSignalMessage.Kind?

    init(active: Bool = false, probe: Bool = false, restart: Bool = false, changed: Bool = false, signal: PathSignalMessage.Kind? = nil) {
        self.active = active
        self.probe = probe
        self.restart = restart
        self.changed = changed
        self.signal = signal
    }

    init(_ effects: [PathEffect]) {
        for e in effects {
            switch e {
            case .active: active = true
            case .probe: probe = true
            case .restartPeer: restart = true
            case .pathChanged(_, _, let s):
                changed = true
                signal = s
            }
        }
    }
}

private let standard = PathPolicy.standard

/// A machine relayed until `retryAt` (its first trial ran out unanswered).
private func relayed(retryAt r: Double, policy: PathPolicy = .standard) -> PathMachine {
    var l = Link(.auto, at: r - policy.firstRetry - policy.trialWindow, policy: policy)
    l.read(at: l.now)
    l.read(at: r - policy.firstRetry)
    precondition(l.phase == .relay(retryAt: r))
    return l.machine
}

/// A direct machine whose traffic went unanswered since `t`: probing.
private func probing(since t: Double, policy: PathPolicy = .standard) -> PathMachine {
    var l = Link.direct(at: t - 2 * policy.tick, policy: policy)
    precondition(l.read(at: t, tx: 500).probe)
    return l.machine
}

@Suite("Path selection")
struct PathSelectionTests {
    // MARK: policy and initial state

    @Test("the standard policy")
    func standardPolicy() {
        let p = PathPolicy.standard
        #expect(p == PathPolicy())
        #expect(p.tick == 1)
        #expect(p.idleTick == 25)
        #expect(p.failAfter == 2)
        #expect(p.trialWindow == 3)
        #expect(p.firstRetry == 2)
        #expect(p.maxRetry == 30)
        #expect(p.keepalive == 25)
        #expect(p.trialKeepalive == 1)
        // The idle look is never faster than the keepalive; a trial keepalive is on.
        #expect(p.idleTick >= Double(p.keepalive))
        #expect(p.trialKeepalive > 0 && Double(p.trialKeepalive) <= p.trialWindow)
        // Detection: one tick to see unanswered traffic, `failAfter` of probes, one tick of slack.
        #expect(p.tick + p.failAfter + p.tick < 5)
        #expect(p.firstRetry <= p.maxRetry)
    }

    @Test("auto starts with a trial: relay carries traffic while direct is tried")
    func initialAuto() {
        let l = Link(.auto, at: 100)
        #expect(l.phase == .trial(until: 103))
        #expect(l.machine.isTrial)
        #expect(l.machine.path == .relay)
        #expect(l.pinned)
        #expect(l.candidate == 0)
        #expect(l.nextWait == standard.firstRetry)
        #expect(l.machine.lastAlive == nil)
        #expect(l.deadline == 101, "a trial is looked at every tick")
    }

    @Test("forced direct starts direct with the first candidate pinned")
    func initialDirect() {
        let l = Link(.direct, at: 100)
        #expect(l.phase == .direct)
        #expect(!l.machine.isTrial)
        #expect(l.machine.path == .direct)
        #expect(l.pinned)
        #expect(l.candidate == 0)
        #expect(l.machine.endpointIntent([]) == .keepLearnt(initial: nil), "no candidate: nothing to set")
    }

    @Test("forced relay starts relay and never retries")
    func initialRelay() {
        let l = Link(.relay, at: 100)
        #expect(l.phase == .forcedRelay)
        #expect(l.machine.path == .relay)
        #expect(!l.machine.isTrial)
        #expect(!l.pinned)
        #expect(l.deadline == .infinity)
    }

    @Test("a direct path adopted from the device (agent restart) is direct at once, on the endpoint WireGuard has")
    func adoptedDirect() {
        for mode in [PathMode.auto, .direct] {
            let l = Link(mode, at: 100, adopted: true)
            #expect(l.phase == .direct)
            #expect(l.machine.path == .direct)
            #expect(!l.pinned, "a learnt endpoint (NAT, roaming) must not be overwritten by the first candidate")
            #expect(l.candidate == 0, "the first candidate only if WireGuard has none")
            if mode == .auto { #expect(l.nextWait == standard.firstRetry) }
        }
        // Forced relay stays relay whatever the device holds.
        #expect(PathMachine(mode: .relay, policy: standard, now: 100, adopted: true) == PathMachine(mode: .relay, policy: standard, now: 100))
    }

    @Test("an adopted direct path that died meanwhile fails over to relay like any direct path")
    func adoptedDirectFails() {
        var l = Link(.auto, candidates: 2, at: 0, adopted: true)
        l.read(at: 0)
        l.read(at: 1, tx: 500)
        l.read(at: 2, tx: 500)
        let a = l.read(at: 3, tx: 500)
        #expect(a.changed)
        #expect(l.phase == .relay(retryAt: 3 + standard.firstRetry))
    }

    @Test("the policy given to init sets the trial window and the first backoff")
    func initialCustomPolicy() {
        var p = PathPolicy()
        p.trialWindow = 7
        p.firstRetry = 0.5
        let l = Link(.auto, at: 10, policy: p)
        #expect(l.phase == .trial(until: 17))
        #expect(l.nextWait == 0.5)
    }

    // MARK: the first reading is a baseline

    @Test("the first reading is only a baseline", arguments: PathMode.allCases)
    func firstReadingBaseline(mode: PathMode) {
        var l = Link(mode, at: 0)
        l.resetCounters(rx: 9_000_000, tx: 7_000_000)
        let before = l.phase
        let a = l.read(at: 0.5)
        #expect(a == Effects(), "big counters of an adopted device say nothing about now")
        #expect(l.phase == before)
        // Unchanged counters afterwards: still nothing.
        #expect(l.read(at: 1.5) == Effects())
        #expect(l.phase == before)
        // Growth is judged against the baseline, not against zero.
        if mode != .relay { #expect(l.read(at: 2, tx: 10).probe == (mode == .direct)) }
    }

    @Test("a forced-direct first reading starts the liveness clock")
    func forcedDirectBaseline() {
        var l = Link(.direct, at: 0)
        l.read(at: 1)
        #expect(l.machine.lastAlive == 1)
        // What was sent before the baseline is not judged.
        #expect(l.read(at: 2) == Effects())
        #expect(l.deadline == 2 + standard.idleTick)
    }

    @Test("a missing peer gives no action, and the reading after it is a baseline again")
    func missingPeer() {
        var l = Link.direct()
        let a = l.readMissing(at: 2)
        #expect(a == Effects())
        #expect(l.phase == .direct)
        // The peer is back with the same (higher) counters: growth across the gap is not judged.
        l.rx += 10_000
        l.tx += 10_000
        let b = l.read(at: 3)
        #expect(!b.active && !b.probe && !b.changed)
        #expect(l.deadline == 3 + standard.idleTick, "no alarm")
    }

    // MARK: a one-way path never counts as direct

    @Test("the member's handshake initiations alone never make a trial or a relayed path direct")
    func oneWayInitiations() {
        var l = Link(.auto, at: 0)
        l.read(at: 0)
        // Its initiations arrive (148 B each); our answers are lost, so no handshake completes.
        for t in stride(from: 1.0, through: 3.0, by: 1) { l.read(at: t, rx: 148, tx: 92, oneWay: true) }
        #expect(l.machine.path == .relay)
        #expect(l.retryAt == 5)
        l.read(at: 4, rx: 148, oneWay: true)
        #expect(l.retryAt == 5, "still waiting on the hub")
        // Its trials go on arriving the same way, ours too: relay, with backoff, throughout.
        var t = 5.0
        while t < 120 {
            l.read(at: t, rx: 148, tx: 148, oneWay: true)
            #expect(l.machine.path == .relay, "at \(t)")
            t += 1
        }
        // Once a handshake completes, the path is direct.
        l.read(at: t, rx: 92)
        #expect(l.machine.path == .direct)
    }

    @Test("a retry re-creates the peer, so the trial starts with a handshake of its own")
    func retryRestartsThePeer() {
        var l = Link.direct()
        let failed = l.failDirect()
        let r = l.retryAt!
        #expect(r == failed + 2)
        let a = l.read(at: r)
        #expect(a.restart && a.changed && l.machine.isTrial && l.pinned)
        // The re-created peer counts from zero (the Link resets its counters on restart).
        // Its first answer already shows (the trial's handshake completed before the next look).
        let b = l.read(at: r + 0.4, rx: 92, tx: 148)
        #expect(b.changed && !b.restart)
        #expect(l.phase == .direct)
        // Only a retry from relay restarts: a failed trial does not.
        var m = Link(.auto, at: 0)
        m.read(at: 0)
        let c = m.read(at: 3)
        #expect(!c.restart)
        #expect(m.machine.path == .relay)
    }

    @Test("after a failure, traffic on the old session is not a way back: a new handshake is")
    func staleSessionIsNotDirect() {
        var l = Link.direct()
        l.failDirect()
        // The member still sends to us directly on the session it has (it may not know yet).
        l.read(at: l.now + 0.5, rx: 5_000, oneWay: true)
        #expect(l.machine.path == .relay)
        // The same after the member says it moved to the hub.
        var m = Link.direct()
        m.read(at: 5, rx: 92)
        let switched = m.handle(.peerChoseRelay(now: 5.5))
        #expect(switched == Effects(changed: true), "no news to send: the member told us")
        m.read(at: 5.6)
        m.read(at: 6, rx: 2_000, oneWay: true)
        #expect(m.machine.path == .relay)
        m.read(at: 6.5, rx: 92)
        #expect(m.machine.path == .direct, "a handshake completed after the failure")
    }

    @Test("a member's 'direct' signal: look every 0.1 s for its handshake, for a tick at most")
    func peerChoseDirectLooksSoon() {
        var l = Link(.auto, at: 0)
        l.read(at: 0)
        // Its initiation arrived (no handshake complete yet); the signal overtakes its confirmation.
        l.read(at: 0.5, rx: 148, oneWay: true)
        #expect(l.machine.isTrial)
        l.handle(.peerChoseDirect(now: 0.6))
        #expect(abs(l.deadline - 0.6) < 1e-9, "deadline is relative to the last read at 0.5")
        l.read(at: 0.6)
        #expect(abs(l.deadline - 0.7) < 1e-9)
        // The confirmation arrives: direct, and back to the idle cadence.
        l.read(at: 0.7, rx: 32)
        #expect(l.phase == .direct)
        #expect(l.deadline == 0.7 + standard.idleTick)
        // Without the handshake, the hint runs out after a tick.
        var m = Link(.auto, at: 0)
        m.read(at: 0)
        m.handle(.peerChoseDirect(now: 0.2))
        m.read(at: 0.3)
        #expect(abs(m.deadline - 0.4) < 1e-9)
        m.read(at: 1.3)
        #expect(m.deadline == 1.3 + standard.tick)
        // Already direct: nothing to do.
        var d = Link.direct()
        d.handle(.peerChoseDirect(now: 5))
        #expect(d.deadline == d.now + standard.idleTick)
        d.read(at: 5.05)
        #expect(d.deadline == 5.05 + standard.idleTick)
    }

    // MARK: anything received directly makes the path direct

    @Test("an answer during the trial makes the path direct")
    func trialAnswered() {
        var l = Link(.auto, candidates: 3, at: 0)
        l.read(at: 0)
        let a = l.read(at: 1, rx: 92, tx: 148)
        #expect(a.changed && a.active && !a.probe)
        #expect(l.phase == .direct)
        #expect(l.machine.path == .direct)
        #expect(!l.pinned, "the endpoint WireGuard learned is kept")
        #expect(a.signal == .direct)
        #expect(l.nextWait == standard.firstRetry)
        #expect(l.machine.lastAlive == 1)
        #expect(l.candidate == 0)
        // What was sent until the answer is answered.
        #expect(l.read(at: 2) == Effects())
    }

    @Test("sending during a trial is not an answer")
    func trialTxOnly() {
        var l = Link(.auto, at: 0)
        l.read(at: 0)
        let a = l.read(at: 1, tx: 148)
        // A handshake initiation is WireGuard's own retry, not traffic: no reason to tick faster.
        #expect(!a.active && !a.changed && !a.probe)
        #expect(l.machine.isTrial)
    }

    @Test("anything received while relayed makes the path direct at once, whatever the backoff")
    func relayReceives() throws {
        var l = Link.direct()
        l.failDirect()
        for _ in 0..<3 { l.failTrial() }
        #expect(l.nextWait == 30)
        let r = try #require(l.retryAt)
        #expect(r - l.now == 16)
        let a = l.read(at: l.now + 0.5, rx: 32)
        #expect(a.changed && a.active && !a.probe)
        #expect(a.signal == .direct)
        #expect(l.phase == .direct)
        #expect(l.nextWait == standard.firstRetry)
        #expect(!l.pinned)
        #expect(l.machine.lastAlive == l.now)
        #expect(l.deadline == l.now + standard.idleTick, "no alarm")
    }

    @Test("received traffic keeps a direct path direct without probes")
    func directAnswered() {
        var l = Link.direct()
        for i in 1...100 {
            let a = l.read(at: 1 + Double(i), rx: 1_000, tx: 1_000)
            #expect(a == Effects(active: true))
        }
        #expect(l.phase == .direct)
        #expect(l.machine.lastAlive == 101)
        #expect(l.deadline == 101 + standard.idleTick, "no alarm")
    }

    @Test("a one-way stream from the member keeps the path direct")
    func directReceiveOnly() {
        var l = Link.direct()
        for i in 1...30 {
            let a = l.read(at: 1 + Double(i), rx: 1_000)
            #expect(!a.probe && !a.changed && a.active)
        }
        #expect(l.phase == .direct)
    }

    // MARK: a direct path fails

    @Test("unanswered traffic: a probe every tick, relay after failAfter")
    func directFails() {
        var l = Link.direct(candidates: 3)  // direct at t = 1
        var a = l.read(at: 2, tx: 500)
        #expect(a.probe && a.active && !a.changed)
        #expect(l.deadline == 3, "probing: look again in a tick")
        a = l.read(at: 3, tx: 500)
        #expect(a.probe && !a.changed)
        #expect(l.deadline == 4)
        #expect(l.phase == .direct)
        a = l.read(at: 4, tx: 500)
        #expect(a.changed && !a.probe)
        #expect(a.signal == .relay, "the member hears it through the hub")
        #expect(l.phase == .relay(retryAt: 4 + standard.firstRetry))
        #expect(l.machine.path == .relay)
        #expect(l.nextWait == 2 * standard.firstRetry)
        #expect(l.candidate == 1, "the next trial tries the next candidate")
        #expect(!l.pinned)
    }

    @Test("probes keep going until failAfter has passed, however often the agent looks")
    func directFailsByTimeNotTicks() {
        var l = Link.direct()
        var t = 1.0
        var probes = 0
        while l.phase == .direct {
            t += 0.25
            let a = l.read(at: t, tx: 100)
            if a.probe { probes += 1 }
        }
        // First unanswered reading at 1.25, failure at 1.25 + 2.
        #expect(t == 1.25 + standard.failAfter)
        #expect(probes == 8)
    }

    @Test("an answer to the probes clears the alarm; the next silence starts a fresh one")
    func directProbeAnswered() {
        var l = Link.direct()
        #expect(l.read(at: 2, tx: 500).probe)
        #expect(l.read(at: 3, tx: 500).probe)
        let a = l.read(at: 3.9, rx: 88)  // the ICMP answer
        #expect(!a.probe && !a.changed)
        #expect(l.deadline == 3.9 + standard.idleTick, "the alarm is off")
        #expect(l.phase == .direct)
        // New silence: the clock starts again, no failure at 4 (only 2 s after the first alarm).
        #expect(l.read(at: 4, tx: 500).probe)
        #expect(l.read(at: 5, tx: 500).probe)
        #expect(l.read(at: 6, tx: 500).changed)
        #expect(l.machine.path == .relay)
    }

    @Test("silence with nothing sent is not a failure")
    func directIdleNoJudgement() {
        var l = Link.direct()
        #expect(l.read(at: 2, tx: 500).probe)
        // Nothing more sent and nothing received: the alarm stays, the probes continue.
        #expect(l.read(at: 3).probe)
        #expect(l.read(at: 4).changed)
        // But a link where nothing at all was sent since the last answer never probes.
        var m = Link.direct()
        for i in 2...200 {
            #expect(m.read(at: Double(i)) == Effects())
        }
        #expect(m.phase == .direct)
        #expect(m.deadline == 200 + standard.idleTick)
    }

    @Test("received and sent in the same interval counts as answered")
    func directMixed() {
        var l = Link.direct()
        for i in 2...50 {
            let a = l.read(at: Double(i), rx: 10, tx: 10_000)
            #expect(!a.probe && !a.changed)
        }
        // Everything sent so far was answered: silence now is not judged.
        #expect(l.read(at: 51) == Effects())
    }

    // MARK: relay, trials and backoff

    @Test("the trial starts at retryAt, not before, with the endpoint pinned")
    func trialStartsAtRetry() throws {
        var l = Link.direct(candidates: 2)
        let failed = l.failDirect()
        let r = try #require(l.retryAt)
        #expect(r == failed + standard.firstRetry)
        #expect(l.deadline == r, "idle in relay: the next look is the retry")
        let early = l.read(at: r - 0.01)
        #expect(!early.changed)
        #expect(l.retryAt == r)
        let a = l.read(at: r)
        #expect(a.changed && !a.probe)
        #expect(l.phase == .trial(until: r + standard.trialWindow))
        #expect(l.pinned)
        #expect(l.machine.path == .relay)
        #expect(l.deadline == r + standard.tick)
    }

    @Test("a trial without an answer goes back to relay with the backoff doubled")
    func trialFails() {
        var l = Link.direct(candidates: 2)
        l.failDirect()
        let (start, end) = l.failTrial()
        #expect(end == start + standard.trialWindow)
        #expect(l.phase == .relay(retryAt: end + 4))
        #expect(l.nextWait == 8)
        #expect(!l.pinned)
    }

    @Test("a trial ends exactly at its window, late looks end it too")
    func trialWindowEdges() {
        var l = Link(.auto, at: 0)
        l.read(at: 0)
        l.read(at: 2.999)
        #expect(l.machine.isTrial)
        l.read(at: 3)
        #expect(l.phase == .relay(retryAt: 3 + standard.firstRetry))
        // A look long after the window (the agent was busy): the trial ends then.
        var m = Link(.auto, at: 0)
        m.read(at: 0)
        let a = m.read(at: 40)
        #expect(a.changed)
        #expect(m.phase == .relay(retryAt: 42))
    }

    @Test("retry waits double from firstRetry up to maxRetry")
    func backoffSequence() {
        var l = Link.direct(candidates: 2)
        var lastEnd = l.failDirect()
        var waits: [Double] = []
        for _ in 0..<8 {
            let (start, end) = l.failTrial()
            waits.append(start - lastEnd)
            lastEnd = end
        }
        #expect(waits == [2, 4, 8, 16, 30, 30, 30, 30])
        #expect(l.nextWait == standard.maxRetry)
    }

    @Test("the backoff sequence follows the policy", arguments: [(0.5, 3.0), (1.0, 1.0), (3.0, 20.0)])
    func backoffCustom(first: Double, max: Double) {
        var p = PathPolicy()
        p.firstRetry = first
        p.maxRetry = max
        var l = Link.direct(policy: p)
        var lastEnd = l.failDirect()
        var expected = first
        for _ in 0..<8 {
            let (start, end) = l.failTrial()
            #expect(start - lastEnd == expected)
            expected = min(expected * 2, max)
            lastEnd = end
        }
    }

    @Test("candidates rotate across trials", arguments: [1, 2, 3, 5])
    func candidatesRotate(count: Int) {
        var l = Link.direct(candidates: count)
        #expect(l.candidate == 0)
        l.failDirect()
        var used: [Int] = []
        for _ in 0..<(2 * count) {
            guard case .relay(let r) = l.phase else { Issue.record("not relay"); return }
            l.read(at: r)
            #expect(l.machine.isTrial && l.pinned)
            used.append(l.candidate!)
            l.read(at: l.now + standard.trialWindow, tx: 32)
        }
        // The failed direct path moved on from candidate 0; then each trial takes the next one.
        #expect(used == (0..<(2 * count)).map { ($0 + 1) % count })
        #expect(Set(used) == Set(0..<count), "every candidate is tried")
    }

    @Test("the candidate a trial succeeded with is kept while direct")
    func candidateKeptWhenDirect() throws {
        var l = Link.direct(candidates: 3)
        l.failDirect()  // candidate 1
        l.failTrial()  // candidate 1 tried, now 2
        let r = try #require(l.retryAt)
        l.read(at: r)
        #expect(l.candidate == 2)
        l.read(at: r + 1, rx: 92)
        #expect(l.phase == .direct)
        #expect(l.candidate == 2)
    }

    @Test("no trial without a candidate, and no busy wake-ups while waiting for one")
    func noCandidates() throws {
        var l = Link(.auto, candidates: 0, at: 0)
        l.read(at: 0)
        l.read(at: 3)  // the first trial runs out
        #expect(l.retryAt == 3 + standard.firstRetry)
        var t = l.now
        var wakeups = 0
        while t < 600 {
            let next = PathMachine.nextCheck([l.machine], activeNow: false, now: t, policy: standard)
            #expect(next - t > 0.05, "no candidate: nothing to retry, no reason to look again at once (\(l.phase) at \(t))")
            let a = l.read(at: next)
            #expect(!a.changed)
            #expect(!l.machine.isTrial && l.machine.path == .relay)
            #expect(l.deadline > next)
            wakeups += 1
            t = next
        }
        // Backing off like failed trials: at most the idle look plus the retry per maxRetry.
        #expect(wakeups <= 5 + 2 * Int(600 / standard.maxRetry))
        // A candidate appears: the trial follows soon, with the first candidate.
        l.candidates = 1
        l.handle(.candidatesChanged(now: 601))
        let r2 = try #require(l.retryAt)
        #expect(r2 <= 601 + standard.firstRetry)
        #expect(l.nextWait == standard.firstRetry)
        l.read(at: r2)
        #expect(l.machine.isTrial)
        #expect(l.candidate == 0)
    }

    @Test("a direct path that works again after failures starts over with the first backoff")
    func backoffResetByDirect() throws {
        var l = Link.direct()
        l.failDirect()
        for _ in 0..<5 { l.failTrial() }
        let r = try #require(l.retryAt)
        l.read(at: r)
        l.read(at: r + 1, rx: 92)
        #expect(l.phase == .direct)
        #expect(l.nextWait == standard.firstRetry)
        let failed = l.failDirect()
        #expect(l.retryAt == failed + standard.firstRetry)
    }

    // MARK: candidatesChanged

    @Test("new candidates while relayed: backoff reset, first candidate, trial soon")
    func candidatesChangedInRelay() {
        var l = Link.direct(candidates: 3)
        l.failDirect()
        for _ in 0..<5 { l.failTrial() }
        #expect(l.nextWait == 30)
        #expect(l.retryAt == l.now + 30)
        l.handle(.candidatesChanged(now: l.now + 1))
        #expect(l.retryAt == l.now + 1 + standard.firstRetry)
        #expect(l.nextWait == standard.firstRetry)
        #expect(l.candidate == 0)
        let r = l.retryAt!
        l.read(at: r)
        #expect(l.machine.isTrial && l.pinned)
        #expect(l.candidate == 0)
        // This trial fails too: the wait is the first one again.
        l.read(at: r + standard.trialWindow)
        #expect(l.retryAt == r + standard.trialWindow + standard.firstRetry)
    }

    @Test("new candidates never postpone a retry that is already sooner")
    func candidatesChangedKeepsSoonerRetry() {
        var l = Link.direct()
        let failed = l.failDirect()
        #expect(l.retryAt == failed + 2)
        l.handle(.candidatesChanged(now: failed + 1.5))
        #expect(l.retryAt == failed + 2)
        // And a retry already due stays due.
        l.handle(.candidatesChanged(now: failed + 10))
        #expect(l.retryAt == failed + 2)
        l.read(at: failed + 10)
        #expect(l.machine.isTrial)
    }

    @Test("new candidates while direct: the phase stays, the next trial starts from the first")
    func candidatesChangedInDirect() {
        var l = Link.direct(candidates: 3)
        l.failDirect()
        l.failTrial()
        let r = l.retryAt!
        l.read(at: r)
        l.read(at: r + 1, rx: 92)
        #expect(l.phase == .direct && l.candidate == 2)
        l.handle(.candidatesChanged(now: r + 2))
        #expect(l.phase == .direct)
        #expect(l.candidate == 0)
        #expect(l.nextWait == standard.firstRetry)
    }

    @Test("new candidates during a trial: the trial goes on from the first candidate, the backoff restarts")
    func candidatesChangedInTrial() {
        var l = Link.direct(candidates: 3)
        l.failDirect()
        for _ in 0..<4 { l.failTrial() }
        let r = l.retryAt!
        l.read(at: r)
        guard case .trial(let until) = l.phase else { Issue.record("no trial"); return }
        l.handle(.candidatesChanged(now: r + 1))
        #expect(l.phase == .trial(until: until))
        #expect(l.pinned)
        #expect(l.candidate == 0)
        #expect(l.nextWait == standard.firstRetry)
        // Unanswered: relay, and the next attempt comes after the first wait, not the long one.
        l.read(at: until, tx: 32)
        #expect(l.retryAt == until + standard.firstRetry)
    }

    @Test("new candidates never start trials in forced relay, nor wake the agent up")
    func candidatesChangedForcedRelay() {
        var l = Link(.relay, at: 0)
        l.read(at: 0)
        l.handle(.candidatesChanged(now: 1))
        #expect(l.machine.path == .relay)
        for t in stride(from: 1.0, through: 120, by: 1) {
            let a = l.read(at: t, rx: 100, tx: 100)
            #expect(!a.changed && !a.probe)
            #expect(l.machine.path == .relay && !l.machine.isTrial)
            #expect(PathMachine.nextCheck([l.machine], activeNow: false, now: t, policy: standard) == t + standard.idleTick)
        }
    }

    // MARK: the member says it chose the hub

    @Test("the member lost its direct path: follow it to the hub at once")
    func peerChoseRelayFromDirect() {
        var l = Link.direct(candidates: 3)
        l.read(at: 2, tx: 500)  // an alarm is running
        #expect(l.deadline == 3)
        let switched1 = l.handle(.peerChoseRelay(now: 2.5))
        #expect(switched1 == Effects(changed: true))
        #expect(l.phase == .relay(retryAt: 2.5 + standard.firstRetry))
        #expect(l.machine.path == .relay)
        #expect(l.nextWait == 2 * standard.firstRetry)
        #expect(!l.pinned)
        #expect(l.candidate == 0)
        // Retries go on as after our own failure.
        l.read(at: 4.5)
        #expect(l.machine.isTrial)
        l.read(at: 7.5, tx: 32)
        #expect(l.retryAt == 7.5 + 2 * standard.firstRetry)
    }

    @Test("a signal changes nothing unless the path is direct in auto mode")
    func peerChoseRelayIgnored() {
        // Trial.
        var trial = Link(.auto, at: 0)
        trial.read(at: 0)
        var before = trial.machine
        let switched2 = trial.handle(.peerChoseRelay(now: 1)).changed
        #expect(!switched2)
        #expect(trial.machine == before)
        // Relay.
        var relay = Link.direct()
        relay.failDirect()
        before = relay.machine
        let switched3 = relay.handle(.peerChoseRelay(now: relay.now + 0.5)).changed
        #expect(!switched3)
        #expect(relay.machine == before)
        // Forced modes.
        var direct = Link(.direct, at: 0)
        direct.read(at: 0)
        before = direct.machine
        let switched4 = direct.handle(.peerChoseRelay(now: 1)).changed
        #expect(!switched4)
        #expect(direct.machine == before)
        var forced = Link(.relay, at: 0)
        forced.read(at: 0)
        before = forced.machine
        let switched5 = forced.handle(.peerChoseRelay(now: 1)).changed
        #expect(!switched5)
        #expect(forced.machine == before)
    }

    @Test("what arrived directly before the signal does not take the path back to direct")
    func peerChoseRelayStaleRx() {
        // An idle member: the last look was at 2. Traffic came in directly until the path
        // failed at 10; the signal arrives at 10.5 and the agent looks again at once.
        var l = Link.direct()
        l.read(at: 2)
        l.rx += 40_000
        l.tx += 40_000
        let switched6 = l.handle(.peerChoseRelay(now: 10.5)).changed
        #expect(switched6)
        let a = l.read(at: 10.51)
        #expect(!a.changed)
        #expect(l.machine.path == .relay)
        #expect(l.read(at: 11.5).changed == false)
        #expect(l.machine.path == .relay)
        // Something arriving directly after the signal still counts.
        let b = l.read(at: 12, rx: 92)
        #expect(b.changed)
        #expect(l.phase == .direct)
    }

    // MARK: forced modes

    @Test("forced relay: never direct, never a probe, whatever arrives")
    func forcedRelay() {
        var l = Link(.relay, candidates: 3, at: 0)
        l.read(at: 0)
        for i in 1...200 {
            let t = Double(i)
            let a = l.read(at: t, rx: i.isMultiple(of: 2) ? 1_000 : 0, tx: 1_000)
            #expect(!a.changed && !a.probe)
            // Only what arrives counts as activity off the direct path (tx is handshake retries).
            #expect(a.active == i.isMultiple(of: 2))
            #expect(l.phase == .forcedRelay)
            #expect(!l.pinned)
        }
        #expect(l.deadline == .infinity)
        #expect(PathMachine.nextCheck([l.machine], activeNow: false, now: 5, policy: standard) == 5 + standard.idleTick)
    }

    @Test("forced direct: unanswered traffic rotates the candidates but never relays", arguments: [0, 1, 2, 3])
    func forcedDirect(count: Int) {
        var l = Link(.direct, candidates: count, at: 0)
        l.read(at: 0)
        var rotations: [Double] = []
        var probes = 0
        for i in 1...30 {
            let t = Double(i)
            let a = l.read(at: t, tx: 500)
            #expect(l.phase == .direct)
            if a.probe { probes += 1 }
            // Nothing arrives: only a rotation restarts the liveness clock.
            if l.machine.lastAlive == t {
                rotations.append(t)
                #expect(!a.probe)
                #expect(a.changed == (count > 1), "only a different endpoint is worth applying")
                #expect(a.signal == nil)
                #expect(l.pinned == (count > 1))
                if count > 0 { #expect(l.candidate == rotations.count % count) }
            }
        }
        // Alarm at 1, rotate at 3; alarm at 4, rotate at 6; …
        #expect(rotations == stride(from: 3.0, through: 30, by: 3).map { $0 })
        #expect(probes == 20)
    }

    @Test("forced direct: an answer stops the rotation")
    func forcedDirectAnswered() {
        var l = Link(.direct, candidates: 3, at: 0)
        l.read(at: 0)
        l.read(at: 1, tx: 500)
        l.read(at: 2, tx: 500)
        l.read(at: 3, tx: 500)
        #expect(l.candidate == 1)
        for i in 4...50 {
            let a = l.read(at: Double(i), rx: 500, tx: 500)
            #expect(!a.probe && !a.changed)
        }
        #expect(l.candidate == 1)
        #expect(l.phase == .direct)
    }

    // MARK: idle members

    @Test("an idle direct member: no probes, no changes, looked at every idle tick")
    func idleDirect() {
        var l = Link.direct()
        #expect(l.deadline == l.now + standard.idleTick)
        var t = l.now
        for _ in 0..<1_000 {
            t = PathMachine.nextCheck([l.machine], activeNow: false, now: t, policy: standard)
            let a = l.read(at: t)
            #expect(a == Effects())
        }
        #expect(l.phase == .direct)
        #expect(t == 1 + 1_000 * standard.idleTick)
    }

    @Test("keepalives both ways: direct stays, at most one probe per keepalive interval", arguments: [0.0, 3.3, 12.5, 24.9])
    func idleKeepalives(offset: Double) {
        // Ours leaves every 25 s from t = 0, the member's arrives every 25 s from `offset`.
        var l = Link.direct(at: -2)
        let k = Double(standard.keepalive)
        func count(_ a: Double, _ b: Double, from start: Double) -> UInt64 {
            // Keepalives sent in (a, b].
            guard b > a else { return 0 }
            let first = ((a - start) / k).rounded(.down) + 1
            let last = ((b - start) / k).rounded(.down)
            return UInt64(Swift.max(0, last - first + 1))
        }
        var t = l.now
        var active = false
        var probes = 0
        var wakeups = 0
        var answerPending = false
        let end = 3_600.0
        while t < end {
            let next = PathMachine.nextCheck([l.machine], activeNow: active, now: t, policy: standard)
            let rx = 32 * count(t, next, from: offset) + (answerPending ? 88 : 0)
            let tx = 32 * count(t, next, from: 0) + (answerPending ? 60 : 0)
            let a = l.read(at: next, rx: rx, tx: tx)
            answerPending = a.probe
            if a.probe { probes += 1 }
            #expect(!a.changed, "no flapping at \(next)")
            #expect(l.phase == .direct)
            active = a.active
            wakeups += 1
            t = next
        }
        #expect(Double(probes) <= end / k + 1)
        // Per keepalive: the look that sees the keepalives, one a tick after, one more after a probe.
        #expect(wakeups <= 2 * Int(end / k) + probes + 2)
    }

    @Test("keepalives both ways under a quiet doorbell: one look per keepalive interval, no probes", arguments: [0.0, 3.3, 12.5, 24.9])
    func quietKeepalives(offset: Double) {
        var l = Link.direct(at: -2)
        let k = Double(standard.keepalive)
        func count(_ a: Double, _ b: Double, from start: Double) -> UInt64 {
            guard b > a else { return 0 }
            return UInt64(Swift.max(0, ((b - start) / k).rounded(.down) - ((a - start) / k).rounded(.down)))
        }
        var t = l.now
        var active = false
        var probes = 0
        var wakeups = 0
        let end = 3_600.0
        // The agent's looks drift a little behind its timer, as real ones do.
        while t < end {
            let next = PathMachine.nextCheck([l.machine], activeNow: active, now: t, policy: standard) + 0.003
            let a = l.read(at: next, rx: 32 * count(t, next, from: offset), tx: 32 * count(t, next, from: 0), quiet: true)
            if a.probe { probes += 1 }
            #expect(!a.changed, "no flapping at \(next)")
            // The agent counts counters moved under a quiet doorbell as no traffic.
            active = false
            wakeups += 1
            t = next
        }
        #expect(probes == 0)
        #expect(l.phase == .direct)
        #expect(wakeups <= Int(end / k) + 1)
    }

    @Test("a member gone while idle under a quiet doorbell: noticed after two of its keepalive intervals")
    func quietMemberGone() throws {
        var l = Link.direct(at: -2)
        var t = l.now
        var failedAt: Double?
        var probed = false
        while t < 300, failedAt == nil {
            let next = PathMachine.nextCheck([l.machine], activeNow: false, now: t, policy: standard)
            let sent = (next / 25).rounded(.down) > (t / 25).rounded(.down) ? UInt64(32) : 0
            // After a probe the interval is not quiet: the probe crossed the interface.
            let a = l.read(at: next, tx: sent + (probed ? 60 : 0), quiet: !probed)
            probed = a.probe
            if a.changed { failedAt = next }
            t = next
        }
        let f = try #require(failedAt)
        #expect(l.machine.path == .relay)
        #expect(f > 50 && f <= 2 * 25 + 12.5 + 25 + standard.failAfter + 2 * standard.tick, "failed at \(f)")
    }

    @Test("a member gone while idle: our keepalive goes unanswered, the path fails over")
    func idleMemberGone() throws {
        var l = Link.direct(at: -2)
        var t = l.now
        var active = false
        var failedAt: Double?
        while t < 200, failedAt == nil {
            let next = PathMachine.nextCheck([l.machine], activeNow: active, now: t, policy: standard)
            // Only our keepalive every 25 s (and our probes).
            let sent = (next / 25).rounded(.down) > (t / 25).rounded(.down) ? UInt64(32) : 0
            let a = l.read(at: next, tx: sent)
            if a.changed { failedAt = next }
            active = a.active
            t = next
        }
        let f = try #require(failedAt)
        #expect(l.machine.path == .relay)
        #expect(f <= 25 + standard.tick + standard.failAfter + standard.tick)
    }

    @Test("a member gone for good: trials no more often than maxRetry, never a busy loop")
    func goneForGood() {
        var l = Link.direct(at: -2)
        l.failDirect()
        var t = l.now
        var gaps: [Double] = []
        var trials = 0
        while t < 3_600 {
            let next = PathMachine.nextCheck([l.machine], activeNow: false, now: t, policy: standard)
            gaps.append(next - t)
            let a = l.read(at: next, tx: l.machine.isTrial ? 32 : 0)
            if a.changed, l.machine.isTrial { trials += 1 }
            t = next
        }
        #expect(gaps.allSatisfy { $0 > 0.05 })
        #expect(gaps.max()! <= standard.idleTick)
        // 2 + 4 + 8 + 16 s of backoff, then one trial per maxRetry + window.
        #expect(trials <= 5 + Int(3_600 / (standard.maxRetry + standard.trialWindow)))
    }

    // MARK: deadlines

    @Test("deadline per phase")
    func deadlines() {
        let trial = Link(.auto, at: 0).machine
        #expect(trial.deadline(now: 1) == 2)
        let relay = relayed(retryAt: 50)
        #expect(relay.deadline(now: 10) == 50)
        #expect(relay.deadline(now: 49.5) == 50)
        #expect(Link(.relay, at: 0).machine.deadline(now: 10) == .infinity)
        let idle = Link.direct(at: 0).machine
        #expect(idle.deadline(now: 10) == 35)
        #expect(probing(since: 9).deadline(now: 10) == 11)
        var p = PathPolicy()
        p.tick = 0.2
        p.idleTick = 10
        #expect(probing(since: 9, policy: p).deadline(now: 10) == 10.2)
        #expect(Link.direct(at: 0, policy: p).machine.deadline(now: 10) == 20)
    }

    @Test("next check: the idle tick when nothing is going on, a tick while traffic flows")
    func nextCheckIdleActive() {
        #expect(PathMachine.nextCheck([], activeNow: false, now: 100, policy: standard) == 125)
        #expect(PathMachine.nextCheck([], activeNow: true, now: 100, policy: standard) == 101)
        let direct = Link(.direct, at: 0).machine
        let relay = Link(.relay, at: 0).machine
        #expect(PathMachine.nextCheck([direct, relay, direct], activeNow: false, now: 100, policy: standard) == 125)
        #expect(PathMachine.nextCheck([direct, relay], activeNow: true, now: 100, policy: standard) == 101)
    }

    @Test("next check: the earliest member deadline wins")
    func nextCheckEarliest() {
        let a = relayed(retryAt: 107)
        let b = relayed(retryAt: 103.5)
        let c = Link.direct(at: 0).machine
        #expect(PathMachine.nextCheck([a, b, c], activeNow: false, now: 100, policy: standard) == 103.5)
        let trial = Link(.auto, at: 99).machine
        #expect(trial.phase == .trial(until: 102))
        #expect(PathMachine.nextCheck([a, b, trial], activeNow: false, now: 100, policy: standard) == 101)
        #expect(PathMachine.nextCheck([a, probing(since: 99)], activeNow: false, now: 100, policy: standard) == 101)
        // A retry later than the idle tick: the idle tick.
        #expect(PathMachine.nextCheck([relayed(retryAt: 1_000)], activeNow: false, now: 100, policy: standard) == 125)
    }

    @Test("next check: never in the past, never a busy loop")
    func nextCheckFloor() {
        var a = relayed(retryAt: 101)
        #expect(PathMachine.nextCheck([a], activeNow: false, now: 100.9, policy: standard) == 101)
        // A deadline closer than 50 ms: looked at in 50 ms.
        #expect(PathMachine.nextCheck([a], activeNow: false, now: 100.99, policy: standard) == 100.99 + 0.05)
        // A retry the reading could not start (no counters yet) is looked at again in a tick, not at once.
        a = relayed(retryAt: 100)
        _ = a.handle(.countersRead(nil, candidates: 2, quiet: false, now: 100))
        #expect(a.phase == .relay(retryAt: 100))
        #expect(a.deadline(now: 100) == 101)
        #expect(a.deadline(now: 150) == 151)
        #expect(PathMachine.nextCheck([a], activeNow: false, now: 150, policy: standard) == 151)
        // A policy ticking faster than 50 ms is honoured.
        var p = PathPolicy()
        p.tick = 0.01
        #expect(PathMachine.nextCheck([a], activeNow: true, now: 100, policy: p) == 100.01)
        #expect(PathMachine.nextCheck([], activeNow: true, now: 100, policy: p) == 100.01)
    }

    @Test("after any step the member's own deadline is in the future")
    func deadlineAfterStepIsFuture() {
        var rng = SeededRNG(seed: 7)
        for mode in PathMode.allCases {
            for candidates in 0...3 {
                var l = Link(mode, candidates: candidates, at: 0)
                var t = 0.0
                for _ in 0..<2_000 {
                    t += Double(Int.random(in: 1...40, using: &rng)) / 10
                    let rx: UInt64 = Bool.random(using: &rng) && Int.random(in: 0...3, using: &rng) == 0 ? 100 : 0
                    let tx: UInt64 = Bool.random(using: &rng) ? 100 : 0
                    if Int.random(in: 0...60, using: &rng) == 0 { l.handle(.candidatesChanged(now: t)) }
                    l.read(at: t, rx: rx, tx: tx)
                    #expect(l.deadline > t, "\(mode) \(candidates) \(l.phase) at \(t)")
                    #expect(PathMachine.nextCheck([l.machine], activeNow: false, now: t, policy: standard) >= t + 0.05)
                    if mode == .auto, l.machine.path == .relay, l.candidates > 0 {
                        #expect(l.nextWait >= standard.firstRetry - 1e-9 && l.nextWait <= standard.maxRetry + 1e-9, "\(l.phase) at \(t): \(l.nextWait)")
                    }
                    switch mode {
                    case .relay: #expect(l.phase == .forcedRelay)
                    case .direct: #expect(l.phase == .direct)
                    case .auto: break
                    }
                }
            }
        }
    }

    // MARK: counter resets

    @Test("a peer re-created while direct: failure is still detected against the new counters")
    func resetWhileDirect() {
        var l = Link.direct()
        for i in 2...20 { l.read(at: Double(i), rx: 50_000, tx: 50_000) }
        // The peer disappears and comes back with fresh counters.
        l.readMissing(at: 21)
        l.resetCounters()
        let a = l.read(at: 22)
        #expect(!a.changed && !a.probe)
        #expect(l.phase == .direct)
        // Now the path is dead: traffic goes out, nothing comes back.
        var t = 22.0
        while l.phase == .direct, t < 100 {
            t += 1
            l.read(at: t, tx: 500)
        }
        #expect(l.machine.path == .relay)
        #expect(t <= 22 + standard.tick + standard.failAfter)
    }

    @Test("counters that go down (device re-created) are a new baseline", arguments: [true, false])
    func countersGoDown(dead: Bool) {
        var l = Link.direct()
        for i in 2...20 { l.read(at: Double(i), rx: 50_000, tx: 50_000) }
        l.resetCounters(rx: 10, tx: 10)
        let a = l.read(at: 21)
        #expect(!a.changed && !a.probe && !a.active, "going down is neither growth nor silence")
        #expect(l.phase == .direct)
        var t = 21.0
        var left: Double?
        while t < 40 {
            t += 1
            l.read(at: t, rx: dead ? 0 : 300, tx: 500)
            if left == nil, l.phase != .direct { left = t }
        }
        if dead {
            #expect(left != nil && left! <= 21 + standard.tick + standard.failAfter, "the dead path is detected from the new counters")
        } else {
            #expect(left == nil)
            #expect(l.phase == .direct)
        }
    }

    @Test("a counter reset during a trial or relay is not taken for an answer")
    func resetInTrialAndRelay() {
        var l = Link(.auto, at: 0)
        l.read(at: 0)
        l.read(at: 0.5, rx: 5_000)
        #expect(l.phase == .direct)
        let failed = l.failDirect()
        #expect(l.machine.path == .relay)
        l.resetCounters()
        let a = l.read(at: failed + 0.5)
        #expect(!a.changed && !a.active)
        #expect(l.retryAt == failed + 2)
        let r = l.retryAt!
        l.read(at: r)
        #expect(l.machine.isTrial)
        l.read(at: r + 0.5, tx: 500)
        l.resetCounters(rx: 0, tx: 0)
        l.read(at: r + 1)
        #expect(l.machine.isTrial, "counters back to zero are not an answer")
        l.read(at: r + 2, rx: 92)
        #expect(l.phase == .direct, "growth from the new baseline is")
    }

    @Test("a peer missing during a trial or a due retry makes no busy loop")
    func missingPeerTimers() {
        var l = Link.direct()
        let failed = l.failDirect()
        for t in stride(from: failed + 5, through: failed + 60, by: 1) {
            l.readMissing(at: t)
            #expect(PathMachine.nextCheck([l.machine], activeNow: false, now: t, policy: standard) >= t + standard.tick)
        }
    }

    // MARK: the whole story, with a fake clock and a fake network

    /// A stream of traffic both ways while the path is direct; the direct path is blocked in
    /// `blocked`. The agent loop is modelled as it runs: it looks at the counters, steps, and
    /// sleeps until `nextCheck`. Between two looks the member's peer is configured for the
    /// phase the last step left.
    private struct Scenario {
        var link: Link
        let blocked: Range<Double>
        var history: [(t: Double, phase: PathMachine.Phase)] = []
        var gaps: [Double] = []
        var active = false
        var probePending = false

        init(blocked: Range<Double>, candidates: Int = 2) {
            link = Link(.auto, candidates: candidates, at: 0)
            self.blocked = blocked
            history.append((0, link.phase))
            link.read(at: 0)
        }

        /// Seconds in [a, b) the direct path was open.
        func open(_ a: Double, _ b: Double) -> Double {
            let lo = Swift.max(a, blocked.lowerBound), hi = Swift.min(b, blocked.upperBound)
            return (b - a) - Swift.max(0, hi - lo)
        }

        mutating func run(until end: Double) {
            var t = link.now
            while t < end {
                let next = PathMachine.nextCheck([link.machine], activeNow: active, now: t, policy: standard)
                gaps.append(next - t)
                let up = open(t, next)
                var rx: UInt64 = 0
                var tx: UInt64 = 0
                switch link.phase {
                case .direct:
                    // 10 kB/s each way; what the member sends only arrives while the path is open.
                    tx = UInt64(((next - t) * 10_000).rounded())
                    rx = UInt64((up * 10_000).rounded(.down))
                case .trial:
                    // Keepalive every second (a handshake initiation first), the response if open.
                    tx = 148 + 32 * UInt64((next - t).rounded(.down))
                    rx = up > 0 ? 92 : 0
                case .relay, .forcedRelay:
                    break  // the member's peer carries nothing; the hub does
                }
                if probePending {
                    tx += 60
                    if !blocked.contains(t) { rx += 88 }
                }
                let a = link.read(at: next, rx: rx, tx: tx)
                probePending = a.probe
                active = a.active
                if a.changed { history.append((next, link.phase)) }
                t = next
            }
        }

        func firstTime(after t: Double, _ pred: (PathMachine.Phase) -> Bool) -> Double? {
            history.first { $0.t >= t && pred($0.phase) }?.t
        }
    }

    @Test("direct → blocked → relay within 5 s → unblocked → direct within the backoff bound",
          arguments: [(20.0, 25.0), (20.3, 27.7), (20.999, 90.0), (33.5, 200.25), (40.0, 44.0), (61.7, 66.1)])
    func fullScenario(blockAt: Double, unblockAt: Double) throws {
        let p = PathPolicy.standard
        var s = Scenario(blocked: blockAt..<unblockAt)
        s.run(until: unblockAt + 120)

        // Direct from the first trial, and it stays direct while the path is open.
        let firstDirect = try #require(s.firstTime(after: 0) { $0 == .direct })
        #expect(firstDirect <= p.tick)
        #expect(!s.history.contains { $0.t > firstDirect && $0.t < blockAt && $0.phase != .direct }, "no flapping while the path works")

        // Blocked: relay within 5 s.
        let relayAt = try #require(s.firstTime(after: blockAt) { $0 != .direct })
        #expect(relayAt > blockAt)
        #expect(relayAt - blockAt <= 5, "relay \(relayAt - blockAt) s after the path failed")
        #expect(relayAt - blockAt <= p.tick + p.tick + p.failAfter)

        // While blocked nothing claims direct.
        #expect(!s.history.contains { $0.t > relayAt && $0.t < unblockAt && $0.phase == .direct })

        // Unblocked: direct again within the retry backoff in force (at most maxRetry) plus a tick.
        let back = try #require(s.firstTime(after: unblockAt) { $0 == .direct })
        let phaseAtUnblock = s.history.last { $0.t <= unblockAt }!.phase
        var bound = p.maxRetry + p.tick
        if case .relay(let r) = phaseAtUnblock { bound = Swift.max(r - unblockAt, 0) + p.tick }
        if case .trial(let until) = phaseAtUnblock { bound = Swift.max(until - unblockAt, 0) + p.tick }
        #expect(back - unblockAt <= bound + 1e-9, "direct \(back - unblockAt) s after unblocking (phase then \(phaseAtUnblock))")
        #expect(back - unblockAt <= p.maxRetry + p.tick)

        // And it stays direct afterwards.
        #expect(!s.history.contains { $0.t > back && $0.phase != .direct })

        // The loop never spun.
        #expect(s.gaps.allSatisfy { $0 > 0.05 && $0 <= p.idleTick })
    }

    @Test("a long outage: trials back off to maxRetry, recovery within maxRetry of the path opening")
    func longOutage() throws {
        let p = PathPolicy.standard
        for unblockOffset in stride(from: 0.0, through: 40, by: 0.7) {
            let unblock = 300 + unblockOffset
            var s = Scenario(blocked: 10..<unblock)
            s.run(until: unblock + 60)
            let relayAt = try #require(s.firstTime(after: 10) { $0 != .direct })
            #expect(relayAt - 10 <= 5)
            let trials = s.history.filter { $0.t > relayAt && $0.t < unblock }.compactMap { h -> Double? in
                if case .trial = h.phase { return h.t } else { return nil }
            }
            let spacing = zip(trials.dropFirst(), trials).map { $0 - $1 }
            #expect(spacing.allSatisfy { $0 <= p.maxRetry + p.trialWindow + 1e-9 })
            #expect(spacing.suffix(3).allSatisfy { $0 >= p.maxRetry }, "backed off to maxRetry")
            let back = try #require(s.firstTime(after: unblock) { $0 == .direct })
            #expect(back - unblock <= p.maxRetry + p.tick, "unblocked at \(unblock), direct at \(back)")
        }
    }
}

@Suite struct PathSignalMessageTests {
    @Test(arguments: [PathSignalMessage.Kind.relay, .direct])
    func roundTripsAndRejectsAnythingElse(kind: PathSignalMessage.Kind) {
        let a = IPv4Address("100.64.0.3")!
        let bytes = PathSignalMessage.encode(kind, a)
        #expect(bytes.count == PathSignalMessage.magic.count + 5)
        #expect(Array(bytes.suffix(5)) == [kind.rawValue, 100, 64, 0, 3])
        let parsed = PathSignalMessage.parse(bytes)
        #expect(parsed?.kind == kind && parsed?.member == a)
        #expect(PathSignalMessage.parse(bytes.dropLast()) == nil)
        #expect(PathSignalMessage.parse(bytes + [0]) == nil)
        var wrong = bytes
        wrong[0] ^= 1
        #expect(PathSignalMessage.parse(wrong) == nil)
        var badKind = bytes
        badKind[PathSignalMessage.magic.count] = 9
        #expect(PathSignalMessage.parse(badKind) == nil)
        #expect(PathSignalMessage.parse([]) == nil)
        #expect(PathSignalMessage.parse(Array("teamwire-probe".utf8)) == nil)
    }
}
