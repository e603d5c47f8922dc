/* The encapsulation step of the host programs (host.bpf.c): IPIP and VXLAN in tc
 * on the host interface, with no tunnel device.
 *
 * IPv6 VXLAN over an IPv6 underlay: host_encap6.h.
 * to-netdev:   IPv4 packets whose route carries a realm get the tunnel headers of that
 *              realm's `encap_realms` entry (none, IPIP or VXLAN), so each next hop of an
 *              ECMP route is encapsulated its own way. Routes without a realm fall back
 *              to the `encap_routes` LPM trie: destination in a remote block -> its entry.
 * from-netdev: IPIP and VXLAN packets addressed to this node from a known peer lose
 *              their tunnel headers and go on up the stack as the inner packet.
 *
 * Both steps return TC_ACT_OK (go on) or TC_ACT_SHOT (dropped, counted in `drops`).
 * Per-node values are load-time globals, per-remote values map entries written from
 * TypeScript (src/dataplane/encap/). */
#pragma once

#include "common.h"
#include "layouts.h"
#include "counters.h"
#include "encap.h"
#include "pmtu.h"

/* Network byte order, as the packet carries it. */
const volatile __be32 node_ip = 0;
const volatile __u32 vxlan_vni = 4096;
const volatile __u16 vxlan_port = 4789;
/* This node's VTEP MAC: inner source on send, required inner destination on receive. */
const volatile struct tabby_mac vtep_mac = {};
/* 0: this node has no VTEP; VXLAN packets are left to whoever else listens on the port. */
const volatile __u8 vxlan_enabled = 0;
/* 1: decapsulate only from addresses in encap_peers (Calico's "all hosts" check). */
const volatile __u8 check_peers = 1;

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct encap_key);
	__type(value, struct encap_entry);
} encap_routes SEC(".maps");

/* Route realm (RTA_FLOW "to" realm, 1..65535) -> how packets taking that next hop
 * are sent. The realm is what the kernel's choice among ECMP next hops leaves on
 * the packet's dst entry, so no per-flow guess is needed here. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct encap_entry);
} encap_realms SEC(".maps");

/* Remote node address -> bit (1 << kind) for each tunnel kind it may send us. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __be32);
	__type(value, __u8);
} encap_peers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TABBY_CTR_MAX);
	__type(key, enum tabby_encap_counter);
	__type(value, struct counter_value);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TABBY_DROP_MAX);
	__type(key, enum tabby_drop_reason);
	__type(value, struct counter_value);
} drops SEC(".maps");

static __always_inline int encap_drop(struct __sk_buff *skb, int reason)
{
	counter_add(&drops, (__u32)reason, skb->len);
	return TC_ACT_SHOT;
}

/* Byte by byte through the volatile object: a plain memcpy of a const global lets
 * clang fold in its zero initialiser instead of the value set at load time. */
static __always_inline void load_vtep_mac(struct tabby_mac *out)
{
#pragma unroll
	for (int i = 0; i < ETH_ALEN; i++)
		out->addr[i] = vtep_mac.addr[i];
}

static __always_inline bool mac_equal(const __u8 *a, const __u8 *b)
{
	/* Byte by byte: clang turns __builtin_memcmp into a call BPF cannot make. */
	__u8 diff = 0;

#pragma unroll
	for (int i = 0; i < ETH_ALEN; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

static __always_inline bool peer_allowed(__be32 saddr, __u8 kind)
{
	__u8 *kinds;

	if (!check_peers)
		return true;
	kinds = bpf_map_lookup_elem(&encap_peers, &saddr);
	return kinds && (*kinds & (1 << kind));
}

#include "host_encap6.h"

/* to-netdev: tunnel what the route (realm) or the destination block says. */
static __always_inline int encap_to_netdev(struct __sk_buff *skb)
{
	struct encap_key key = { .prefixlen = 32 };
	struct inner_ipv4 in;
	struct encap_entry e;
	struct encap_entry *found;
	struct iphdr *ip;
	void *data, *data_end;
	__u32 realm;
	int ret;

	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return encap6_to_netdev(skb);
	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	/* Only the "to" half: the "from" half may hold the reverse path's realm. */
	realm = bpf_get_route_realm(skb) & 0xffff;
	/* Too short to carry a destination: not ours to judge. */
	if (!ensure_linear(skb, ETH_HLEN + IPV4_HLEN))
		return TC_ACT_OK;
	data = skb_data(skb);
	data_end = skb_data_end(skb);
	ip = data + ETH_HLEN;
	if ((void *)(ip + 1) > data_end)
		return TC_ACT_OK;

	if (realm) {
		found = bpf_map_lookup_elem(&encap_realms, &realm);
		/* A tunnel route whose entry is missing: sending it plain would be wrong. */
		if (!found)
			return encap_drop(skb, TABBY_DROP_NO_REALM);
		if (found->kind == TABBY_ENCAP_NONE) {
			counter_add(&counters, TABBY_CTR_PLAIN, skb->len);
			return TC_ACT_OK;
		}
	} else {
		key.addr = ip->daddr;
		found = bpf_map_lookup_elem(&encap_routes, &key);
		if (!found)
			return TC_ACT_OK;
	}
	if (ip->version != 4 || ip->ihl < 5)
		return encap_drop(skb, TABBY_DROP_MALFORMED_IP);
	/* Copies: the packet and the entry may change under us once headers move. */
	e = *found;
	in.tos = ip->tos;
	in.id = ip->id;
	in.frag_off = ip->frag_off;
	ret = pmtu_check(skb, e.kind == TABBY_ENCAP_IPIP ? IPIP_OVERHEAD : VXLAN_OVERHEAD, node_ip);
	if (ret == PMTU_SENT) {
		counter_add(&counters, TABBY_CTR_FRAG_NEEDED, skb->len);
		return TC_ACT_REDIRECT;
	}
	if (ret != ENCAP_OK)
		return encap_drop(skb, ret);

	if (e.kind == TABBY_ENCAP_IPIP) {
		ret = encap_ipip(skb, &in, node_ip, e.remote_ip);
		if (ret != ENCAP_OK)
			return encap_drop(skb, ret);
		counter_add(&counters, TABBY_CTR_ENCAP_IPIP, skb->len);
		return TC_ACT_OK;
	}
	if (e.kind == TABBY_ENCAP_VXLAN && vxlan_enabled) {
		struct vxlan_params p = { .saddr = node_ip, .vni = vxlan_vni, .port = vxlan_port };

		load_vtep_mac(&p.src_mac);
		ret = encap_vxlan(skb, &in, &p, &e);
		if (ret != ENCAP_OK)
			return encap_drop(skb, ret);
		counter_add(&counters, TABBY_CTR_ENCAP_VXLAN, skb->len);
		return TC_ACT_OK;
	}
	return encap_drop(skb, TABBY_DROP_BAD_ENTRY);
}

static __always_inline int ingress_ipip(struct __sk_buff *skb, __u32 hlen)
{
	void *data, *data_end;
	struct iphdr *ip;
	__be32 saddr;
	__u8 tos;
	int ret;

	ret = check_outer_ipv4(skb, hlen);
	if (ret != ENCAP_OK)
		return encap_drop(skb, ret);
	if (!ensure_linear(skb, ETH_HLEN + hlen + IPV4_HLEN))
		return encap_drop(skb, TABBY_DROP_INNER_MALFORMED);
	data = skb_data(skb);
	data_end = skb_data_end(skb);
	ip = data + ETH_HLEN;
	if ((void *)(ip + 1) > data_end)
		return encap_drop(skb, TABBY_DROP_MALFORMED_IP);
	saddr = ip->saddr;
	tos = ip->tos;
	if (!peer_allowed(saddr, TABBY_ENCAP_IPIP))
		return encap_drop(skb, TABBY_DROP_UNKNOWN_PEER);
	ret = check_inner_ipv4(skb, ETH_HLEN + hlen, tos);
	if (ret != ENCAP_OK)
		return encap_drop(skb, ret);
	ret = decap(skb, hlen);
	if (ret != ENCAP_OK)
		return encap_drop(skb, ret);
	counter_add(&counters, TABBY_CTR_DECAP_IPIP, skb->len);
	return TC_ACT_OK;
}

static __always_inline int ingress_vxlan(struct __sk_buff *skb, __u32 hlen)
{
	__u32 inner_eth = ETH_HLEN + hlen + UDP_HLEN + VXLAN_HLEN;
	struct tabby_mac mine;
	struct vxlan_tail *t;
	struct iphdr *ip;
	void *data, *data_end;
	__be32 saddr;
	__u8 tos;
	int ret;

	ret = check_outer_ipv4(skb, hlen);
	if (ret != ENCAP_OK)
		return encap_drop(skb, ret);
	/* Everything read below, up to and including the inner IPv4 header. */
	if (hlen > 60 || !ensure_linear(skb, inner_eth + ETH_HLEN + IPV4_HLEN))
		return encap_drop(skb, TABBY_DROP_VXLAN_MALFORMED);
	data = skb_data(skb);
	data_end = skb_data_end(skb);
	ip = data + ETH_HLEN;
	if ((void *)(ip + 1) > data_end)
		return encap_drop(skb, TABBY_DROP_MALFORMED_IP);
	saddr = ip->saddr;
	tos = ip->tos;
	/* One pointer for both headers: the verifier tracks bounds per pointer. */
	t = data + ETH_HLEN + hlen + UDP_HLEN;
	if ((void *)(t + 1) > data_end)
		return encap_drop(skb, TABBY_DROP_VXLAN_MALFORMED);
	if (!(t->vx.flags & VXLAN_FLAG_I))
		return encap_drop(skb, TABBY_DROP_VXLAN_MALFORMED);
	if (bpf_ntohl(t->vx.vni) >> 8 != vxlan_vni) {
		counter_add(&counters, TABBY_CTR_VXLAN_OTHER_VNI, skb->len);
		return TC_ACT_OK;
	}
	load_vtep_mac(&mine);
	if (!mac_equal(t->eth.h_dest, mine.addr))
		return encap_drop(skb, TABBY_DROP_VXLAN_INNER_MAC);
	if (t->eth.h_proto != bpf_htons(ETH_P_IP))
		return encap_drop(skb, TABBY_DROP_VXLAN_INNER_PROTO);
	if (!peer_allowed(saddr, TABBY_ENCAP_VXLAN))
		return encap_drop(skb, TABBY_DROP_UNKNOWN_PEER);
	ret = check_inner_ipv4(skb, inner_eth + ETH_HLEN, tos);
	if (ret != ENCAP_OK)
		return encap_drop(skb, ret);
	/* Removes outer IPv4, UDP, VXLAN and the inner Ethernet header; the outer
	 * Ethernet header, addressed to this host, stays in front of the inner packet. */
	ret = decap(skb, inner_eth); /* hlen + UDP + VXLAN + inner Ethernet */
	if (ret != ENCAP_OK)
		return encap_drop(skb, ret);
	counter_add(&counters, TABBY_CTR_DECAP_VXLAN, skb->len);
	return TC_ACT_OK;
}

/* from-netdev: decapsulate tunnel packets addressed to this node. */
static __always_inline int encap_from_netdev(struct __sk_buff *skb)
{
	struct iphdr *ip;
	struct udphdr *udp;
	void *data, *data_end;
	__u32 hlen;

	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return encap6_from_netdev(skb);
	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (!ensure_linear(skb, ETH_HLEN + IPV4_HLEN))
		return TC_ACT_OK;
	data = skb_data(skb);
	data_end = skb_data_end(skb);
	ip = data + ETH_HLEN;
	if ((void *)(ip + 1) > data_end)
		return TC_ACT_OK;
	hlen = ip->ihl * 4;

	if (ip->protocol == IPPROTO_IPIP) {
		if (ip->daddr != node_ip) {
			counter_add(&counters, TABBY_CTR_TUNNEL_NOT_LOCAL, skb->len);
			return TC_ACT_OK;
		}
		return ingress_ipip(skb, hlen);
	}
	if (ip->protocol != IPPROTO_UDP || !vxlan_enabled)
		return TC_ACT_OK;
	/* Without a sane header length the UDP port cannot be found: the kernel drops it. */
	if (ip->version != 4 || hlen < IPV4_HLEN)
		return TC_ACT_OK;
	if (!ensure_linear(skb, ETH_HLEN + hlen + UDP_HLEN))
		return TC_ACT_OK;
	data = skb_data(skb);
	data_end = skb_data_end(skb);
	ip = data + ETH_HLEN;
	udp = data + ETH_HLEN + hlen;
	if ((void *)(ip + 1) > data_end || (void *)(udp + 1) > data_end)
		return TC_ACT_OK;
	if (udp->dest != bpf_htons(vxlan_port))
		return TC_ACT_OK;
	if (ip->daddr != node_ip) {
		counter_add(&counters, TABBY_CTR_TUNNEL_NOT_LOCAL, skb->len);
		return TC_ACT_OK;
	}
	return ingress_vxlan(skb, hlen);
}
