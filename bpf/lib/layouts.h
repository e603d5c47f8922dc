/* Structs shared with TypeScript. Each one has a row in src/dataplane/bpf/layouts.ts,
 * and a test checks that row against the compiled object's BTF, so a change here
 * that is not made there fails the build's tests instead of corrupting reads. */
#pragma once

#include "vmlinux.h"

/* Value of a per-CPU counter slot; userspace sums it over CPUs. */
struct counter_value {
	__u64 packets;
	__u64 bytes;
};

/* ---- host_encap.h: IPIP/VXLAN encapsulation (src/dataplane/encap/) ---- */

enum tabby_encap_kind {
	TABBY_ENCAP_NONE = 0,  /* encap_realms only: a plain next hop of an ECMP route */
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

/* Value of `encap_routes` (and of `encap_realms`, keyed by the __u32 route realm):
 * where packets for the block, or taking that next hop, are tunnelled to. */
struct encap_entry {
	__be32 remote_ip;     /* remote node's underlay address */
	__u8 kind;            /* enum tabby_encap_kind */
	__u8 flags;           /* reserved, 0: CrossSubnet is decided by whoever fills the map */
	struct tabby_mac vtep_mac; /* VXLAN: the remote VTEP's MAC (inner destination) */
};

/* An IPv6 address in network byte order. A struct rather than a bare array, so its
 * size shows in BTF for the layout check. */
struct tabby_in6 {
	__be32 w[4];
};

/* Key of the `encap_routes6` LPM trie: a remote IPv6 block (IPv6 VXLAN over an IPv6
 * underlay carries no route realm, so IPv6 goes by destination block alone). */
struct encap_key6 {
	__u32 prefixlen;
	struct tabby_in6 addr;
};

/* Value of `encap_routes6`: the remote node's underlay IPv6 address and VTEP MAC. */
struct encap_entry6 {
	struct tabby_in6 remote_ip;
	__u8 kind;            /* enum tabby_encap_kind: TABBY_ENCAP_VXLAN only */
	__u8 flags;           /* reserved, 0 */
	struct tabby_mac vtep_mac;
};

/* Slots of the per-CPU `counters` map (struct counter_value each). */
enum tabby_encap_counter {
	TABBY_CTR_ENCAP_IPIP = 0,
	TABBY_CTR_ENCAP_VXLAN = 1,
	TABBY_CTR_DECAP_IPIP = 2,
	TABBY_CTR_DECAP_VXLAN = 3,
	TABBY_CTR_TUNNEL_NOT_LOCAL = 4, /* tunnel packet for another address: passed untouched */
	TABBY_CTR_VXLAN_OTHER_VNI = 5,  /* left to whatever else listens on the port */
	TABBY_CTR_PLAIN = 6,            /* the route's realm says: this next hop is not tunnelled */
	TABBY_CTR_ENCAP_VXLAN6 = 7,     /* IPv6 in IPv6 VXLAN */
	TABBY_CTR_DECAP_VXLAN6 = 8,
	TABBY_CTR_VXLAN6_ZERO_CSUM = 9, /* ...of which sent with a zero UDP checksum (GSO, or an inner packet not summed) */
	TABBY_CTR_FRAG_NEEDED = 10,     /* too big for the tunnel: ICMP frag-needed (IPv4, DF) or ICMPv6 Packet Too Big sent back */
	TABBY_CTR_MAX = 11,
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
	TABBY_DROP_NO_REALM = 14,        /* the route has a realm that encap_realms does not hold */
	TABBY_DROP_MAX = 15,
};

/* ---- host_snat.h: natOutgoing SNAT with its own conntrack (src/dataplane/nat/) ---- */

/* An IPv4 (first 4 bytes, rest zero) or IPv6 address, in network byte order.
 * A union rather than a bare array, so its size shows in BTF for the layout check. */
union snat_addr {
	__be32 v4;
	__be32 v6[4];
};

/* Key of the IPv4 pool tries `snat_masq4` / `snat_pools4` (value: __u8, 1). */
struct snat_lpm4_key {
	__u32 prefixlen;
	__be32 addr;
};

/* Key of the IPv6 pool tries `snat_masq6` / `snat_pools6`. */
struct snat_lpm6_key {
	__u32 prefixlen;
	union snat_addr addr;
};

/* The one value of the `snat_config` array: what may change while loaded.
 * A zero node address turns SNAT off for that family (packets pass untranslated). */
struct snat_config {
	__be32 node_ip;            /* IPv4 source after SNAT */
	__u16 port_min;            /* host order; NAT ports and ICMP echo identifiers */
	__u16 port_max;
	union snat_addr node_ip6;  /* IPv6 source after SNAT */
	__u32 tcp_syn_timeout;     /* seconds: TCP with no reply yet */
	__u32 tcp_est_timeout;     /* seconds: TCP that saw a reply */
	__u32 tcp_close_timeout;   /* seconds: after RST (conntrack's CLOSE) */
	__u32 udp_timeout;
	__u32 icmp_timeout;
	__u32 hash_seed;           /* seeds the NAT port hash; kept when a new agent takes over */
	__u32 tcp_time_wait_timeout; /* seconds: after FIN both ways (conntrack's TIME_WAIT) */
};

/* snat_ct_key.dir */
enum snat_ct_dir {
	SNAT_DIR_ORIG = 0,  /* as the workload sent it: workload -> remote */
	SNAT_DIR_REPLY = 1, /* as the reply arrives: remote -> node address, NAT port */
	SNAT_DIR_PASS = 2,  /* a flow begun from outside, as the workload answers it:
			     * workload -> remote, left untranslated */
};

/* snat_ct_entry.flags (TCP state seen; SEEN_REPLY for every protocol). ORIG is the
 * side that opened the flow: the workload for REPLY entries, the remote for PASS ones. */
enum snat_ct_flag {
	SNAT_CT_SEEN_REPLY = 1,
	SNAT_CT_FIN_ORIG = 2,
	SNAT_CT_FIN_REPLY = 4,
	SNAT_CT_RST = 8,
};

/* Key of the `snat_ct` and `snat_pass` LRU hashes. ICMP echo: the identifier is the
 * requester's port (sport of a request: ORIG; dport of a reply: REPLY, PASS); the other
 * port is 0. Protocols without ports (PASS only): both ports 0. */
struct snat_ct_key {
	union snat_addr saddr;
	union snat_addr daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;   /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6 */
	__u8 family;  /* 4 or 6 */
	__u8 dir;     /* enum snat_ct_dir */
	__u8 pad;
};

/* Value of `snat_ct`. ORIG: the translation (node address, NAT port).
 * REPLY: where the reply goes back to (workload address and port), its TCP state and
 * last-seen time, which decide when the NAT port may be given to another flow.
 * PASS: TCP state and last-seen time only (addr and port zero). */
struct snat_ct_entry {
	__u64 last_seen;     /* bpf_ktime_get_ns() */
	__u64 flags;         /* enum snat_ct_flag bits (REPLY entries); 64-bit for atomic OR */
	union snat_addr addr;
	__be16 port;
	__u16 pad;
	__u32 pad2;
};

/* Slots of the per-CPU `snat_counters` map. */
enum tabby_snat_counter {
	TABBY_SNAT_CTR_SNAT_TCP = 0,    /* egress packets translated */
	TABBY_SNAT_CTR_SNAT_UDP = 1,
	TABBY_SNAT_CTR_SNAT_ICMP = 2,
	TABBY_SNAT_CTR_RNAT_TCP = 3,    /* ingress replies translated back */
	TABBY_SNAT_CTR_RNAT_UDP = 4,
	TABBY_SNAT_CTR_RNAT_ICMP = 5,
	TABBY_SNAT_CTR_NEW_FLOW = 6,    /* NAT ports allocated */
	TABBY_SNAT_CTR_PORT_REUSED = 7, /* ...of which taken over from an expired flow */
	TABBY_SNAT_CTR_DST_IN_POOL = 8, /* source in a natOutgoing pool, destination in a pool: untouched */
	TABBY_SNAT_CTR_INGRESS_FRAGMENT = 9, /* later fragment to the node address of no translated datagram: passed */
	TABBY_SNAT_CTR_INBOUND_FLOW = 10, /* flows from outside to a pool address recorded (PASS) */
	TABBY_SNAT_CTR_INBOUND_PASS = 11, /* egress packets of such flows left untranslated */
	TABBY_SNAT_CTR_RNAT_ICMP_ERROR = 12, /* ICMP errors about a translated flow sent back to the workload */
	TABBY_SNAT_CTR_HOST_RESERVED = 13, /* the node's own flows whose port in the NAT range was reserved */
	TABBY_SNAT_CTR_HOST_MOVED = 14,    /* ...or, already held by a NAT flow, moved to a free NAT port */
	TABBY_SNAT_CTR_FRAGMENT = 15,      /* later fragments translated as their first fragment was */
	TABBY_SNAT_CTR_MAX = 16,
};

/* Slots of the per-CPU `snat_drops` map: why an egress packet to be translated was dropped. */
enum tabby_snat_drop_reason {
	TABBY_SNAT_DROP_MALFORMED = 0,         /* L4 header short or IP header length invalid */
	TABBY_SNAT_DROP_FRAGMENT = 1,          /* a later fragment whose first fragment was not seen (yet) */
	TABBY_SNAT_DROP_UNSUPPORTED_PROTO = 2, /* not TCP, UDP or ICMP echo, and no flow opened from outside (incl. IPv6 extension headers) */
	TABBY_SNAT_DROP_NO_NODE_IP = 3,        /* no node address configured for the family */
	TABBY_SNAT_DROP_NO_PORT = 4,           /* every probed NAT port was in use */
	TABBY_SNAT_DROP_CT_UPDATE = 5,         /* conntrack map update failed */
	TABBY_SNAT_DROP_STORE = 6,             /* packet write or checksum update failed */
	TABBY_SNAT_DROP_MAX = 7,
};
