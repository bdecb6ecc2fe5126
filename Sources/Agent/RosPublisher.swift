import AvahiPublisher
import DaemonFiles
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import RosBridge
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// Keeps every team's ROS outputs current: the rendered files in STATE/ros/TEAM (world-readable,
/// since ROS runs as an ordinary user, and rewritten only when their bytes change, so file
/// watchers and running launch files see no churn) and the members' names on the local
/// avahi-daemon.
final class RosPublisher: Sendable {
    let store: TeamStore
    let avahi: AvahiPublisher?
    let logger: Logger
    let participantsPerHost: Int
    let discoveryServerCommand: [String]

    init(store: TeamStore, mdns: Bool, participantsPerHost: Int, logger: Logger, discoveryServerCommand: [String] = DiscoveryServer.defaultCommand) {
        self.discoveryServerCommand = discoveryServerCommand
        self.store = store
        self.participantsPerHost = participantsPerHost
        self.logger = logger
        avahi = mdns ? AvahiPublisher(logger: logger) : nil
    }

    /// Renders the team's files, writes those that changed, and republishes its mDNS names.
    func update(_ c: RosContext) {
        let dir = c.directory
        if mkdir(dir, 0o755) != 0, errno != EEXIST {
            logger.error("cannot create the ROS output directory", metadata: ["path": "\(dir)", "error": "\(String(cString: strerror(errno)))"])
            return
        }
        chmod(dir, 0o755)
        var written: [String] = []
        for f in RosBridge.RosOutputs.render(c) {
            let path = dir + "/" + f.name
            let bytes = Array(f.contents.utf8)
            if AtomicFile.read(path) == bytes { continue }
            do {
                try AtomicFile.write(bytes, to: path, mode: 0o644)
                written.append(f.name)
            } catch {
                logger.error("cannot write a ROS output file", metadata: ["path": "\(path)", "error": "\(error)"])
            }
        }
        if !written.isEmpty {
            logger.info("ROS outputs updated", metadata: ["team": "\(c.team)", "files": "\(written.joined(separator: ","))", "members": "\(c.members.count)"])
        }
        avahi?.publish(c.team, MDNSNames.records(c))
    }

    /// The team is gone from this node: its files and names go too.
    func withdraw(_ team: String) {
        try? FileManager.default.removeItem(atPath: store.paths.rosDir(team))
        avahi?.withdraw(team)
    }

    func shutdown() { avahi?.shutdown() }
}
