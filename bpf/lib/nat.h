/* Packet side of SNAT for tc programs: reading the tuple of an IPv4/IPv6 packet and
 * rewriting its source (egress) or destination (ingress) address and port with
 * incremental checksum updates. No maps here: nat_ct.h has the conntrack, and
 * host_snat.h owns maps and configuration. */
#pragma once

#include "common.h"
#include "layouts.h"
#include "skb.h"

#define NAT_ETH_HLEN 14
#define NAT_ETH_P_IP 0x0800
#define NAT_ETH_P_IPV6 0x86DD
#define NAT_IP_MF 0x2000
#define NAT_IP_OFFSET 0x1fff
#define NAT_IP6_OFFSET 0xfff8 /* the fragment offset in the IPv6 fragment header's field */
#define NAT_IPV4_HLEN 20
#define NAT_IPV6_HLEN 40
#define NAT_TCP_HLEN 20
#define NAT_UDP_HLEN 8
#define NAT_ICMP_HLEN 8

/* #defines in the uapi headers, so not in vmlinux.h. */
#define NAT_IPPROTO_ICMPV6 58
#define NAT_IPPROTO_FRAGMENT 44

#define NAT_ICMP_ECHOREPLY 0
#define NAT_ICMP_ECHO 8
#define NAT_ICMPV6_ECHO_REQUEST 128
#define NAT_ICMPV6_ECHO_REPLY 129

#define NAT_TCP_FIN 0x01
#define NAT_TCP_SYN 0x02
#define NAT_TCP_RST 0x04
#define NAT_TCP_ACK 0x10

/* Helpers return NAT_OK, NAT_PASS (not for us: leave the packet alone) or an
 * enum tabby_snat_drop_reason. */
#define NAT_OK (-1)
#define NAT_PASS (-2)

/* What the programs need to know of a packet. Ports are as on the wire. */
struct nat_pkt {
	union snat_addr saddr;
	union snat_addr daddr;
	__be16 sport;
	__be16 dport;
	__u32 l4_off;    /* from the start of the frame */
	__u32 csum_off;  /* L4 checksum field, from the start of the frame */
	__u32 port_off;  /* the port (ICMP: identifier) being translated, filled by the rewrite side */
	__u8 family;
	__u8 proto;
	__u8 tcp_flags;
	__u8 fragment;   /* 1: a fragment (first or not) */
	__u8 later_fragment; /* 1: a fragment after the first (no L4 header) */
	__be32 frag_id;  /* what the fragments of one datagram share: IPv4 identification, or
			  * the IPv6 fragment header's */
	__u8 icmp_type;
};

static __always_inline bool nat_addr_eq(const union snat_addr *a, const union snat_addr *b)
{
	return ((a->v6[0] ^ b->v6[0]) | (a->v6[1] ^ b->v6[1]) | (a->v6[2] ^ b->v6[2]) | (a->v6[3] ^ b->v6[3])) == 0;
}

static __always_inline bool nat_addr_zero(const union snat_addr *a)
{
	return (a->v6[0] | a->v6[1] | a->v6[2] | a->v6[3]) == 0;
}

/* The IPv4 header: addresses, protocol, where L4 starts. NAT_PASS for anything the
 * kernel itself would drop or that is too short to carry addresses. */
static __always_inline int nat_parse_ipv4(struct __sk_buff *skb, struct nat_pkt *p)
{
	void *data, *data_end;
	struct iphdr *ip;

	if (!ensure_linear(skb, NAT_ETH_HLEN + NAT_IPV4_HLEN))
		return NAT_PASS;
	data = skb_data(skb);
	data_end = skb_data_end(skb);
	ip = data + NAT_ETH_HLEN;
	if ((void *)(ip + 1) > data_end)
		return NAT_PASS;
	if (ip->version != 4 || ip->ihl < 5)
		return NAT_PASS;
	p->family = 4;
	p->saddr.v4 = ip->saddr;
	p->daddr.v4 = ip->daddr;
	p->proto = ip->protocol;
	p->fragment = (ip->frag_off & bpf_htons(NAT_IP_MF | NAT_IP_OFFSET)) != 0;
	p->later_fragment = (ip->frag_off & bpf_htons(NAT_IP_OFFSET)) != 0;
	p->frag_id = ip->id;
	p->l4_off = NAT_ETH_HLEN + ip->ihl * 4;
	return NAT_OK;
}

/* The fixed IPv6 header and a fragment header right after it (RFC 8200 §4.5). Other
 * extension headers are not walked: the packet's protocol is then the extension
 * header's, which the caller treats as unsupported. */
static __always_inline int nat_parse_ipv6(struct __sk_buff *skb, struct nat_pkt *p)
{
	void *data, *data_end;
	struct ipv6hdr *ip6;

	if (!ensure_linear(skb, NAT_ETH_HLEN + NAT_IPV6_HLEN))
		return NAT_PASS;
	data = skb_data(skb);
	data_end = skb_data_end(skb);
	ip6 = data + NAT_ETH_HLEN;
	if ((void *)(ip6 + 1) > data_end)
		return NAT_PASS;
	if (ip6->version != 6)
		return NAT_PASS;
	p->family = 6;
	__builtin_memcpy(p->saddr.v6, &ip6->saddr, 16);
	__builtin_memcpy(p->daddr.v6, &ip6->daddr, 16);
	p->proto = ip6->nexthdr;
	p->l4_off = NAT_ETH_HLEN + NAT_IPV6_HLEN;
	if (p->proto == NAT_IPPROTO_FRAGMENT) {
		struct frag_hdr *fh;

		if (!ensure_linear(skb, NAT_ETH_HLEN + NAT_IPV6_HLEN + sizeof(*fh)))
			return NAT_PASS;
		data = skb_data(skb);
		data_end = skb_data_end(skb);
		fh = data + NAT_ETH_HLEN + NAT_IPV6_HLEN;
		if ((void *)(fh + 1) > data_end)
			return NAT_PASS;
		p->proto = fh->nexthdr;
		p->fragment = 1;
		p->later_fragment = (fh->frag_off & bpf_htons(NAT_IP6_OFFSET)) != 0;
		p->frag_id = fh->identification;
		p->l4_off += sizeof(*fh);
	}
	return NAT_OK;
}

static __always_inline bool nat_is_icmp(const struct nat_pkt *p)
{
	return (p->family == 4 && p->proto == IPPROTO_ICMP) || (p->family == 6 && p->proto == NAT_IPPROTO_ICMPV6);
}

static __always_inline bool nat_is_echo_request(const struct nat_pkt *p)
{
	return nat_is_icmp(p) && p->icmp_type == (p->family == 4 ? NAT_ICMP_ECHO : NAT_ICMPV6_ECHO_REQUEST);
}

#define NAT_ICMP_DEST_UNREACH 3
#define NAT_ICMP_TIME_EXCEEDED 11
#define NAT_ICMP_PARAMETERPROB 12

/* The ICMPv4 errors that quote the packet they are about (RFC 792). */
static __always_inline bool nat_is_icmp_error(const struct nat_pkt *p)
{
	return p->family == 4 && p->proto == IPPROTO_ICMP &&
	       (p->icmp_type == NAT_ICMP_DEST_UNREACH || p->icmp_type == NAT_ICMP_TIME_EXCEEDED ||
		p->icmp_type == NAT_ICMP_PARAMETERPROB);
}

/* The ICMPv6 errors (RFC 4443 §3: destination unreachable, packet too big, time
 * exceeded, parameter problem), each quoting as much of the packet as fits. */
static __always_inline bool nat_is_icmp6_error(const struct nat_pkt *p)
{
	return p->family == 6 && p->proto == NAT_IPPROTO_ICMPV6 && p->icmp_type >= 1 && p->icmp_type <= 4;
}

static __always_inline bool nat_is_echo_reply(const struct nat_pkt *p)
{
	return nat_is_icmp(p) && p->icmp_type == (p->family == 4 ? NAT_ICMP_ECHOREPLY : NAT_ICMPV6_ECHO_REPLY);
}

/* The L4 part of the tuple. ICMP echo: the identifier is the requester's port, the
 * source port of a request and the destination port of a reply, so a reply's tuple
 * is its request's reversed as for TCP and UDP. NAT_PASS: some other ICMP. */
static __always_inline int nat_parse_l4(struct __sk_buff *skb, struct nat_pkt *p)
{
	void *data, *data_end;
	__u8 *l4;
	__u32 off = p->l4_off;
	__u32 need;

	if (p->proto == IPPROTO_TCP)
		need = NAT_TCP_HLEN;
	else if (p->proto == IPPROTO_UDP)
		need = NAT_UDP_HLEN;
	else if (nat_is_icmp(p))
		need = NAT_ICMP_HLEN;
	else
		return TABBY_SNAT_DROP_UNSUPPORTED_PROTO;
	/* Bounded for the verifier: at most a 60-byte IPv4 header after Ethernet. */
	if (off < NAT_ETH_HLEN + NAT_IPV4_HLEN || off > NAT_ETH_HLEN + 60)
		return TABBY_SNAT_DROP_MALFORMED;
	if (!ensure_linear(skb, off + need))
		return TABBY_SNAT_DROP_MALFORMED;
	data = skb_data(skb);
	data_end = skb_data_end(skb);
	l4 = data + off;
	/* Constant sizes only: the verifier proves packet bounds per constant. */
	if ((void *)(l4 + NAT_UDP_HLEN) > data_end)
		return TABBY_SNAT_DROP_MALFORMED;

	if (p->proto == IPPROTO_TCP) {
		if ((void *)(l4 + NAT_TCP_HLEN) > data_end)
			return TABBY_SNAT_DROP_MALFORMED;
		p->sport = *(__be16 *)l4;
		p->dport = *(__be16 *)(l4 + 2);
		p->tcp_flags = l4[13];
		p->csum_off = off + 16;
		return NAT_OK;
	}
	if (p->proto == IPPROTO_UDP) {
		p->sport = *(__be16 *)l4;
		p->dport = *(__be16 *)(l4 + 2);
		p->csum_off = off + 6;
		return NAT_OK;
	}
	/* ICMP / ICMPv6: only echo is tracked, by identifier. */
	p->csum_off = off + 2;
	p->icmp_type = l4[0];
	if (nat_is_echo_request(p)) {
		p->sport = *(__be16 *)(l4 + 4);
		p->dport = 0;
		return NAT_OK;
	}
	if (nat_is_echo_reply(p)) {
		p->sport = 0;
		p->dport = *(__be16 *)(l4 + 4);
		return NAT_OK;
	}
	return NAT_PASS;
}

/* A later IPv4 fragment: only the address moves (the L4 header, and with it the
 * checksum over the whole datagram, is in the first fragment). */
static __always_inline int nat_rewrite_addr4(struct __sk_buff *skb, bool src, __be32 from, __be32 to)
{
	__u32 addr_off = NAT_ETH_HLEN + (src ? offsetof(struct iphdr, saddr) : offsetof(struct iphdr, daddr));

	if (from == to)
		return NAT_OK;
	if (bpf_l3_csum_replace(skb, NAT_ETH_HLEN + offsetof(struct iphdr, check), from, to, sizeof(__be32)) ||
	    bpf_skb_store_bytes(skb, addr_off, &to, sizeof(__be32), 0))
		return TABBY_SNAT_DROP_STORE;
	return NAT_OK;
}

/* ...and an IPv6 one: no header checksum, and the L4 checksum is in the first fragment. */
static __always_inline int nat_rewrite_addr6(struct __sk_buff *skb, bool src, const union snat_addr *to)
{
	__u32 addr_off = NAT_ETH_HLEN + (src ? offsetof(struct ipv6hdr, saddr) : offsetof(struct ipv6hdr, daddr));
	union snat_addr b = *to;

	if (bpf_skb_store_bytes(skb, addr_off, b.v6, sizeof(b), 0))
		return TABBY_SNAT_DROP_STORE;
	return NAT_OK;
}

/* Rewrites the source (`src`, egress) or destination address and port (ICMP:
 * identifier) of the parsed packet, keeping the IPv4 header checksum and the L4
 * checksum right incrementally. A zero UDP checksum over IPv4 (none computed) stays
 * zero; a result of zero is written as 0xffff (BPF_F_MARK_MANGLED_0). */
static __always_inline int nat_rewrite(struct __sk_buff *skb, const struct nat_pkt *p, bool src,
				       const union snat_addr *to_addr, __be16 to_port)
{
	const union snat_addr *from_addr = src ? &p->saddr : &p->daddr;
	__be16 from_port = src ? p->sport : p->dport;
	bool icmp = nat_is_icmp(p);
	__u64 l4flags = p->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
	__u32 port_off;

	/* IPv6: the helper must know the family for the pseudo-header (bpf.h, Linux 6.16+). */
	if (p->family == 6)
		l4flags |= BPF_F_IPV6;

	if (icmp)
		port_off = p->l4_off + 4;
	else
		port_off = p->l4_off + (src ? 0 : 2);

	if (p->family == 4) {
		__u32 addr_off = NAT_ETH_HLEN + (src ? offsetof(struct iphdr, saddr) : offsetof(struct iphdr, daddr));

		/* ICMPv4's checksum has no pseudo-header; TCP's and UDP's do. */
		if (!icmp && bpf_l4_csum_replace(skb, p->csum_off, from_addr->v4, to_addr->v4,
						 l4flags | BPF_F_PSEUDO_HDR | sizeof(__be32)))
			return TABBY_SNAT_DROP_STORE;
		if (bpf_l3_csum_replace(skb, NAT_ETH_HLEN + offsetof(struct iphdr, check), from_addr->v4, to_addr->v4,
					sizeof(__be32)))
			return TABBY_SNAT_DROP_STORE;
		if (bpf_skb_store_bytes(skb, addr_off, &to_addr->v4, sizeof(__be32), 0))
			return TABBY_SNAT_DROP_STORE;
	} else {
		__u32 addr_off = NAT_ETH_HLEN + (src ? offsetof(struct ipv6hdr, saddr) : offsetof(struct ipv6hdr, daddr));
		union snat_addr a = *from_addr, b = *to_addr;
		__s64 diff = bpf_csum_diff(a.v6, sizeof(a), b.v6, sizeof(b), 0);

		/* All three (TCP, UDP, ICMPv6) have the pseudo-header; size 0: `to` is a diff. */
		if (bpf_l4_csum_replace(skb, p->csum_off, 0, diff, l4flags | BPF_F_PSEUDO_HDR))
			return TABBY_SNAT_DROP_STORE;
		if (bpf_skb_store_bytes(skb, addr_off, b.v6, sizeof(b), 0))
			return TABBY_SNAT_DROP_STORE;
	}
	if (from_port != to_port) {
		if (bpf_l4_csum_replace(skb, p->csum_off, from_port, to_port, l4flags | sizeof(__be16)))
			return TABBY_SNAT_DROP_STORE;
		if (bpf_skb_store_bytes(skb, port_off, &to_port, sizeof(to_port), 0))
			return TABBY_SNAT_DROP_STORE;
	}
	return NAT_OK;
}
