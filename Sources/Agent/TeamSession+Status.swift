#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TeamwireCore
import WireGuardControl

extension TeamSession {
    func status() -> TeamStatus {
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        func peerStatus(_ k: PublicKey) -> PeerStatus {
            guard let p = reconciler.peers[k] else { return PeerStatus() }
            let hs = p.lastHandshake?.unixMilliseconds
            return PeerStatus(endpoint: p.endpoint, latestHandshake: hs == 0 ? nil : hs, rxBytes: p.rxBytes, txBytes: p.txBytes)
        }
        func recent(_ ms: Int64?) -> Bool { ms.map { nowMs - $0 < 180_000 } ?? false }
        let hubStatus = peerStatus(hub.publicKey)
        let now = Self.now()
        let rows = model.members.values.sorted { $0.member.address < $1.member.address }.map { e -> MemberStatus in
            let m = e.member
            let ps = peerStatus(m.publicKey)
            let path = e.path.path
            let reachable = path == .direct
                ? (e.path.lastAlive.map { now - $0 < policy.idleTick + policy.failAfter } ?? false) || recent(ps.latestHandshake)
                : recent(hubStatus.latestHandshake)
            return MemberStatus(name: m.name, address: m.address, role: m.role, path: path, reachable: reachable, peer: ps, machineID: m.machineID)
        }
        return TeamStatus(team: team, name: enrolment.node.name, address: enrolment.node.address, prefix: settings.prefix, interface: interfaceName,
                          backend: reconciler.device.kind.rawValue, listenPort: listenPort, mode: settings.mode, revision: revision,
                          coordinatorContact: lastContact, coordinatorError: coordinatorError, hub: hubStatus, members: rows,
                          discoveryServer: discoveryServer.status, machineID: machineID)
    }
}
