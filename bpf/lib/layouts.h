/* Structs shared with TypeScript. Each one has a row in src/native/bpf-layouts.ts,
 * and a test checks that row against the compiled object's BTF, so a change here
 * that is not made there fails the build's tests instead of corrupting reads. */
#pragma once

#include "vmlinux.h"

enum tabby_direction {
	TABBY_DIR_INGRESS = 0,
	TABBY_DIR_EGRESS = 1,
	TABBY_DIR_MAX = 2,
};

/* Value of a per-CPU counter slot; userspace sums it over CPUs. */
struct counter_value {
	__u64 packets;
	__u64 bytes;
};

/* ---- encap.bpf.c: IPIP/VXLAN encapsulation (src/dataplane/encap/) ---- */

enum tabby_encap_kind {
	TABBY_ENCAP_IPIP = 1,
	TABBY_ENCAP_VXLAN = 2,
};

/* Key of the `encap_routes` LPM trie: prefixlen first, as the trie requires;
 * addr is the remote block's network address in network byte order. */
struct encap_key {
	__u32 prefixlen;
	__be32 addr;
};

/* A struct rather than a bare array, so its size shows in BTF for the layout check. */
struct tabby_mac {
	__u8 addr[6];
};

/* Value of `encap_routes`: where packets for the block are tunnelled to. */
struct encap_entry {
	__be32 remote_ip;     /* remote node's underlay address */
	__u8 kind;            /* enum tabby_encap_kind */
	__u8 flags;           /* reserved, 0: CrossSubnet is decided by whoever fills the map */
	struct tabby_mac vtep_mac; /* VXLAN: the remote VTEP's MAC (inner destination) */
};

/* Slots of the per-CPU `counters` map (struct counter_value each). */
enum tabby_encap_counter {
	TABBY_CTR_ENCAP_IPIP = 0,
	TABBY_CTR_ENCAP_VXLAN = 1,
	TABBY_CTR_DECAP_IPIP = 2,
	TABBY_CTR_DECAP_VXLAN = 3,
	TABBY_CTR_TUNNEL_NOT_LOCAL = 4, /* tunnel packet for another address: passed untouched */
	TABBY_CTR_VXLAN_OTHER_VNI = 5,  /* left to whatever else listens on the port */
	TABBY_CTR_MAX = 6,
};

/* Slots of the per-CPU `drops` map: why a packet was dropped. */
enum tabby_drop_reason {
	TABBY_DROP_MALFORMED_IP = 0,     /* outer IPv4 header short, bad version/ihl/length */
	TABBY_DROP_BAD_IP_CSUM = 1,      /* outer IPv4 header checksum wrong */
	TABBY_DROP_FRAGMENT = 2,         /* fragmented tunnel packet: cannot decapsulate */
	TABBY_DROP_INNER_MALFORMED = 3,  /* inner IPv4 header short or invalid */
	TABBY_DROP_UNKNOWN_PEER = 4,     /* tunnel packet from an address not in encap_peers */
	TABBY_DROP_VXLAN_MALFORMED = 5,  /* short UDP/VXLAN header or I flag missing */
	TABBY_DROP_VXLAN_INNER_MAC = 6,  /* inner destination MAC is not this VTEP */
	TABBY_DROP_VXLAN_INNER_PROTO = 7,/* inner frame is not IPv4 (e.g. ARP) */
	TABBY_DROP_ECN = 8,              /* outer CE on a not-ECT inner packet (RFC 6040) */
	TABBY_DROP_BAD_ENTRY = 9,        /* encap_routes entry with an unknown kind */
	TABBY_DROP_TOO_BIG = 10,         /* over 64 KiB encapsulated and not GSO */
	TABBY_DROP_MTU = 11,             /* encapsulated packet exceeds the device MTU */
	TABBY_DROP_ADJUST_ROOM = 12,     /* bpf_skb_adjust_room failed */
	TABBY_DROP_STORE = 13,           /* bpf_skb_store_bytes / csum update failed */
	TABBY_DROP_MAX = 14,
};
