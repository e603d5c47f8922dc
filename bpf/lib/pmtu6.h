/* Path MTU for IPv6 packets into the IPv6 VXLAN tunnel. IPv6 routers never fragment
 * (RFC 8200 §5), so a packet (GSO: one of its segments) that will not fit the device
 * once the tunnel header is added becomes an ICMPv6 Packet Too Big (RFC 4443 §3.2)
 * carrying the room left, sent back out of the interface it came in by, as the
 * kernel's ip6_forward() does. Its body is as much of the packet as fits in the
 * minimum IPv6 MTU (RFC 4443 §2.4 (c)): the packet is cut to that and the new headers
 * are put in front, so the quote is never copied. */
#pragma once

#include "common.h"
#include "csum.h"
#include "encap.h"
#include "skb.h"
#include "pmtu.h"

#define ICMPV6_PACKET_TOO_BIG 2
/* RFC 8200 §5: every IPv6 link carries this much. */
#define IPV6_MIN_MTU 1280
#define PTB6_HLEN (IPV6_HLEN + 8)
#define PTB6_QUOTE_MAX (IPV6_MIN_MTU - PTB6_HLEN)
#define PTB6_HOP_LIMIT 64

struct ptb6_hdr {
	struct ipv6hdr ip;
	__u8 type;
	__u8 code;
	__sum16 check;
	__be32 mtu;
};

_Static_assert(sizeof(struct ptb6_hdr) == PTB6_HLEN, "IPv6 + ICMPv6 Packet Too Big header");

/* L3 size of the packet, or of each segment of a GSO packet; 0 when it cannot be told
 * (the check after encapsulation decides). */
static __always_inline __u32 pmtu6_l3_len(struct __sk_buff *skb, const struct ipv6hdr *ip6, void *data_end)
{
	__u32 gso_size = skb_gso_size(skb);
	struct tcphdr *tcp;

	if (!gso_size)
		return skb->len - ETH_HLEN;
	if (ip6->nexthdr == IPPROTO_UDP)
		return IPV6_HLEN + UDP_HLEN + gso_size;
	if (ip6->nexthdr != IPPROTO_TCP)
		return 0;
	tcp = (void *)(ip6 + 1);
	if ((void *)(tcp + 1) > data_end)
		return 0;
	return IPV6_HLEN + tcp->doff * 4 + gso_size;
}

/* Turns the packet into the Packet Too Big and redirects it to where it came from. */
static __always_inline int pmtu6_send_too_big(struct __sk_buff *skb, __u32 room, const struct in6_addr *from)
{
	struct ptb6_hdr h = {};
	__u32 ifindex = skb->ingress_ifindex;
	__u32 quote = skb->len - ETH_HLEN;
	__u32 sum, qsum;

	/* Locally sent packets follow the route's MTU; only forwarded ones get here. */
	if (!ifindex || ifindex == skb->ifindex)
		return TABBY_DROP_MTU;
	/* To the packet's source. */
	if (bpf_skb_load_bytes(skb, ETH_HLEN + __builtin_offsetof(struct ipv6hdr, saddr), &h.ip.daddr, sizeof(h.ip.daddr)))
		return TABBY_DROP_MTU;
	if (quote > PTB6_QUOTE_MAX)
		quote = PTB6_QUOTE_MAX;
	/* Cutting resets the GSO state: the result is one small packet. */
	if (bpf_skb_change_tail(skb, ETH_HLEN + quote, 0))
		return TABBY_DROP_MTU;
	if (bpf_skb_adjust_room(skb, PTB6_HLEN, BPF_ADJ_ROOM_MAC, 0))
		return TABBY_DROP_ADJUST_ROOM;
	if (!payload_sum(skb, ETH_HLEN + PTB6_HLEN, &qsum))
		return TABBY_DROP_MTU;
	h.ip.version = 6;
	h.ip.payload_len = bpf_htons(8 + quote);
	h.ip.nexthdr = ENCAP_IPPROTO_ICMPV6;
	h.ip.hop_limit = PTB6_HOP_LIMIT;
	h.ip.saddr = *from;
	h.type = ICMPV6_PACKET_TOO_BIG;
	h.mtu = bpf_htonl(room);
	/* Pseudo-header (addresses, 32-bit length, next header: RFC 8200 §8.1), the ICMPv6 header, the quote. */
	sum = csum_words(&h.ip.saddr, 16) + h.ip.payload_len + bpf_htons(ENCAP_IPPROTO_ICMPV6) +
	      csum_words(&h.type, 4) + qsum;
	h.check = csum_fold32(sum);
	if (bpf_skb_store_bytes(skb, ETH_HLEN, &h, sizeof(h), 0))
		return TABBY_DROP_STORE;
	/* The neighbour subsystem writes the Ethernet header for the way back. */
	bpf_redirect_neigh(ifindex, NULL, 0, 0);
	return PMTU_SENT;
}

/* ENCAP_OK when the IPv6 packet fits after `overhead` bytes of tunnel; PMTU_SENT when
 * it did not and became a Packet Too Big; a drop reason otherwise. */
static __always_inline int pmtu6_check(struct __sk_buff *skb, __u32 overhead, const struct in6_addr *from)
{
	void *data, *data_end;
	struct ipv6hdr *ip6;
	__u32 room = pmtu_room(skb, overhead), len;

	if (!room)
		return ENCAP_OK;
	if (!ensure_linear(skb, ETH_HLEN + IPV6_HLEN + sizeof(struct tcphdr)) && !ensure_linear(skb, ETH_HLEN + IPV6_HLEN))
		return ENCAP_OK;
	data = skb_data(skb);
	data_end = skb_data_end(skb);
	ip6 = data + ETH_HLEN;
	if ((void *)(ip6 + 1) > data_end)
		return ENCAP_OK;
	len = pmtu6_l3_len(skb, ip6, data_end);
	if (!len || len <= room)
		return ENCAP_OK;
	/* Below IPv6's minimum the sender could not comply: left to the check after encapsulation. */
	if (room < IPV6_MIN_MTU)
		return ENCAP_OK;
	return pmtu6_send_too_big(skb, room, from);
}
