import CAvahi
import CMnl
import CSodium
import Testing

/// Smoke tests: each C library's module map resolves, its headers import, and it links and runs.
@Suite("System libraries")
struct SystemLibraryTests {
    @Test("libsodium initialises and its primitives have the sizes teamwire assumes")
    func sodium() {
        #expect(sodium_init() >= 0)
        // A second call reports "already initialised" (1), never an error.
        #expect(sodium_init() == 1)
        #expect(crypto_scalarmult_bytes() == 32)
        #expect(crypto_box_publickeybytes() == 32)
        #expect(crypto_box_noncebytes() == 24)
        #expect(crypto_box_macbytes() == 16)
        #expect(crypto_box_beforenmbytes() == 32)
        #expect(crypto_generichash_bytes() == 32)
    }

    @Test("libmnl opens and binds a NETLINK_ROUTE socket")
    func mnl() throws {
        let sock = try #require(mnl_socket_open(NETLINK_ROUTE))
        defer { #expect(mnl_socket_close(sock) == 0) }
        #expect(mnl_socket_get_fd(sock) >= 0)
        #expect(mnl_socket_bind(sock, 0, pid_t(MNL_SOCKET_AUTOPID)) == 0)
        #expect(mnl_socket_get_portid(sock) != 0, "the kernel assigned a port id")
    }

    @Test("libavahi-common describes its error codes")
    func avahi() throws {
        let message = try #require(avahi_strerror(Int32(AVAHI_ERR_FAILURE)))
        let text = String(cString: message)
        #expect(!text.isEmpty)
        #expect(text != String(cString: avahi_strerror(Int32(AVAHI_OK))))
    }
}
