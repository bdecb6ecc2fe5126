import TeamwireCore
import WireGuardControl

extension FuzzHarness {
    /// A datagram from the kernel, through every decoder that reads one: the message splitter
    /// and attribute parser (whose slices must tile the input as the lengths say), the error
    /// decoder, the rtnetlink link decoder, the genl family lookup, and the WireGuard device
    /// decoder, whose result, re-encoded by the library's own SET encoder, decodes the same.
    static func netlink(_ bytes: [UInt8]) {
        _ = NetlinkDecoding.error(bytes)
        _ = try? NetlinkDecoding.familyID([bytes])
        if let messages = try? NetlinkDecoding.messages(bytes) {
            var offset = 0
            for m in messages {
                let length = Int(bytes[offset..<(offset + 4)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
                require(m.payload.startIndex == offset + 16 && m.payload.endIndex == offset + length,
                        "message at \(offset) is \(m.payload.startIndex)..<\(m.payload.endIndex), its length says \(length)")
                offset = (offset + length + 3) & ~3
                _ = try? NetlinkDecoding.link(m.payload)
                _ = try? NetlinkDecoding.attributes(m.payload.dropFirst(4), depth: 3)  // after genlmsghdr
            }
            require(bytes.count - offset < 16, "\(bytes.count - offset) bytes after the last message were not read")
        }
        if let attributes = try? NetlinkDecoding.attributes(bytes[...], depth: 3) {
            var offset = 0
            for a in attributes {
                require(a.payload.startIndex == offset + 4 && a.payload.endIndex <= bytes.count, "attribute at \(offset) is \(a.payload.startIndex)..<\(a.payload.endIndex)")
                offset = (a.payload.endIndex + 3) & ~3
            }
            require(bytes.count - offset < 4, "\(bytes.count - offset) bytes after the last attribute were not read")
        }
        guard let device = try? WireGuardNetlink.decodeDevice([bytes], interface: "wg0") else { return }
        _ = ConfigText.showconf(device)
        reencodes(device)
    }

    /// The device as the update that would recreate it, through `setMessages`, read back as the
    /// kernel answers a GET (the same attributes under WG_CMD_GET_DEVICE).
    static func reencodes(_ device: DeviceState) {
        let update = DeviceUpdate(privateKey: device.privateKey, listenPort: device.listenPort, fwmark: device.fwmark, replacePeers: true,
                                  peers: device.peers.map {
                                      PeerUpdate(publicKey: $0.publicKey, presharedKey: $0.presharedKey, endpoint: $0.endpoint,
                                                 persistentKeepalive: $0.persistentKeepalive, allowedIPs: $0.allowedIPs)
                                  })
        let messages: [[UInt8]]
        do { messages = try WireGuardNetlink.setMessages(update, interface: "wg0", family: 0x1c) } catch {
            require(false, "a decoded device cannot be encoded: \(error)")
            return
        }
        let replies = messages.map { m -> [UInt8] in
            var m = m
            m[16] = NetlinkDecoding.getCommand  // genlmsghdr.cmd
            return m
        }
        do {
            let again = try WireGuardNetlink.decodeDevice(replies, interface: "wg0")
            require(again.privateKey?.rawValue == device.privateKey?.rawValue && again.listenPort == device.listenPort && again.fwmark == device.fwmark
                        && again.peers.map(\.configuration) == device.peers.map(\.configuration),
                    "a decoded device, encoded and decoded again, differs")
        } catch {
            require(false, "a decoded device, encoded, is refused: \(error)")
        }
    }
}
