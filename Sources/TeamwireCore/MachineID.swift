import CSodium

/// A node's `/etc/machine-id` as the coordinator sees it: never the id itself (systemd asks to
/// treat it as confidential, machine-id(5)), but an application-specific keyed hash of it, as
/// sd_id128_get_machine_app_specific does: HMAC-SHA256 keyed by the id over a fixed teamwire
/// label, the first 16 bytes in lowercase hex. Two members with the same hash were cloned from
/// one image: Fast DDS 3 takes them for one host and sends to localhost and shared memory
/// (checked in the campus lab with the Kilted wheels, Fast DDS 3.2; Jazzy's Fast DDS 2.14 is not affected).
public enum MachineID {
    /// The label hashed under the machine id: fixed, so a machine always reports the same hash.
    static let label = Array("teamwire machine id v1".utf8)
    /// Hex characters of a reported hash (16 bytes).
    public static let hashLength = 32

    /// The hash of the text of a machine-id file (32 hex digits and a newline); nil when the text
    /// is not a machine id (empty on a first boot, "uninitialized", damaged).
    public static func hash(fileText: String) -> String? {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        let id = String(fileText.drop(while: blank).reversed().drop(while: blank).reversed())
        guard id.utf8.count == 32, id.utf8.allSatisfy(isHex), id != String(repeating: "0", count: 32) else { return nil }
        Sodium.ready()
        let key = Array(id.lowercased().utf8)
        var out = [UInt8](repeating: 0, count: Int(crypto_auth_hmacsha256_BYTES))
        var state = crypto_auth_hmacsha256_state()
        _ = crypto_auth_hmacsha256_init(&state, key, key.count)
        _ = crypto_auth_hmacsha256_update(&state, label, UInt64(label.count))
        _ = crypto_auth_hmacsha256_final(&state, &out)
        return out.prefix(hashLength / 2).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// Why a reported hash is refused, in a sentence; nil if it is one.
    public static func problem(_ hash: String) -> String? {
        guard hash.utf8.count == hashLength else {
            return "the machine id hash must be \(hashLength) hex characters (got \(min(hash.utf8.count, 9999)))"
        }
        guard hash.utf8.allSatisfy({ isHex($0) && !(UInt8(ascii: "A")...UInt8(ascii: "F")).contains($0) }) else {
            return "the machine id hash must be lowercase hex (0-9, a-f)"
        }
        return nil
    }

    static func isHex(_ c: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(c)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(c)
    }

    /// Members that share a hash, as groups of names (each sorted, groups by first name).
    public static func shared(_ members: [(name: String, hash: String?)]) -> [[String]] {
        var byHash: [String: [String]] = [:]
        for m in members { if let h = m.hash { byHash[h, default: []].append(m.name) } }
        return byHash.values.filter { $0.count > 1 }.map { $0.sorted() }.sorted { $0[0] < $1[0] }
    }

    /// The fix, as one command line.
    public static let fix = "rm /etc/machine-id && systemd-machine-id-setup, then restart the agent (systemctl restart teamwire-agent) on all but one of them"
}

extension TeamStatus {
    /// Groups of names (this node's included) whose machine ids are the same.
    public var sharedMachineIDs: [[String]] {
        MachineID.shared([(name: name, hash: machineID)] + members.map { (name: $0.name, hash: $0.machineID) })
    }
}
