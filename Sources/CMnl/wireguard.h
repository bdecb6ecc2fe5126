/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * The kernel's WireGuard generic netlink ABI (include/uapi/linux/wireguard.h), vendored so the
 * build does not depend on the host's kernel headers being new enough (5.6+). Every number here
 * is ABI and must never change. Same include guard as the kernel's copy, so including both is
 * harmless.
 *
 * WG_CMD_GET_DEVICE is a dump (NLM_F_DUMP) selected by WGDEVICE_A_IFINDEX or WGDEVICE_A_IFNAME;
 * a large device spans many messages: device attributes come in the first, and a peer whose
 * allowed IPs do not fit is repeated (public key only) at the start of the next.
 * WG_CMD_SET_DEVICE takes the same attributes; a large change may be split over several
 * messages, each applied on its own.
 */
#ifndef _WG_UAPI_WIREGUARD_H
#define _WG_UAPI_WIREGUARD_H

#define WG_GENL_NAME "wireguard"
#define WG_GENL_VERSION 1

#define WG_KEY_LEN 32

enum wg_cmd {
	WG_CMD_GET_DEVICE,
	WG_CMD_SET_DEVICE,
	__WG_CMD_MAX
};
#define WG_CMD_MAX (__WG_CMD_MAX - 1)

enum wgdevice_flag {
	WGDEVICE_F_REPLACE_PEERS = 1U << 0,
	__WGDEVICE_F_ALL = WGDEVICE_F_REPLACE_PEERS
};
enum wgdevice_attribute {
	WGDEVICE_A_UNSPEC,
	WGDEVICE_A_IFINDEX,     /* u32 */
	WGDEVICE_A_IFNAME,      /* NUL-terminated string */
	WGDEVICE_A_PRIVATE_KEY, /* WG_KEY_LEN bytes; all zeros removes it */
	WGDEVICE_A_PUBLIC_KEY,  /* WG_KEY_LEN bytes, read only */
	WGDEVICE_A_FLAGS,       /* u32, wgdevice_flag */
	WGDEVICE_A_LISTEN_PORT, /* u16, host order */
	WGDEVICE_A_FWMARK,      /* u32 */
	WGDEVICE_A_PEERS,       /* nested: array of nested peers (wgpeer_attribute) */
	__WGDEVICE_A_LAST
};
#define WGDEVICE_A_MAX (__WGDEVICE_A_LAST - 1)

enum wgpeer_flag {
	WGPEER_F_REMOVE_ME = 1U << 0,
	WGPEER_F_REPLACE_ALLOWEDIPS = 1U << 1,
	WGPEER_F_UPDATE_ONLY = 1U << 2,
	__WGPEER_F_ALL = WGPEER_F_REMOVE_ME | WGPEER_F_REPLACE_ALLOWEDIPS |
			 WGPEER_F_UPDATE_ONLY
};
enum wgpeer_attribute {
	WGPEER_A_UNSPEC,
	WGPEER_A_PUBLIC_KEY,                    /* WG_KEY_LEN bytes */
	WGPEER_A_PRESHARED_KEY,                 /* WG_KEY_LEN bytes; all zeros removes it */
	WGPEER_A_FLAGS,                         /* u32, wgpeer_flag */
	WGPEER_A_ENDPOINT,                      /* struct sockaddr_in or struct sockaddr_in6 */
	WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, /* u16 seconds; 0 disables */
	WGPEER_A_LAST_HANDSHAKE_TIME,           /* struct __kernel_timespec (two s64), read only */
	WGPEER_A_RX_BYTES,                      /* u64, read only */
	WGPEER_A_TX_BYTES,                      /* u64, read only */
	WGPEER_A_ALLOWEDIPS,                    /* nested: array of nested allowed IPs */
	WGPEER_A_PROTOCOL_VERSION,              /* u32; 1 is the only version */
	__WGPEER_A_LAST
};
#define WGPEER_A_MAX (__WGPEER_A_LAST - 1)

enum wgallowedip_attribute {
	WGALLOWEDIP_A_UNSPEC,
	WGALLOWEDIP_A_FAMILY,    /* u16: AF_INET or AF_INET6 */
	WGALLOWEDIP_A_IPADDR,    /* struct in_addr or struct in6_addr */
	WGALLOWEDIP_A_CIDR_MASK, /* u8 */
	__WGALLOWEDIP_A_LAST
};
#define WGALLOWEDIP_A_MAX (__WGALLOWEDIP_A_LAST - 1)

#endif /* _WG_UAPI_WIREGUARD_H */
