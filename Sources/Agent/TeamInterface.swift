import TeamwireCore
import WireGuardControl

/// Bringing a team's WireGuard interface up and down: the device, its key and port, its overlay
/// address (which also routes the team prefix into the tunnel), MTU and link state.
enum TeamInterface {
    /// WireGuard over IPv4 with room for IPv6 underlay headers, as wg-quick picks.
    static let mtu: UInt32 = 1420

    static func bringUp(_ e: Enrolment, key: PrivateKey, prefix: IPv4Prefix, backend: BackendChoice, wireguardGo: String?, logDirectory: String) throws -> WireGuardDevice {
        let name = e.interfaceName
        let device: WireGuardDevice
        if let existing = try? WireGuardDevice.open(name, choice: backend) {
            // Adopted (the agent restarted; wireguard-go or the kernel kept the tunnels up).
            device = existing
        } else {
            switch WireGuardDevice.resolve(backend) {
            case .kernel:
                try Link.createWireGuard(name)
                device = WireGuardDevice(backend: try KernelBackend(interfaceName: name))
            case .userspace:
                _ = try WireGuardGo.start(interface: name, executable: wireguardGo, logPath: logDirectory + "/wireguard-go.log")
                device = WireGuardDevice(backend: UserspaceBackend(interfaceName: name))
            }
        }
        try device.apply(DeviceUpdate(privateKey: key, listenPort: e.listenPort))
        try Link.setMTU(name, mtu)
        for a in (try? Link.listAddresses(name)) ?? [] where a.address != e.node.address || a.prefixLength != prefix.length {
            try? Link.removeAddress(name, a.address, prefixLength: a.prefixLength)
        }
        try Link.addAddress(name, e.node.address, prefixLength: prefix.length)
        try Link.setUp(name)
        return device
    }

    /// Deleting the link ends wireguard-go too (it exits when its TUN device goes away).
    static func tearDown(_ name: String) {
        if Link.exists(name) { try? Link.delete(name) }
    }
}
