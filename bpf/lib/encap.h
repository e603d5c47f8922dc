/* IPIP and VXLAN encapsulation in place, for tc programs on the host interface.
 * The kernel has already routed the inner packet out of this interface and
 * resolved the Ethernet next hop, so the existing Ethernet header stays the outer
 * one and only the tunnel headers are inserted after it (or removed on ingress).
 * Configuration comes in as arguments; host_encap.h owns the maps and globals. */
#pragma once

#include "common.h"
#include "layouts.h"
#include "csum.h"
#include "skb.h"

#define ETH_HLEN 14
#define ETH_ALEN 6
#define ETH_P_IP 0x0800
#define IP_DF 0x4000
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define IPV4_HLEN 20
#define UDP_HLEN 8
#define VXLAN_HLEN 8
#define VXLAN_FLAG_I 0x08
#define ENCAP_TTL 64
#define ECN_MASK 0x03
#define ECN_CE 0x03

#define IPIP_OVERHEAD IPV4_HLEN
#define VXLAN_OVERHEAD (IPV4_HLEN + UDP_HLEN + VXLAN_HLEN + ETH_HLEN)

/* vmlinux.h carries enums, not the uapi macro. */
#define ADJ_ROOM_ENCAP_L2(len) (((__u64)(len) & BPF_ADJ_ROOM_ENCAP_L2_MASK) << BPF_ADJ_ROOM_ENCAP_L2_SHIFT)

/* FIXED_GSO: tunnel routes already carry MTU minus the overhead, so gso_size (the
 * inner segment size) is right as it is; letting the helper shrink it would only
 * send smaller segments. The ENCAP flags set the inner header offsets and the GSO
 * type, so a GSO packet is segmented into well-formed tunnel packets. */
#define IPIP_ENCAP_FLAGS (BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_ENCAP_L3_IPV4)
#define VXLAN_ENCAP_FLAGS (BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | \
			   BPF_F_ADJ_ROOM_ENCAP_L4_UDP | BPF_F_ADJ_ROOM_ENCAP_L2_ETH | \
			   ADJ_ROOM_ENCAP_L2(ETH_HLEN))
/* Decapsulation keeps gso_size too: it is the inner segment size either way. */
#define DECAP_FLAGS BPF_F_ADJ_ROOM_FIXED_GSO

/* Linux's default ephemeral range, which the kernel's VXLAN uses for source ports. */
#define VXLAN_SPORT_MIN 32768
#define VXLAN_SPORT_MAX 61000

/* Helpers return ENCAP_OK or an enum tabby_drop_reason. */
#define ENCAP_OK (-1)

struct tabby_vxlanhdr {
	__u8 flags;
	__u8 reserved1[3];
	__be32 vni; /* VNI in the upper 24 bits */
};

/* Everything VXLAN puts between the outer Ethernet header and the inner IP header.
 * Naturally aligned with no holes; only the first VXLAN_OVERHEAD bytes are written. */
struct vxlan_encap_hdr {
	struct iphdr ip;
	struct udphdr udp;
	struct tabby_vxlanhdr vx;
	struct ethhdr eth;
};

_Static_assert(__builtin_offsetof(struct vxlan_encap_hdr, eth) + sizeof(struct ethhdr) == VXLAN_OVERHEAD,
	       "VXLAN header stack");

/* What follows the outer UDP header of a VXLAN packet, up to the inner IP header. */
struct vxlan_tail {
	struct tabby_vxlanhdr vx;
	struct ethhdr eth;
} __attribute__((packed));

/* What the egress path needs from the inner header, read before the packet moves. */
struct inner_ipv4 {
	__u8 tos;
	__be16 id;
	__be16 frag_off;
};

static __always_inline void outer_ipv4(struct iphdr *ip, const struct inner_ipv4 *in, __u8 proto,
				       __u32 tot_len, __be32 saddr, __be32 daddr)
{
	ip->version = 4;
	ip->ihl = 5;
	/* ECN copied as RFC 6040 normal mode does; DF copied so PMTU discovery still works. */
	ip->tos = in->tos;
	ip->tot_len = bpf_htons(tot_len);
	ip->id = in->id;
	ip->frag_off = in->frag_off & bpf_htons(IP_DF);
	ip->ttl = ENCAP_TTL;
	ip->protocol = proto;
	ip->check = 0;
	ip->saddr = saddr;
	ip->daddr = daddr;
	ip->check = ipv4_hdr_csum(ip);
}

/* After the header is in place: refuse what the device could not send. Checked on
 * the finished packet, so GSO packets are judged by their segments. */
static __always_inline int check_mtu(struct __sk_buff *skb)
{
	__u32 mtu = 0;

	return bpf_check_mtu(skb, 0, &mtu, 0, 0) ? TABBY_DROP_MTU : ENCAP_OK;
}

/* A GSO packet forwarded after GRO may reach 64 KiB, and the tunnel headers then
 * overflow the 16-bit lengths. Such a packet is at least the device's gso_max_size,
 * so the kernel segments it in software after tc and rewrites every segment's
 * lengths; meanwhile the lengths read 0, as the kernel writes them for BIG TCP.
 * A packet that is not GSO cannot be that long. */
static __always_inline bool fits_length(struct __sk_buff *skb, __u32 *tot_len)
{
	if (*tot_len <= 0xffff)
		return true;
	if (!skb->gso_size)
		return false;
	*tot_len = 0;
	return true;
}

static __always_inline int encap_ipip(struct __sk_buff *skb, const struct inner_ipv4 *in,
				      __be32 saddr, __be32 daddr)
{
	struct iphdr ip = {};
	__u32 tot_len = skb->len - ETH_HLEN + IPIP_OVERHEAD;

	if (!fits_length(skb, &tot_len))
		return TABBY_DROP_TOO_BIG;
	outer_ipv4(&ip, in, IPPROTO_IPIP, tot_len, saddr, daddr);
	if (bpf_skb_adjust_room(skb, IPIP_OVERHEAD, BPF_ADJ_ROOM_MAC, IPIP_ENCAP_FLAGS))
		return TABBY_DROP_ADJUST_ROOM;
	if (bpf_skb_store_bytes(skb, ETH_HLEN, &ip, sizeof(ip), 0))
		return TABBY_DROP_STORE;
	return check_mtu(skb);
}

struct vxlan_params {
	__be32 saddr;
	__u32 vni;
	__u16 port;
	struct tabby_mac src_mac;
};

static __always_inline int encap_vxlan(struct __sk_buff *skb, const struct inner_ipv4 *in,
				       const struct vxlan_params *p, const struct encap_entry *e)
{
	struct vxlan_encap_hdr h = {};
	__u32 tot_len = skb->len - ETH_HLEN + VXLAN_OVERHEAD;
	/* Spread flows over source ports like the kernel does, for ECMP and RSS. */
	__u32 hash = bpf_get_hash_recalc(skb);
	__u16 sport = (__u16)((((__u64)hash * (VXLAN_SPORT_MAX - VXLAN_SPORT_MIN)) >> 32) + VXLAN_SPORT_MIN);

	if (!fits_length(skb, &tot_len))
		return TABBY_DROP_TOO_BIG;
	outer_ipv4(&h.ip, in, IPPROTO_UDP, tot_len, p->saddr, e->remote_ip);
	h.udp.source = bpf_htons(sport);
	h.udp.dest = bpf_htons(p->port);
	h.udp.len = tot_len ? bpf_htons(tot_len - IPV4_HLEN) : 0;
	h.udp.check = 0; /* zero is allowed over IPv4, and what Linux VXLAN sends by default */
	h.vx.flags = VXLAN_FLAG_I;
	h.vx.vni = bpf_htonl(p->vni << 8);
	__builtin_memcpy(h.eth.h_dest, e->vtep_mac.addr, ETH_ALEN);
	__builtin_memcpy(h.eth.h_source, p->src_mac.addr, ETH_ALEN);
	h.eth.h_proto = bpf_htons(ETH_P_IP);
	if (bpf_skb_adjust_room(skb, VXLAN_OVERHEAD, BPF_ADJ_ROOM_MAC, VXLAN_ENCAP_FLAGS))
		return TABBY_DROP_ADJUST_ROOM;
	if (bpf_skb_store_bytes(skb, ETH_HLEN, &h, VXLAN_OVERHEAD, 0))
		return TABBY_DROP_STORE;
	return check_mtu(skb);
}

/* Checks of an outer IPv4 header addressed to this node that carries a tunnel:
 * version, length, checksum (the kernel never sees this header, so nobody else
 * would check it) and fragmentation (a fragment cannot be decapsulated alone). */
static __always_inline int check_outer_ipv4(struct __sk_buff *skb, __u32 hlen)
{
	void *data = skb_data(skb);
	void *data_end = skb_data_end(skb);
	struct iphdr *ip = data + ETH_HLEN;
	__u32 tot_len;

	if ((void *)(ip + 1) > data_end)
		return TABBY_DROP_MALFORMED_IP;
	if (ip->version != 4 || hlen < IPV4_HLEN)
		return TABBY_DROP_MALFORMED_IP;
	if (!ipv4_hdr_csum_ok(ip, hlen, data_end))
		return TABBY_DROP_BAD_IP_CSUM;
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return TABBY_DROP_FRAGMENT;
	tot_len = bpf_ntohs(ip->tot_len);
	/* A GSO packet over 64 KiB carries 0, as the kernel writes it (BIG TCP). */
	if (tot_len == 0 && skb->gso_size)
		return ENCAP_OK;
	if (tot_len < hlen || tot_len > skb->len - ETH_HLEN)
		return TABBY_DROP_MALFORMED_IP;
	return ENCAP_OK;
}

/* The inner IPv4 header at `off`: enough to be worth handing to ip_rcv, which
 * checks the rest. Applies RFC 6040 ECN decapsulation from the outer TOS. */
static __always_inline int check_inner_ipv4(struct __sk_buff *skb, __u32 off, __u8 outer_tos)
{
	void *data = skb_data(skb);
	void *data_end = skb_data_end(skb);
	struct iphdr *ip;
	__be16 old_word, new_word;
	__u8 tos;

	if (off > 128)
		return TABBY_DROP_INNER_MALFORMED;
	ip = data + off;
	if ((void *)(ip + 1) > data_end)
		return TABBY_DROP_INNER_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return TABBY_DROP_INNER_MALFORMED;
	if ((outer_tos & ECN_MASK) != ECN_CE || (ip->tos & ECN_MASK) == ECN_CE)
		return ENCAP_OK;
	if ((ip->tos & ECN_MASK) == 0)
		return TABBY_DROP_ECN;
	/* Congestion seen on the way: mark the inner packet, keeping its checksum right. */
	old_word = *(__be16 *)ip;
	tos = ip->tos | ECN_CE;
	if (bpf_skb_store_bytes(skb, off + offsetof(struct iphdr, tos), &tos, 1, 0))
		return TABBY_DROP_STORE;
	data = skb_data(skb);
	data_end = skb_data_end(skb);
	ip = data + off;
	if ((void *)(ip + 1) > data_end)
		return TABBY_DROP_STORE;
	new_word = *(__be16 *)ip;
	if (bpf_l3_csum_replace(skb, off + offsetof(struct iphdr, check), old_word, new_word, 2))
		return TABBY_DROP_STORE;
	return ENCAP_OK;
}

static __always_inline int decap(struct __sk_buff *skb, __u32 len)
{
	if (bpf_skb_adjust_room(skb, -(__s32)len, BPF_ADJ_ROOM_MAC, DECAP_FLAGS))
		return TABBY_DROP_ADJUST_ROOM;
	return ENCAP_OK;
}
