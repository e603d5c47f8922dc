/* Path MTU for tunnelled packets. A packet with DF that would not fit the device once
 * the tunnel header is added (a GSO packet: one of its segments) is turned in place
 * into an ICMP "destination unreachable, fragmentation needed" (RFC 792, with the
 * next-hop MTU of RFC 1191 section 4) to its sender and sent back out of the interface
 * it came in by, as a router's ip_forward() would. The quote is the original IPv4
 * header and the first 8 bytes of its payload (RFC 792). Cilium does the same in
 * bpf/lib/icmp6.h and nodeport.h (icmp_frag_needed / dsr_reply_icmp4). */
#pragma once

#include "common.h"
#include "csum.h"
#include "encap.h"
#include "skb.h"

#define ICMP_HLEN 8
#define PMTU_QUOTE (IPV4_HLEN + 8)
#define PMTU_ICMP_LEN (ETH_HLEN + IPV4_HLEN + ICMP_HLEN + PMTU_QUOTE)
#define ICMP_DEST_UNREACH_T 3
#define ICMP_FRAG_NEEDED_C 4
/* RFC 1191 section 3: the smallest MTU a router may report for IPv4. */
#define PMTU_MIN 68

/* What PMTU returns besides ENCAP_OK and a drop reason: the packet became an ICMP
 * error and is redirected (the program returns TC_ACT_REDIRECT). */
#define PMTU_SENT (-2)

/* The largest an L3 packet (GSO: each segment) may be before `overhead` bytes of
 * tunnel are added; 0 when the device MTU cannot be read. */
static __always_inline __u32 pmtu_room(struct __sk_buff *skb, __u32 overhead)
{
	__u32 mtu = 0;

	if (bpf_check_mtu(skb, 0, &mtu, 0, 0) < 0 || mtu <= overhead)
		return 0;
	return mtu - overhead;
}

/* Loaded with inline asm, as skb_data(): a ctx pointer must not be offset by the compiler. */
static __always_inline __u32 skb_gso_size(const struct __sk_buff *skb)
{
	__u32 v;

	asm volatile("%0 = *(u32 *)(%1 + %2)" : "=r"(v) : "r"(skb), "i"(__builtin_offsetof(struct __sk_buff, gso_size)));
	return v;
}

/* L3 size of the packet, or of each segment of a GSO packet (headers + gso_size). */
static __always_inline __u32 pmtu_l3_len(struct __sk_buff *skb, const struct iphdr *ip, void *data_end)
{
	__u32 hlen = ip->ihl * 4;
	__u32 gso_size = skb_gso_size(skb);

	if (!gso_size)
		return skb->len - ETH_HLEN;
	if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = (void *)ip + hlen;

		if (hlen != IPV4_HLEN || (void *)(tcp + 1) > data_end)
			return 0xffff; /* cannot tell: judged too big only if DF */
		return hlen + tcp->doff * 4 + gso_size;
	}
	return hlen + sizeof(struct udphdr) + gso_size;
}

/* Builds the ICMP error from the packet (which must have an IPv4 header of 20 bytes
 * and at least 8 bytes after it) and redirects it to the interface it came from. */
static __always_inline int pmtu_send_frag_needed(struct __sk_buff *skb, __be32 from, __u32 room)
{
	struct {
		struct iphdr ip;
		struct icmphdr icmp;
		__u8 quote[PMTU_QUOTE];
	} r = {};
	__u32 ifindex = skb->ingress_ifindex;
	__u32 sum;

	/* Locally sent packets follow the tunnel route's MTU; only forwarded ones get here. */
	if (!ifindex || ifindex == skb->ifindex)
		return TABBY_DROP_MTU;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, r.quote, PMTU_QUOTE))
		return TABBY_DROP_MTU;
	r.ip.version = 4;
	r.ip.ihl = 5;
	r.ip.tos = 0xc0; /* internetwork control, as Linux sends ICMP errors */
	r.ip.tot_len = bpf_htons(IPV4_HLEN + ICMP_HLEN + PMTU_QUOTE);
	r.ip.ttl = 64;
	r.ip.protocol = IPPROTO_ICMP;
	r.ip.saddr = from;
	r.ip.daddr = ((struct iphdr *)r.quote)->saddr;
	r.ip.check = ipv4_hdr_csum(&r.ip);
	r.icmp.type = ICMP_DEST_UNREACH_T;
	r.icmp.code = ICMP_FRAG_NEEDED_C;
	r.icmp.un.frag.mtu = bpf_htons(room < PMTU_MIN ? PMTU_MIN : room);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&r.icmp, ICMP_HLEN + PMTU_QUOTE, 0);
	r.icmp.checksum = csum_fold32(sum);
	/* Shrinking resets the GSO state: the result is one small packet. */
	if (bpf_skb_change_tail(skb, PMTU_ICMP_LEN, 0))
		return TABBY_DROP_MTU;
	if (bpf_skb_store_bytes(skb, ETH_HLEN, &r, sizeof(r), 0))
		return TABBY_DROP_STORE;
	/* The neighbour subsystem writes the Ethernet header for the way back. */
	bpf_redirect_neigh(ifindex, NULL, 0, 0);
	return PMTU_SENT;
}

/* ENCAP_OK when the packet fits after `overhead` bytes of tunnel; PMTU_SENT when it
 * did not, had DF, and became an ICMP error; a drop reason otherwise. */
static __always_inline int pmtu_check(struct __sk_buff *skb, __u32 overhead, __be32 from)
{
	void *data, *data_end;
	struct iphdr *ip;
	__u32 room = pmtu_room(skb, overhead);

	if (!room)
		return ENCAP_OK; /* the check after encapsulation decides */
	if (!ensure_linear(skb, ETH_HLEN + IPV4_HLEN + sizeof(struct tcphdr)) &&
	    !ensure_linear(skb, ETH_HLEN + IPV4_HLEN))
		return ENCAP_OK;
	data = skb_data(skb);
	data_end = skb_data_end(skb);
	ip = data + ETH_HLEN;
	if ((void *)(ip + 1) > data_end)
		return ENCAP_OK;
	if (pmtu_l3_len(skb, ip, data_end) <= room)
		return ENCAP_OK;
	if (!(ip->frag_off & bpf_htons(IP_DF)))
		return ENCAP_OK; /* as before: the check after encapsulation decides */
	if (ip->ihl != 5 || skb->len < ETH_HLEN + PMTU_QUOTE)
		return TABBY_DROP_MTU;
	return pmtu_send_frag_needed(skb, from, room);
}
