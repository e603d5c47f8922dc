/* The natOutgoing step of the host programs (host.bpf.c): SNAT with its own conntrack.
 *
 * to-netdev:   a packet whose source is in a natOutgoing pool (snat_masq4/6) and whose
 *              destination is in no pool (snat_pools4/6) leaves with the node address as
 *              source and a NAT port (ICMP echo: identifier) from the configured range,
 *              unless it answers a flow opened from outside (a PASS entry).
 * from-netdev: a packet to the node address whose tuple is a known reply goes back to
 *              the workload's address and port; a packet from outside the pools opening
 *              a flow to a pool address gets a PASS entry, as conntrack would remember it.
 *
 * Both steps return TC_ACT_OK (go on) or TC_ACT_SHOT (dropped, counted in `snat_drops`).
 * Pools, the node address and the hash seed are map entries written from TypeScript
 * (src/dataplane/nat/), which a new agent copies over when it takes over. */
#pragma once

#include "common.h"
#include "layouts.h"
#include "counters.h"
#include "nat.h"
#include "nat_ct.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct snat_config);
} snat_config SEC(".maps");

/* Sources to translate: the natOutgoing pools. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct snat_lpm4_key);
	__type(value, __u8);
} snat_masq4 SEC(".maps");

/* Destinations never translated to: every pool. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct snat_lpm4_key);
	__type(value, __u8);
} snat_pools4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct snat_lpm6_key);
	__type(value, __u8);
} snat_masq6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct snat_lpm6_key);
	__type(value, __u8);
} snat_pools6 SEC(".maps");

/* NAT bindings, two entries per flow (ORIG and REPLY): 64 Ki flows. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 131072);
	__type(key, struct snat_ct_key);
	__type(value, struct snat_ct_entry);
} snat_ct SEC(".maps");

/* Flows opened from outside (PASS entries): what outside traffic can fill, kept apart
 * so that it can never evict a NAT binding. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct snat_ct_key);
	__type(value, struct snat_ct_entry);
} snat_pass SEC(".maps");

/* Key of `snat_frags` (internal to the programs: TypeScript never reads it). */
struct snat_frag_key {
	union snat_addr saddr;
	union snat_addr daddr;
	__be32 id;
	__u8 proto;
	__u8 dir; /* SNAT_DIR_ORIG: egress, SNAT_DIR_REPLY: ingress */
	__u8 family;
	__u8 pad;
};

/* Datagrams in fragments: the first fragment (which has the ports) is translated
 * as any packet and leaves here where its datagram's later fragments go; those are
 * found by (source, destination, protocol, identification), the fields that tie
 * fragments together (RFC 791; RFC 8200 §4.5 for IPv6's fragment header), as Cilium's
 * fragment map does (bpf/lib/ipv4.h, ipv6.h). Later
 * fragments that overtake the first cannot be translated and are dropped (egress) or
 * left alone (ingress). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct snat_frag_key);
	__type(value, union snat_addr);
} snat_frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TABBY_SNAT_CTR_MAX);
	__type(key, enum tabby_snat_counter);
	__type(value, struct counter_value);
} snat_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TABBY_SNAT_DROP_MAX);
	__type(key, enum tabby_snat_drop_reason);
	__type(value, struct counter_value);
} snat_drops SEC(".maps");

static __always_inline int snat_drop(struct __sk_buff *skb, int reason)
{
	counter_add(&snat_drops, (__u32)reason, skb->len);
	return TC_ACT_SHOT;
}

static __always_inline void frag_key(struct snat_frag_key *k, const struct nat_pkt *p, __u8 dir)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = p->saddr;
	k->daddr = p->daddr;
	k->id = p->frag_id;
	k->proto = p->proto;
	k->dir = dir;
	k->family = p->family;
}

/* The first fragment of a datagram: where its later fragments' address goes. */
static __always_inline void frag_remember(const struct nat_pkt *p, __u8 dir, const union snat_addr *to)
{
	struct snat_frag_key k;

	if (!p->fragment || p->later_fragment)
		return;
	frag_key(&k, p, dir);
	bpf_map_update_elem(&snat_frags, &k, to, BPF_ANY);
}

/* A later fragment: translated as its first fragment was. */
static __always_inline int frag_follow(struct __sk_buff *skb, const struct nat_pkt *p, __u8 dir, bool *found)
{
	struct snat_frag_key k;
	union snat_addr *to;

	*found = false;
	frag_key(&k, p, dir);
	to = bpf_map_lookup_elem(&snat_frags, &k);
	if (!to)
		return NAT_OK;
	*found = true;
	if (p->family == 6)
		return nat_rewrite_addr6(skb, dir == SNAT_DIR_ORIG, to);
	return nat_rewrite_addr4(skb, dir == SNAT_DIR_ORIG, dir == SNAT_DIR_ORIG ? p->saddr.v4 : p->daddr.v4, to->v4);
}

static __always_inline __u32 proto_slot(const struct nat_pkt *p, __u32 tcp_slot)
{
	if (p->proto == IPPROTO_TCP)
		return tcp_slot;
	if (p->proto == IPPROTO_UDP)
		return tcp_slot + 1;
	return tcp_slot + 2;
}

static __always_inline bool in_pools(const struct nat_pkt *p, bool masq, bool src)
{
	const union snat_addr *a = src ? &p->saddr : &p->daddr;

	if (p->family == 4) {
		struct snat_lpm4_key k = { .prefixlen = 32, .addr = a->v4 };

		return bpf_map_lookup_elem(masq ? (void *)&snat_masq4 : (void *)&snat_pools4, &k) != NULL;
	}
	struct snat_lpm6_key k6 = { .prefixlen = 128, .addr = *a };

	return bpf_map_lookup_elem(masq ? (void *)&snat_masq6 : (void *)&snat_pools6, &k6) != NULL;
}

static __always_inline int parse_l3(struct __sk_buff *skb, struct nat_pkt *p)
{
	if (skb->protocol == bpf_htons(NAT_ETH_P_IP))
		return nat_parse_ipv4(skb, p);
	if (skb->protocol == bpf_htons(NAT_ETH_P_IPV6))
		return nat_parse_ipv6(skb, p);
	return NAT_PASS;
}

/* The node address for the packet's family; zero if none is configured. */
static __always_inline void node_addr(const struct snat_config *cfg, __u8 family, union snat_addr *out)
{
	if (family == 4) {
		__builtin_memset(out, 0, sizeof(*out));
		out->v4 = cfg->node_ip;
	} else {
		*out = cfg->node_ip6;
	}
}

static __always_inline bool config_ok(const struct snat_config *cfg)
{
	return cfg->port_min != 0 && cfg->port_min <= cfg->port_max;
}

/* The node's own flow (source: the node address) on a port inside the NAT range, which
 * may overlap the kernel's ip_local_port_range. As Cilium does (bpf/lib/nat.h: host
 * connections are tracked in the NAT map, so SNAT never hands out their ports), the
 * flow's reply tuple is reserved with a REPLY entry that leads back to the node itself,
 * looked up before anything is inserted. If a NAT flow already holds that tuple (the
 * host chose the port before we saw it), the host's flow is moved to a free NAT port
 * like a workload's, and stays there while it lives. */
static __always_inline bool host_flow_passes(struct __sk_buff *skb, struct nat_pkt *p, const struct nat_params *np,
					     const union snat_addr *node)
{
	struct snat_ct_entry *cur, res = {};
	struct snat_ct_key k;
	__u16 port;

	if (nat_parse_l4(skb, p) != NAT_OK || nat_is_echo_reply(p))
		return true;
	port = bpf_ntohs(p->sport);
	if (port < np->port_min || port > np->port_max)
		return true;
	ct_orig_key(&k, p);
	if (bpf_map_lookup_elem(&snat_ct, &k))
		return false; /* moved before: keep translating */
	ct_reply_key(&k, p, node, p->sport);
	cur = bpf_map_lookup_elem(&snat_ct, &k);
	if (cur && ct_reply_is_for(cur, p)) {
		cur->last_seen = np->now;
		ct_track_orig(cur, p);
		return true;
	}
	if (cur && !ct_expired(cur, p->proto, np))
		return false;
	if (cur)
		bpf_map_delete_elem(&snat_ct, &k);
	res.last_seen = np->now;
	res.addr = *node;
	res.port = p->sport;
	ct_track_orig(&res, p);
	if (bpf_map_update_elem(&snat_ct, &k, &res, BPF_NOEXIST) == 0) {
		counter_add(&snat_counters, TABBY_SNAT_CTR_HOST_RESERVED, skb->len);
		return true;
	}
	cur = bpf_map_lookup_elem(&snat_ct, &k);
	return !cur || ct_reply_is_for(cur, p);
}

static __always_inline void load_params(struct nat_params *np, struct snat_config *cfg)
{
	np->now = bpf_ktime_get_ns();
	np->seed = cfg->hash_seed;
	np->port_min = cfg->port_min;
	np->port_max = cfg->port_max;
	np->cfg = cfg;
}

/* to-netdev: translate what leaves a natOutgoing pool for outside every pool. */
static __always_inline int snat_to_netdev(struct __sk_buff *skb)
{
	struct nat_pkt p = {};
	struct nat_params np;
	struct snat_config *cfg;
	union snat_addr nat_addr;
	__u32 zero = 0;
	__be16 nat_port = 0;
	bool created, reused, host = false;
	int ret;

	if (parse_l3(skb, &p) != NAT_OK)
		return TC_ACT_OK;
	/* The cheap test first: most packets on a host interface are not from a pool. */
	if (!in_pools(&p, true, true)) {
		cfg = bpf_map_lookup_elem(&snat_config, &zero);
		if (!cfg || !config_ok(cfg) || p.fragment)
			return TC_ACT_OK;
		node_addr(cfg, p.family, &nat_addr);
		if (nat_addr_zero(&nat_addr) || !nat_addr_eq(&p.saddr, &nat_addr))
			return TC_ACT_OK;
		load_params(&np, cfg);
		if (host_flow_passes(skb, &p, &np, &nat_addr))
			return TC_ACT_OK;
		host = true;
		goto translate;
	}
	if (in_pools(&p, false, false)) {
		counter_add(&snat_counters, TABBY_SNAT_CTR_DST_IN_POOL, skb->len);
		return TC_ACT_OK;
	}
	if (p.later_fragment) {
		bool found;

		ret = frag_follow(skb, &p, SNAT_DIR_ORIG, &found);
		if (ret != NAT_OK)
			return snat_drop(skb, ret);
		if (!found)
			return snat_drop(skb, TABBY_SNAT_DROP_FRAGMENT);
		counter_add(&snat_counters, TABBY_SNAT_CTR_FRAGMENT, skb->len);
		return TC_ACT_OK;
	}
	ret = nat_parse_l4(skb, &p);
	cfg = bpf_map_lookup_elem(&snat_config, &zero);
	np.now = bpf_ktime_get_ns();
	if (ret == TABBY_SNAT_DROP_UNSUPPORTED_PROTO) {
		/* No ports to translate by (GRE, SCTP…): only the answer of a flow opened
		 * from outside may leave, untranslated. */
		if (ct_pass_egress(&snat_pass, &p, cfg, np.now)) {
			counter_add(&snat_counters, TABBY_SNAT_CTR_INBOUND_PASS, skb->len);
			return TC_ACT_OK;
		}
		return snat_drop(skb, TABBY_SNAT_DROP_UNSUPPORTED_PROTO);
	}
	if (ret != NAT_OK)
		return snat_drop(skb, ret == NAT_PASS ? TABBY_SNAT_DROP_UNSUPPORTED_PROTO : ret);
	/* Before the node address checks: an answer to the outside needs none. */
	if (ct_pass_egress(&snat_pass, &p, cfg, np.now)) {
		frag_remember(&p, SNAT_DIR_ORIG, &p.saddr);
		counter_add(&snat_counters, TABBY_SNAT_CTR_INBOUND_PASS, skb->len);
		return TC_ACT_OK;
	}
	/* An echo reply not answering a tracked request has no flow to translate by. */
	if (nat_is_echo_reply(&p))
		return snat_drop(skb, TABBY_SNAT_DROP_UNSUPPORTED_PROTO);
	if (!cfg || !config_ok(cfg))
		return snat_drop(skb, TABBY_SNAT_DROP_NO_NODE_IP);
	node_addr(cfg, p.family, &nat_addr);
	if (nat_addr_zero(&nat_addr))
		return snat_drop(skb, TABBY_SNAT_DROP_NO_NODE_IP);
	load_params(&np, cfg);

translate:
	ret = ct_egress(&snat_ct, &p, &nat_addr, &np, &nat_port, &created, &reused);
	if (ret != NAT_OK)
		return snat_drop(skb, ret);
	if (created)
		counter_add(&snat_counters, host ? TABBY_SNAT_CTR_HOST_MOVED : TABBY_SNAT_CTR_NEW_FLOW, skb->len);
	if (reused)
		counter_add(&snat_counters, TABBY_SNAT_CTR_PORT_REUSED, skb->len);
	ret = nat_rewrite(skb, &p, true, &nat_addr, nat_port);
	if (ret != NAT_OK)
		return snat_drop(skb, ret);
	frag_remember(&p, SNAT_DIR_ORIG, &nat_addr);
	if (!host)
		counter_add(&snat_counters, proto_slot(&p, TABBY_SNAT_CTR_SNAT_TCP), skb->len);
	return TC_ACT_OK;
}

/* The REPLY entry of the flow an ICMP error quotes (key built from the quoted packet),
 * or NULL when its port is outside the NAT range or no flow has it. */
static __always_inline struct snat_ct_entry *quoted_flow(const struct snat_ct_key *k, const struct snat_config *cfg)
{
	__u16 port = bpf_ntohs(k->dport);

	if (port < cfg->port_min || port > cfg->port_max)
		return NULL;
	return bpf_map_lookup_elem(&snat_ct, k);
}

/* An ICMPv4 error (destination unreachable incl. fragmentation needed, time exceeded,
 * parameter problem) about a packet we translated: it quotes that packet's IPv4 header
 * and first 8 L4 bytes (RFC 792; RFC 1191 for frag-needed), from the node address and
 * NAT port. Without this, path-MTU discovery and traceroute fail for every natOutgoing
 * flow. As Linux NAT does (nf_nat_icmp_reply_translation), the outer destination, the
 * quoted source address and port go back to the workload's. Checksums: the outer IPv4
 * header's and the quoted one's are fixed incrementally; a valid IPv4 header sums to
 * zero before and after, so the ICMP checksum only takes the quoted port's change and,
 * for UDP, the change of the quoted UDP checksum (quoted in the 8 bytes; TCP's is not,
 * and is left as Linux leaves it). A quoted echo request's identifier and checksum
 * change together, which leaves the ICMP checksum as it was. */
static __always_inline int reverse_icmp_error(struct __sk_buff *skb, const struct nat_pkt *p,
					      const struct snat_config *cfg)
{
	__u32 off = p->l4_off;
	__u32 in_ip = off + 8, in_l4 = off + 8 + 20;
	struct snat_ct_entry *re;
	struct snat_ct_key k = {};
	void *data, *data_end;
	struct iphdr *iip;
	__u8 *l4;
	__be32 node = p->daddr.v4, to_addr;
	__be16 old_port, to_port, old_sum, new_sum;
	__u32 port_off;
	__u8 proto;

	if (off < NAT_ETH_HLEN + NAT_IPV4_HLEN || off > NAT_ETH_HLEN + 60)
		return TC_ACT_OK;
	if (!ensure_linear(skb, in_l4 + 8))
		return TC_ACT_OK;
	data = skb_data(skb);
	data_end = skb_data_end(skb);
	iip = data + in_ip;
	l4 = data + in_l4;
	if ((void *)(iip + 1) > data_end || (void *)(l4 + 8) > data_end)
		return TC_ACT_OK;
	/* Options in the quoted header are legal but never on our packets. */
	if (iip->version != 4 || iip->ihl != 5 || iip->saddr != node)
		return TC_ACT_OK;
	/* A quoted later fragment has no ports to find the flow by. */
	if (iip->frag_off & bpf_htons(NAT_IP_OFFSET))
		return TC_ACT_OK;
	proto = iip->protocol;
	k.saddr.v4 = iip->daddr;
	k.daddr.v4 = node;
	k.proto = proto;
	k.family = 4;
	k.dir = SNAT_DIR_REPLY;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		k.sport = *(__be16 *)(l4 + 2);
		k.dport = *(__be16 *)l4;
		port_off = in_l4;
	} else if (proto == IPPROTO_ICMP && l4[0] == NAT_ICMP_ECHO) {
		k.dport = *(__be16 *)(l4 + 4);
		port_off = in_l4 + 4;
	} else {
		return TC_ACT_OK;
	}
	old_port = k.dport;
	old_sum = proto == IPPROTO_UDP ? *(__be16 *)(l4 + 6) : 0;
	re = quoted_flow(&k, cfg);
	if (!re)
		return TC_ACT_OK;
	to_addr = re->addr.v4;
	to_port = re->port;
	if (to_addr == node && to_port == old_port)
		return TC_ACT_OK; /* about the node's own flow */

	/* Outer destination. */
	if (bpf_l3_csum_replace(skb, NAT_ETH_HLEN + offsetof(struct iphdr, check), node, to_addr, 4) ||
	    bpf_skb_store_bytes(skb, NAT_ETH_HLEN + offsetof(struct iphdr, daddr), &to_addr, 4, 0))
		return snat_drop(skb, TABBY_SNAT_DROP_STORE);
	/* Quoted source address, with the quoted header's checksum. */
	if (bpf_l3_csum_replace(skb, in_ip + offsetof(struct iphdr, check), node, to_addr, 4) ||
	    bpf_skb_store_bytes(skb, in_ip + offsetof(struct iphdr, saddr), &to_addr, 4, 0))
		return snat_drop(skb, TABBY_SNAT_DROP_STORE);
	if (proto == IPPROTO_ICMP) {
		/* The quoted echo's own checksum covers its identifier. */
		if (bpf_l4_csum_replace(skb, in_l4 + 2, old_port, to_port, 2) ||
		    bpf_skb_store_bytes(skb, port_off, &to_port, 2, 0))
			return snat_drop(skb, TABBY_SNAT_DROP_STORE);
	} else {
		if (bpf_l4_csum_replace(skb, off + 2, old_port, to_port, 2) ||
		    bpf_skb_store_bytes(skb, port_off, &to_port, 2, 0))
			return snat_drop(skb, TABBY_SNAT_DROP_STORE);
		if (proto == IPPROTO_UDP && old_sum) {
			/* The quoted UDP checksum: pseudo-header address and port. */
			if (bpf_l4_csum_replace(skb, in_l4 + 6, node, to_addr, BPF_F_MARK_MANGLED_0 | 4) ||
			    bpf_l4_csum_replace(skb, in_l4 + 6, old_port, to_port, BPF_F_MARK_MANGLED_0 | 2) ||
			    bpf_skb_load_bytes(skb, in_l4 + 6, &new_sum, 2) ||
			    bpf_l4_csum_replace(skb, off + 2, old_sum, new_sum, 2))
				return snat_drop(skb, TABBY_SNAT_DROP_STORE);
		}
	}
	counter_add(&snat_counters, TABBY_SNAT_CTR_RNAT_ICMP_ERROR, skb->len);
	return TC_ACT_OK;
}

/* 16-bit one's complement sum of the change from `from` to `to` (RFC 1624). */
static __always_inline __u32 csum_change16(__be16 from, __be16 to)
{
	return (__u16)~from + (__u32)to;
}

/* The ICMPv6 checksum `sum` once the bytes it covers changed by `change`. */
static __always_inline __be16 csum_apply(__be16 sum, __u32 change)
{
	return csum_fold32((__u16)~sum + change);
}

/* An ICMPv6 error (RFC 4443 §3) about a packet we translated: as reverse_icmp_error()
 * for IPv4, and as Linux does (nf_nat_icmpv6_reply_translation), the outer destination
 * and the quoted source address and port go back to the workload's. The quote is the
 * IPv6 header and as much of the packet as fit (RFC 4443 §2.4 (c)), so the quoted L4
 * checksum, whose pseudo-header holds the quoted source, is fixed too when quoted. The
 * ICMPv6 checksum covers a pseudo-header (RFC 8200 §8.1) and the whole quote; it is
 * adjusted by the sum of every change (RFC 1624), and every byte is written with
 * BPF_F_RECOMPUTE_CSUM so a CHECKSUM_COMPLETE sum follows. */
static __always_inline int reverse_icmp6_error(struct __sk_buff *skb, const struct nat_pkt *p,
					       const struct snat_config *cfg)
{
	const __u32 off = NAT_ETH_HLEN + NAT_IPV6_HLEN;
	const __u32 in_ip = off + 8, in_l4 = in_ip + NAT_IPV6_HLEN;
	struct snat_ct_key k = {};
	struct snat_ct_entry *re;
	union snat_addr node = p->daddr, to_addr, quoted_src = {};
	void *data, *data_end;
	struct ipv6hdr *iip;
	__be16 old_port, to_port, sum, inner_sum = 0;
	__u32 port_off, inner_csum_off = 0, change, inner_change;
	__s64 addr_change;
	__u8 proto, *l4;

	if (p->l4_off != off || !ensure_linear(skb, in_l4 + 8))
		return TC_ACT_OK;
	data = skb_data(skb);
	data_end = skb_data_end(skb);
	iip = data + in_ip;
	l4 = data + in_l4;
	if ((void *)(iip + 1) > data_end || (void *)(l4 + 8) > data_end)
		return TC_ACT_OK;
	if (iip->version != 6)
		return TC_ACT_OK;
	__builtin_memcpy(quoted_src.v6, &iip->saddr, 16);
	if (!nat_addr_eq(&quoted_src, &node))
		return TC_ACT_OK;
	proto = iip->nexthdr;
	__builtin_memcpy(k.saddr.v6, &iip->daddr, 16);
	k.daddr = node;
	k.proto = proto;
	k.family = 6;
	k.dir = SNAT_DIR_REPLY;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		k.sport = *(__be16 *)(l4 + 2);
		k.dport = *(__be16 *)l4;
		port_off = in_l4;
		inner_csum_off = in_l4 + (proto == IPPROTO_TCP ? 16 : 6);
	} else if (proto == NAT_IPPROTO_ICMPV6 && l4[0] == NAT_ICMPV6_ECHO_REQUEST) {
		k.dport = *(__be16 *)(l4 + 4);
		port_off = in_l4 + 4;
		inner_csum_off = in_l4 + 2;
	} else {
		return TC_ACT_OK;
	}
	old_port = k.dport;
	re = quoted_flow(&k, cfg);
	if (!re)
		return TC_ACT_OK;
	to_addr = re->addr;
	to_port = re->port;
	if (nat_addr_eq(&to_addr, &node) && to_port == old_port)
		return TC_ACT_OK; /* about the node's own flow */

	addr_change = bpf_csum_diff(node.v6, 16, to_addr.v6, 16, 0);
	if (addr_change < 0 || bpf_skb_load_bytes(skb, off + 2, &sum, 2))
		return snat_drop(skb, TABBY_SNAT_DROP_STORE);
	/* The quoted L4 checksum: its pseudo-header's source and the port, when quoted
	 * (TCP's lies past the first 8 bytes; a zero UDP one means none). */
	inner_change = 0;
	if (inner_csum_off && skb->len >= inner_csum_off + 2 && !bpf_skb_load_bytes(skb, inner_csum_off, &inner_sum, 2) &&
	    (inner_sum || proto != IPPROTO_UDP)) {
		__be16 fixed = csum_apply(inner_sum, (__u32)addr_change + csum_change16(old_port, to_port));

		if (proto == IPPROTO_UDP && !fixed)
			fixed = 0xffff;
		inner_change = csum_change16(inner_sum, fixed);
		if (bpf_skb_store_bytes(skb, inner_csum_off, &fixed, 2, BPF_F_RECOMPUTE_CSUM))
			return snat_drop(skb, TABBY_SNAT_DROP_STORE);
	}
	/* Outer destination (pseudo-header) and quoted source: the same change twice. */
	change = (__u32)addr_change + (__u32)addr_change + csum_change16(old_port, to_port) + inner_change;
	sum = csum_apply(sum, change);
	if (bpf_skb_store_bytes(skb, NAT_ETH_HLEN + offsetof(struct ipv6hdr, daddr), to_addr.v6, 16, BPF_F_RECOMPUTE_CSUM) ||
	    bpf_skb_store_bytes(skb, in_ip + offsetof(struct ipv6hdr, saddr), to_addr.v6, 16, BPF_F_RECOMPUTE_CSUM) ||
	    bpf_skb_store_bytes(skb, port_off, &to_port, 2, BPF_F_RECOMPUTE_CSUM) ||
	    bpf_skb_store_bytes(skb, off + 2, &sum, 2, BPF_F_RECOMPUTE_CSUM))
		return snat_drop(skb, TABBY_SNAT_DROP_STORE);
	counter_add(&snat_counters, TABBY_SNAT_CTR_RNAT_ICMP_ERROR, skb->len);
	return TC_ACT_OK;
}

/* A reply to a translated flow: back to the workload's address and port. */
static __always_inline int reverse_nat(struct __sk_buff *skb, struct nat_pkt *p, const struct snat_config *cfg)
{
	struct snat_ct_entry *re;
	struct snat_ct_key k;
	union snat_addr to_addr;
	__be16 to_port;
	__u16 port;
	int ret;

	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP && !nat_is_icmp(p))
		return TC_ACT_OK;
	if (p->later_fragment) {
		bool found;

		ret = frag_follow(skb, p, SNAT_DIR_REPLY, &found);
		if (ret != NAT_OK)
			return snat_drop(skb, ret);
		/* Not a translated datagram's (or it overtook its first fragment). */
		counter_add(&snat_counters, found ? TABBY_SNAT_CTR_FRAGMENT : TABBY_SNAT_CTR_INGRESS_FRAGMENT, skb->len);
		return TC_ACT_OK;
	}
	ret = nat_parse_l4(skb, p);
	if (ret == NAT_PASS && p->family == 4 && nat_is_icmp_error(p))
		return reverse_icmp_error(skb, p, cfg);
	if (ret == NAT_PASS && nat_is_icmp6_error(p))
		return reverse_icmp6_error(skb, p, cfg);
	/* Malformed or not an echo reply: the host's own business. */
	if (ret != NAT_OK || (nat_is_icmp(p) && !nat_is_echo_reply(p)))
		return TC_ACT_OK;
	/* The host's own connections use ports outside the NAT range. */
	port = bpf_ntohs(p->dport);
	if (port < cfg->port_min || port > cfg->port_max)
		return TC_ACT_OK;

	ct_packet_reply_key(&k, p);
	re = bpf_map_lookup_elem(&snat_ct, &k);
	if (!re)
		return TC_ACT_OK;
	re->last_seen = bpf_ktime_get_ns();
	ct_track_reply(re, p);
	/* Copies: the entry may change under us once the packet is written. */
	to_addr = re->addr;
	to_port = re->port;
	/* The node's own flow, reserved: already addressed as it should be. */
	if (to_port == p->dport && nat_addr_eq(&to_addr, &p->daddr))
		return TC_ACT_OK;
	ret = nat_rewrite(skb, p, false, &to_addr, to_port);
	if (ret != NAT_OK)
		return snat_drop(skb, ret);
	frag_remember(p, SNAT_DIR_REPLY, &to_addr);
	counter_add(&snat_counters, proto_slot(p, TABBY_SNAT_CTR_RNAT_TCP), skb->len);
	return TC_ACT_OK;
}

/* From outside the pools to a pool address: remember the flow, so the workload's
 * answer is not taken for a natOutgoing flow of its own. Never changes the packet.
 * Protocols without ports are remembered by addresses alone. */
static __always_inline int track_inbound(struct __sk_buff *skb, struct nat_pkt *p)
{
	int ret;

	if (p->fragment)
		return TC_ACT_OK;
	/* Any pool, not only natOutgoing ones: turning natOutgoing on later must not
	 * start translating flows already running. */
	if (!in_pools(p, false, false) || in_pools(p, false, true))
		return TC_ACT_OK;
	ret = nat_parse_l4(skb, p);
	if (ret != NAT_OK && ret != TABBY_SNAT_DROP_UNSUPPORTED_PROTO)
		return TC_ACT_OK;
	if (ct_pass_ingress(&snat_pass, p, bpf_ktime_get_ns()))
		counter_add(&snat_counters, TABBY_SNAT_CTR_INBOUND_FLOW, skb->len);
	return TC_ACT_OK;
}

/* from-netdev: translate replies back; remember flows opened from outside. */
static __always_inline int snat_from_netdev(struct __sk_buff *skb)
{
	struct nat_pkt p = {};
	struct snat_config *cfg;
	union snat_addr mine;
	__u32 zero = 0;

	if (parse_l3(skb, &p) != NAT_OK)
		return TC_ACT_OK;
	cfg = bpf_map_lookup_elem(&snat_config, &zero);
	if (cfg && config_ok(cfg)) {
		node_addr(cfg, p.family, &mine);
		if (!nat_addr_zero(&mine) && nat_addr_eq(&p.daddr, &mine))
			return reverse_nat(skb, &p, cfg);
	}
	return track_inbound(skb, &p);
}
