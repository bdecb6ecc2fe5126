import CAvahi
import Logging
import TeamwireCore

/// One record set and the entry group that publishes it (Avahi's thread only).
final class Entry {
    enum Phase { case waiting, registering, established, collision, failed }

    let id: RecordID
    var value: RecordValue
    var group: OpaquePointer?
    var phase = Phase.waiting
    /// When a record left out after a collision or failure is tried again.
    var retryAt: ContinuousClock.Instant?
    /// A service's instance name: Avahi's alternative ("name #2") after a collision.
    var publishedName: String
    /// Whether this trouble was logged already: a repeat is logged at debug level.
    var warned = false

    init(_ id: RecordID, _ value: RecordValue) {
        self.id = id
        self.value = value
        switch value {
        case .host(let h): publishedName = h.name
        case .service(let s): publishedName = s.name
        }
    }

    var label: String {
        switch value {
        case .host(let h): h.name
        case .service(let s): AvahiStatus.serviceLabel(name: publishedName, type: s.type)
        }
    }
}

extension AvahiEngine {
    /// Withdraws what is no longer wanted, publishes what is new or changed, retries what is due.
    func sync(_ want: DesiredRecords, _ now: ContinuousClock.Instant) {
        for (id, entry) in entries where want.records[id] == nil {
            freeGroup(entry)
            entries[id] = nil
            logger.debug("mDNS: withdrew \(entry.label)")
        }
        for (id, value) in want.records {
            guard let entry = entries[id] else {
                let entry = Entry(id, value)
                entries[id] = entry
                register(entry, now)
                continue
            }
            if entry.value != value {
                change(entry, to: value, now)
                continue
            }
            switch entry.phase {
            case .collision where entry.group != nil:
                collided(entry, now)
            case .failed where entry.group != nil:
                freeGroup(entry)
                entry.retryAt = now.advanced(by: collisionRetry)
            case .waiting, .collision, .failed:
                if entry.group == nil, entry.retryAt.map({ now >= $0 }) ?? true { register(entry, now) }
            case .registering, .established:
                break
            }
        }
    }

    /// A new TXT alone is updated in place (no new probe); anything else is published afresh.
    private func change(_ entry: Entry, to value: RecordValue, _ now: ContinuousClock.Instant) {
        if case .service(let old) = entry.value, case .service(let new) = value, let group = entry.group,
           entry.phase == .registering || entry.phase == .established,
           old.name == new.name, old.type == new.type, old.host == new.host, old.port == new.port {
            let result = withTXT(new.txt) {
                avahi_entry_group_update_service_txt_strlst(group, Self.anyInterface, Self.anyProtocol, Self.serviceFlags,
                                                            entry.publishedName, new.type, nil, $0)
            }
            if result >= 0 {
                entry.value = value
                logger.debug("mDNS: updated the TXT of \(entry.label)")
                return
            }
        }
        freeGroup(entry)
        let fresh = Entry(entry.id, value)
        entries[entry.id] = fresh
        register(fresh, now)
    }

    /// Publishes an entry that has no group (new, or left out until now) in a group of its own.
    private func register(_ entry: Entry, _ now: ContinuousClock.Instant) {
        guard let client, entry.group == nil else { return }
        let context = Unmanaged.passUnretained(self).toOpaque()
        guard let group = avahi_entry_group_new(client, { group, state, context in
            guard let group else { return }
            AvahiEngine.from(context).groupChanged(group, state)
        }, context) else {
            failed(entry, avahi_client_errno(client), now)
            return
        }
        entry.group = group
        owners[group] = entry.id
        var result = add(entry, to: group)
        if result >= 0 { result = avahi_entry_group_commit(group) }
        if result == AVAHI_ERR_COLLISION {
            collided(entry, now)
        } else if result < 0 {
            failed(entry, result, now)
        } else {
            entry.phase = .registering
            entry.retryAt = nil
        }
    }

    /// NO_REVERSE: every member publishes the same team-qualified and plain names for one
    /// overlay address; reverse PTRs are unique records, so two names (or two members
    /// disagreeing on a name) would fight over the address's PTR.
    private func add(_ entry: Entry, to group: OpaquePointer) -> Int32 {
        switch entry.value {
        case .host(let host):
            var address = AvahiAddress()
            guard avahi_address_parse(host.address.description, AvahiProtocol(AVAHI_PROTO_INET), &address) != nil else {
                return Int32(AVAHI_ERR_INVALID_ADDRESS)
            }
            return avahi_entry_group_add_address(group, Self.anyInterface, Self.anyProtocol,
                                                 AvahiPublishFlags(AVAHI_PUBLISH_NO_REVERSE.rawValue), host.name, &address)
        case .service(let service):
            // The SRV record points at the given host name (the master's published name), not
            // at this machine's own name.
            return withTXT(service.txt) {
                avahi_entry_group_add_service_strlst(group, Self.anyInterface, Self.anyProtocol, Self.serviceFlags,
                                                     entry.publishedName, service.type, nil,
                                                     service.host.isEmpty ? nil : service.host, service.port, $0)
            }
        }
    }

    /// Every interface avahi-daemon uses, over IPv4 and IPv6 mDNS.
    private static let anyInterface = AvahiIfIndex(AVAHI_IF_UNSPEC)
    private static let anyProtocol = AvahiProtocol(AVAHI_PROTO_UNSPEC)

    /// Our TXT is exactly what the caller gave: no Avahi cookie.
    private static var serviceFlags: AvahiPublishFlags { AvahiPublishFlags(AVAHI_PUBLISH_NO_COOKIE.rawValue) }

    private func withTXT(_ txt: [String], _ body: (UnsafeMutablePointer<AvahiStringList>?) -> Int32) -> Int32 {
        // libavahi-client sends the list reversed, i.e. in the order the strings were added.
        var list: UnsafeMutablePointer<AvahiStringList>?
        for item in txt { list = avahi_string_list_add(list, item) }
        defer { avahi_string_list_free(list) }
        return body(list)
    }

    /// Another host owns a host name: leave it out (ROS refers to names, so it is never renamed)
    /// and probe again later. A service is renamed the DNS-SD way ("name #2"): browsers find it
    /// by type and TXT.
    private func collided(_ entry: Entry, _ now: ContinuousClock.Instant) {
        freeGroup(entry)
        switch entry.value {
        case .host(let host):
            let line = "mDNS: \(host.name) is in use by another host on the network: not publishing it (\(host.address)) here, probing again every \(collisionRetry)"
            if entry.warned { logger.debug("\(line)") } else { logger.warning("\(line)") }
            entry.warned = true
            entry.phase = .collision
            entry.retryAt = now.advanced(by: collisionRetry)
        case .service(let service):
            let alternative = avahi_alternative_service_name(entry.publishedName)!
            defer { avahi_free(alternative) }
            let renamed = String(cString: alternative)
            logger.warning("mDNS: service name '\(entry.publishedName)' (\(service.type)) is in use on the network, publishing as '\(renamed)'")
            entry.publishedName = renamed
            entry.phase = .waiting
            entry.retryAt = nil
            requestStep()
        }
    }

    private func failed(_ entry: Entry, _ error: Int32, _ now: ContinuousClock.Instant) {
        let line = "mDNS: cannot publish \(entry.label): \(Self.text(error)); retrying every \(collisionRetry)"
        if entry.warned { logger.debug("\(line)") } else { logger.warning("\(line)") }
        entry.warned = true
        freeGroup(entry)
        entry.phase = .failed
        entry.retryAt = now.advanced(by: collisionRetry)
    }

    func freeGroup(_ entry: Entry) {
        guard let group = entry.group else { return }
        owners[group] = nil
        avahi_entry_group_free(group)
        entry.group = nil
    }

    private func groupChanged(_ group: OpaquePointer, _ state: AvahiEntryGroupState) {
        guard let id = owners[group], let entry = entries[id] else { return }
        switch state {
        case AVAHI_ENTRY_GROUP_ESTABLISHED:
            entry.phase = .established
            entry.warned = false
            logger.debug("mDNS: published \(entry.label)")
        case AVAHI_ENTRY_GROUP_COLLISION:
            entry.phase = .collision
        case AVAHI_ENTRY_GROUP_FAILURE:
            let why = client.map { Self.text(avahi_client_errno($0)) } ?? "unknown error"
            logger.warning("mDNS: avahi-daemon withdrew \(entry.label): \(why); retrying every \(collisionRetry)")
            entry.warned = true
            entry.phase = .failed
        default:
            return
        }
        requestStep()
    }
}
