import RosBridge
import Testing
import TeamwireCore

@Suite("all outputs")
struct RosOutputsTests {
    @Test("six files in a fixed order, each ending in one newline")
    func files() {
        let files = RosOutputs.render(alpha())
        #expect(files.map(\.name) == ["ros.env", "cyclonedds.xml", "fastdds.xml", "hosts", "zenoh-router.json5", "zenoh-session.json5"])
        for f in files {
            #expect(f.contents.hasSuffix("\n"))
            #expect(!f.contents.hasSuffix("\n\n"))
        }
        #expect(files[0].contents == RosEnvironment.render(alpha()))
        #expect(files[1].contents == CycloneDDSConfig.render(alpha()))
        #expect(files[2].contents == FastDDSProfile.render(alpha()))
        #expect(files[3].contents == HostsFile.render(alpha()))
        #expect(files[4].contents == ZenohConfig.renderRouter(alpha()))
        #expect(files[5].contents == ZenohConfig.renderSession(alpha()))
    }

    @Test("a laptop gets no Zenoh router file")
    func laptopFiles() {
        let c = alpha(selfName: "laptop", selfAddress: "100.64.0.10", selfRole: .laptop)
        #expect(RosOutputs.render(c).map(\.name) == ["ros.env", "cyclonedds.xml", "fastdds.xml", "hosts", "zenoh-session.json5"])
    }

    @Test("members in any order give the same bytes and the same mDNS records", arguments: [3, 10, 40])
    func stable(size: Int) {
        let base = size == 3 ? alpha() : bigTeam(size)
        let files = RosOutputs.render(base)
        let records = MDNSNames.records(base)
        for order in reorderings(base.members) {
            var c = base
            c.members = order
            #expect(RosOutputs.render(c) == files)
            #expect(MDNSNames.records(c) == records)
        }
    }

    @Test("duplicate entries in the map change nothing")
    func duplicates() {
        var c = alpha()
        c.members += c.members
        #expect(RosOutputs.render(c) == RosOutputs.render(alpha()))
        #expect(MDNSNames.records(c) == MDNSNames.records(alpha()))
    }

    @Test("the env file points at the other files by their names")
    func pointers() {
        let names = Set(RosOutputs.render(alpha()).map(\.name))
        let v = RosEnvironment.variables(alpha())
        for key in ["CYCLONEDDS_URI", "FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE",
                    "ZENOH_ROUTER_CONFIG_URI", "ZENOH_SESSION_CONFIG_URI"] {
            let value = v.first { $0.name == key }?.value ?? ""
            #expect(value.hasPrefix("file:///var/lib/teamwire/ros/alpha/") || value.hasPrefix("/var/lib/teamwire/ros/alpha/"))
            #expect(names.contains(String(value.split(separator: "/").last ?? "")))
        }
    }
}
