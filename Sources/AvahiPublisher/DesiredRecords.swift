import TeamwireCore

/// What one entry group publishes. Each host name and each service gets a group of its own, so
/// a collision on one name takes down only that name. DNS names compare case-insensitively, so
/// the identity is lowercased while the value keeps the spelling it was given.
enum RecordID: Hashable, Sendable {
    case host(String)
    case service(name: String, type: String)
}

enum RecordValue: Equatable, Sendable {
    case host(MDNSHost)
    case service(MDNSService)

    /// How the record appears in logs and in `AvahiStatus`.
    var label: String {
        switch self {
        case .host(let h): h.name
        case .service(let s): AvahiStatus.serviceLabel(name: s.name, type: s.type)
        }
    }
}

/// The union of every key's records. Two keys (teams) may name the same host with different
/// addresses (a robot called robot1 in two teams): one address per name is published, that of
/// the key first in sort order, so the choice does not depend on the order teams came up in.
struct DesiredRecords: Equatable {
    var records: [RecordID: RecordValue] = [:]
    /// One line per name two keys disagree on, for the log.
    var conflicts: [String] = []

    init(_ byKey: [String: MDNSRecords]) {
        var owner: [RecordID: String] = [:]
        for key in byKey.keys.sorted() {
            let set = byKey[key]!
            for host in set.hosts {
                add(.host(host.name.lowercased()), .host(host), key, &owner)
            }
            for service in set.services {
                add(.service(name: service.name.lowercased(), type: service.type.lowercased()), .service(service), key, &owner)
            }
        }
    }

    private mutating func add(_ id: RecordID, _ value: RecordValue, _ key: String, _ owner: inout [RecordID: String]) {
        guard let existing = records[id] else {
            records[id] = value
            owner[id] = key
            return
        }
        if existing != value {
            conflicts.append("\(value.label): \(owner[id]!) and \(key) publish different records; keeping \(owner[id]!)'s")
        }
    }
}
