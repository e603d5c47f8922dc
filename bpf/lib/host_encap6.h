/* IPv6 VXLAN over an IPv6 underlay, as Calico's vxlan-v6.calico carries it: IPv6
 * packets to a remote block get outer IPv6 + UDP + VXLAN + inner Ethernet (70 bytes)
 * on the way out, and lose them on the way in. Included by host_encap.h, whose maps,
 * counters and globals it shares.
 *
 * IPv6 routes carry no realm, so the remote is found by destination block
 * (`encap_routes6`), as Calico's eBPF dataplane finds it in its routes map.
 *
 * UDP over IPv6 needs a checksum (RFC 8200 §8.1), and a kernel VXLAN device drops a zero
 * one unless udp6zerocsumrx is set. It is computed here without reading the payload,
 * as the kernel's local checksum offload does (Documentation/networking/checksum-offloads.rst,
 * LCO): once the inner TCP/UDP/ICMPv6 checksum is right (or filled in later, when it is
 * CHECKSUM_PARTIAL), the inner L4 bytes sum to the complement of the inner
 * pseudo-header, so the outer checksum needs only headers. A fragment is summed byte by
 * byte (its payload is final). A GSO packet is cut into segments after tc with its UDP
 * header copied as it is (bpf_skb_adjust_room cannot ask for SKB_GSO_UDP_TUNNEL_CSUM),
 * and an inner packet with other extension headers may still have its L4 checksum to
 * be filled in: those go with a zero checksum (RFC 6935), which Tabby's own receivers
 * accept (this program; vxlan-v6.tabby has udp6zerocsumrx), and are counted. */
#pragma once

#define ETH_P_IPV6 0x86DD
#define IPV6_HLEN 40
#define ENCAP_IPPROTO_ICMPV6 58
#define ENCAP_IPPROTO_FRAGMENT 44
#define VXLAN6_OVERHEAD (IPV6_HLEN + UDP_HLEN + VXLAN_HLEN + ETH_HLEN)
#define VXLAN6_ENCAP_FLAGS (BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_ENCAP_L3_IPV6 | \
			    BPF_F_ADJ_ROOM_ENCAP_L4_UDP | BPF_F_ADJ_ROOM_ENCAP_L2_ETH | \
			    ADJ_ROOM_ENCAP_L2(ETH_HLEN))
/* The ECN bits of the traffic class, where they sit in the header's second byte. */
#define IPV6_ECN_BYTE_MASK 0x30
#define IPV6_ECN_BYTE_CE 0x30

#include "pmtu6.h"

/* Network byte order. All zero: no IPv6 underlay, IPv6 VXLAN off. */
const volatile __be32 node_ip6[4] = {};
/* This node's IPv6 VTEP MAC (vxlanTunnelMACAddrV6): its own, apart from the IPv4 one. */
const volatile struct tabby_mac vtep_mac6 = {};
const volatile __u8 vxlan6_enabled = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct encap_key6);
	__type(value, struct encap_entry6);
} encap_routes6 SEC(".maps");

/* Remote node IPv6 address -> bit (1 << kind) for each tunnel kind it may send us. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tabby_in6);
	__type(value, __u8);
} encap_peers6 SEC(".maps");

struct vxlan6_encap_hdr {
	struct ipv6hdr ip;
	struct udphdr udp;
	struct tabby_vxlanhdr vx;
	struct ethhdr eth;
};

_Static_assert(__builtin_offsetof(struct vxlan6_encap_hdr, eth) + sizeof(struct ethhdr) == VXLAN6_OVERHEAD,
	       "IPv6 VXLAN header stack");

static __always_inline bool is_node_ip6(const struct in6_addr *a)
{
	__u32 diff = 0;

#pragma unroll
	for (int i = 0; i < 4; i++)
		diff |= a->in6_u.u6_addr32[i] ^ node_ip6[i];
	return diff == 0;
}

static __always_inline bool peer6_allowed(const struct in6_addr *saddr)
{
	struct tabby_in6 key;
	__u8 *kinds;

	if (!check_peers)
		return true;
	__builtin_memcpy(&key, saddr, sizeof(key));
	kinds = bpf_map_lookup_elem(&encap_peers6, &key);
	return kinds && (*kinds & (1 << TABBY_ENCAP_VXLAN));
}

/* The inner IPv6 packet's L4 bytes sum to ~pseudo-header when its checksum is right:
 * that complement, or false when the packet cannot be summed that way. Reads the UDP
 * checksum (zero: none to rely on), so it may move the packet: pointers go stale. */
static __always_inline bool inner_l4_sum(struct __sk_buff *skb, __u32 *out)
{
	void *data = skb_data(skb), *data_end = skb_data_end(skb);
	struct ipv6hdr *ip6 = data + ETH_HLEN;
	struct udphdr *udp;
	__u32 sum;
	__u8 next;

	if ((void *)(ip6 + 1) > data_end)
		return false;
	next = ip6->nexthdr;
	if (next != IPPROTO_TCP && next != IPPROTO_UDP && next != ENCAP_IPPROTO_ICMPV6)
		return false;
	/* saddr and daddr, the 32-bit upper-layer length and the next header (RFC 8200 §8.1). */
	sum = csum_words(&ip6->saddr, 16) + ip6->payload_len + bpf_htons(next);
	if (next == IPPROTO_UDP) {
		if (!ensure_linear(skb, ETH_HLEN + IPV6_HLEN + UDP_HLEN))
			return false;
		data = skb_data(skb);
		data_end = skb_data_end(skb);
		udp = data + ETH_HLEN + IPV6_HLEN;
		if ((void *)(udp + 1) > data_end || udp->check == 0)
			return false;
	}
	*out = csum_fold32(sum); /* the complement of the folded pseudo-header */
	return true;
}

/* to-netdev, IPv6: tunnel what the destination block says. */
static __always_inline int encap6_to_netdev(struct __sk_buff *skb)
{
	struct encap_key6 key = { .prefixlen = 128 };
	struct vxlan6_encap_hdr h = {};
	struct encap_entry6 e, *found;
	struct in6_addr self;
	struct ipv6hdr *ip6;
	void *data, *data_end;
	__u32 udp_len = skb->len - ETH_HLEN + VXLAN6_OVERHEAD - IPV6_HLEN;
	__u32 hash, sum = 0, l4 = 0;
	__u16 sport, check = 0;
	bool summed;
	__u8 next;
	int ret;

	if (!vxlan6_enabled)
		return TC_ACT_OK;
	if (!ensure_linear(skb, ETH_HLEN + IPV6_HLEN))
		return TC_ACT_OK;
	data = skb_data(skb);
	data_end = skb_data_end(skb);
	ip6 = data + ETH_HLEN;
	if ((void *)(ip6 + 1) > data_end)
		return TC_ACT_OK;
	__builtin_memcpy(&key.addr, &ip6->daddr, sizeof(key.addr));
	found = bpf_map_lookup_elem(&encap_routes6, &key);
	if (!found)
		return TC_ACT_OK;
	e = *found;
	if (e.kind != TABBY_ENCAP_VXLAN)
		return encap_drop(skb, TABBY_DROP_BAD_ENTRY);
	if (ip6->version != 6)
		return encap_drop(skb, TABBY_DROP_MALFORMED_IP);
#pragma unroll
	for (int i = 0; i < 4; i++)
		self.in6_u.u6_addr32[i] = node_ip6[i];
	ret = pmtu6_check(skb, VXLAN6_OVERHEAD, &self);
	if (ret == PMTU_SENT) {
		counter_add(&counters, TABBY_CTR_FRAG_NEEDED, skb->len);
		return TC_ACT_REDIRECT;
	}
	if (ret != ENCAP_OK)
		return encap_drop(skb, ret);
	/* The check may have pulled data: pointers anew. */
	data = skb_data(skb);
	data_end = skb_data_end(skb);
	ip6 = data + ETH_HLEN;
	if ((void *)(ip6 + 1) > data_end)
		return TC_ACT_OK;
	/* The inner header lies within the outer checksum's span: summed while at hand. */
	sum = csum_words(ip6, IPV6_HLEN / 2);
	next = ip6->nexthdr;
	/* Traffic class copied (ECN as RFC 6040's normal mode); the flow label from the flow hash. */
	hash = bpf_get_hash_recalc(skb);
	h.ip.version = 6;
	h.ip.priority = ip6->priority;
	h.ip.flow_lbl[0] = (ip6->flow_lbl[0] & 0xf0) | ((hash >> 16) & 0x0f);
	h.ip.flow_lbl[1] = (hash >> 8) & 0xff;
	h.ip.flow_lbl[2] = hash & 0xff;
	h.ip.nexthdr = IPPROTO_UDP;
	h.ip.hop_limit = ENCAP_TTL;
#pragma unroll
	for (int i = 0; i < 4; i++) {
		h.ip.saddr.in6_u.u6_addr32[i] = node_ip6[i];
		h.ip.daddr.in6_u.u6_addr32[i] = e.remote_ip.w[i];
	}
	if (udp_len > 0xffff) {
		/* Over 64 KiB only as GSO: the lengths read 0, rewritten per segment (BIG TCP). */
		if (!skb->gso_size)
			return encap_drop(skb, TABBY_DROP_TOO_BIG);
		udp_len = 0;
	}
	summed = !skb->gso_size && udp_len &&
		 (inner_l4_sum(skb, &l4) || (next == ENCAP_IPPROTO_FRAGMENT && payload_sum(skb, ETH_HLEN + IPV6_HLEN, &l4)));
	sport = (__u16)((((__u64)hash * (VXLAN_SPORT_MAX - VXLAN_SPORT_MIN)) >> 32) + VXLAN_SPORT_MIN);
	h.ip.payload_len = bpf_htons(udp_len);
	h.udp.source = bpf_htons(sport);
	h.udp.dest = bpf_htons(vxlan_port);
	h.udp.len = bpf_htons(udp_len);
	h.vx.flags = VXLAN_FLAG_I;
	h.vx.vni = bpf_htonl(vxlan_vni << 8);
	__builtin_memcpy(h.eth.h_dest, e.vtep_mac.addr, ETH_ALEN);
#pragma unroll
	for (int i = 0; i < ETH_ALEN; i++)
		h.eth.h_source[i] = vtep_mac6.addr[i];
	h.eth.h_proto = bpf_htons(ETH_P_IPV6);
	if (summed) {
		/* Pseudo-header (addresses, UDP length, next header), UDP header with a zero
		 * checksum, VXLAN, inner Ethernet, inner IPv6 header, inner L4. */
		sum += csum_words(&h.ip.saddr, 16) + h.udp.len + bpf_htons(IPPROTO_UDP) +
		       csum_words(&h.udp, UDP_HLEN / 2) + csum_words(&h.vx, VXLAN_HLEN / 2) +
		       csum_words(&h.eth, ETH_HLEN / 2) + l4;
		check = csum_fold32(sum);
		/* A computed zero is sent as all ones (RFC 768); zero means none. */
		h.udp.check = check ? check : 0xffff;
	}
	if (bpf_skb_adjust_room(skb, VXLAN6_OVERHEAD, BPF_ADJ_ROOM_MAC, VXLAN6_ENCAP_FLAGS))
		return encap_drop(skb, TABBY_DROP_ADJUST_ROOM);
	if (bpf_skb_store_bytes(skb, ETH_HLEN, &h, VXLAN6_OVERHEAD, 0))
		return encap_drop(skb, TABBY_DROP_STORE);
	if (check_mtu(skb) != ENCAP_OK)
		return encap_drop(skb, TABBY_DROP_MTU);
	if (!summed)
		counter_add(&counters, TABBY_CTR_VXLAN6_ZERO_CSUM, skb->len);
	counter_add(&counters, TABBY_CTR_ENCAP_VXLAN6, skb->len);
	return TC_ACT_OK;
}

/* The outer payload length must cover UDP, VXLAN, inner Ethernet and inner IPv6, and
 * fit the packet; 0 only on a GSO packet over 64 KiB. */
static __always_inline bool outer6_length_ok(struct __sk_buff *skb, __u16 plen)
{
	if (plen == 0)
		return skb->gso_size != 0;
	return plen >= UDP_HLEN + VXLAN_HLEN + ETH_HLEN + IPV6_HLEN && plen <= skb->len - ETH_HLEN - IPV6_HLEN;
}

static __always_inline int ingress_vxlan6(struct __sk_buff *skb)
{
	__u32 inner_eth = ETH_HLEN + IPV6_HLEN + UDP_HLEN + VXLAN_HLEN;
	__u32 inner_ip = inner_eth + ETH_HLEN;
	struct in6_addr saddr;
	struct tabby_mac mine;
	struct vxlan_tail *t;
	struct ipv6hdr *ip6, *in;
	void *data, *data_end;
	__u8 outer_ecn, b1;
	int ret;

	if (!ensure_linear(skb, inner_ip + IPV6_HLEN))
		return encap_drop(skb, TABBY_DROP_VXLAN_MALFORMED);
	data = skb_data(skb);
	data_end = skb_data_end(skb);
	ip6 = data + ETH_HLEN;
	t = data + ETH_HLEN + IPV6_HLEN + UDP_HLEN;
	in = data + inner_ip;
	if ((void *)(ip6 + 1) > data_end || (void *)(t + 1) > data_end || (void *)(in + 1) > data_end)
		return encap_drop(skb, TABBY_DROP_VXLAN_MALFORMED);
	if (!outer6_length_ok(skb, bpf_ntohs(ip6->payload_len)))
		return encap_drop(skb, TABBY_DROP_MALFORMED_IP);
	if (!(t->vx.flags & VXLAN_FLAG_I))
		return encap_drop(skb, TABBY_DROP_VXLAN_MALFORMED);
	if (bpf_ntohl(t->vx.vni) >> 8 != vxlan_vni) {
		counter_add(&counters, TABBY_CTR_VXLAN_OTHER_VNI, skb->len);
		return TC_ACT_OK;
	}
#pragma unroll
	for (int i = 0; i < ETH_ALEN; i++)
		mine.addr[i] = vtep_mac6.addr[i];
	if (!mac_equal(t->eth.h_dest, mine.addr))
		return encap_drop(skb, TABBY_DROP_VXLAN_INNER_MAC);
	if (t->eth.h_proto != bpf_htons(ETH_P_IPV6))
		return encap_drop(skb, TABBY_DROP_VXLAN_INNER_PROTO);
	saddr = ip6->saddr;
	if (!peer6_allowed(&saddr))
		return encap_drop(skb, TABBY_DROP_UNKNOWN_PEER);
	if (in->version != 6)
		return encap_drop(skb, TABBY_DROP_INNER_MALFORMED);
	/* RFC 6040 decapsulation: congestion seen outside is marked inside, if the inner
	 * packet is ECN-capable; a not-ECT one cannot carry it and is dropped. */
	outer_ecn = ip6->flow_lbl[0] & IPV6_ECN_BYTE_MASK;
	b1 = in->flow_lbl[0];
	if (outer_ecn == IPV6_ECN_BYTE_CE && (b1 & IPV6_ECN_BYTE_MASK) != IPV6_ECN_BYTE_CE) {
		if ((b1 & IPV6_ECN_BYTE_MASK) == 0)
			return encap_drop(skb, TABBY_DROP_ECN);
		b1 |= IPV6_ECN_BYTE_CE;
		/* No IPv6 header checksum; a CHECKSUM_COMPLETE sum follows the byte. */
		if (bpf_skb_store_bytes(skb, inner_ip + 1, &b1, 1, BPF_F_RECOMPUTE_CSUM))
			return encap_drop(skb, TABBY_DROP_STORE);
	}
	ret = decap(skb, inner_eth); /* outer IPv6 + UDP + VXLAN + inner Ethernet */
	if (ret != ENCAP_OK)
		return encap_drop(skb, ret);
	counter_add(&counters, TABBY_CTR_DECAP_VXLAN6, skb->len);
	return TC_ACT_OK;
}

/* from-netdev, IPv6: decapsulate VXLAN addressed to this node's IPv6 address. */
static __always_inline int encap6_from_netdev(struct __sk_buff *skb)
{
	struct ipv6hdr *ip6;
	struct udphdr *udp;
	void *data, *data_end;

	if (!vxlan6_enabled)
		return TC_ACT_OK;
	if (!ensure_linear(skb, ETH_HLEN + IPV6_HLEN + UDP_HLEN))
		return TC_ACT_OK;
	data = skb_data(skb);
	data_end = skb_data_end(skb);
	ip6 = data + ETH_HLEN;
	udp = data + ETH_HLEN + IPV6_HLEN;
	if ((void *)(ip6 + 1) > data_end || (void *)(udp + 1) > data_end)
		return TC_ACT_OK;
	if (ip6->version != 6 || ip6->nexthdr != IPPROTO_UDP || udp->dest != bpf_htons(vxlan_port))
		return TC_ACT_OK;
	if (!is_node_ip6(&ip6->daddr)) {
		counter_add(&counters, TABBY_CTR_TUNNEL_NOT_LOCAL, skb->len);
		return TC_ACT_OK;
	}
	return ingress_vxlan6(skb);
}
