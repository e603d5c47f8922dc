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

/* Two entries per flow (ORIG and REPLY): 64 Ki flows. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 131072);
	__type(key, struct snat_ct_key);
	__type(value, struct snat_ct_entry);
} snat_ct SEC(".maps");

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

/* to-netdev: translate what leaves a natOutgoing pool for outside every pool. */
static __always_inline int snat_to_netdev(struct __sk_buff *skb)
{
	struct nat_pkt p = {};
	struct nat_params np;
	struct snat_config *cfg;
	union snat_addr nat_addr;
	__u32 zero = 0;
	__be16 nat_port = 0;
	bool created, reused;
	int ret;

	if (parse_l3(skb, &p) != NAT_OK)
		return TC_ACT_OK;
	/* The cheap test first: most packets on a host interface are not from a pool. */
	if (!in_pools(&p, true, true))
		return TC_ACT_OK;
	if (in_pools(&p, false, false)) {
		counter_add(&snat_counters, TABBY_SNAT_CTR_DST_IN_POOL, skb->len);
		return TC_ACT_OK;
	}
	if (p.fragment)
		return snat_drop(skb, TABBY_SNAT_DROP_FRAGMENT);
	ret = nat_parse_l4(skb, &p);
	if (ret != NAT_OK)
		return snat_drop(skb, ret == NAT_PASS ? TABBY_SNAT_DROP_UNSUPPORTED_PROTO : ret);
	cfg = bpf_map_lookup_elem(&snat_config, &zero);
	np.now = bpf_ktime_get_ns();
	/* Before the node address checks: an answer to the outside needs none. */
	if (ct_pass_egress(&snat_ct, &p, cfg, np.now)) {
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

	np.seed = cfg->hash_seed;
	np.port_min = cfg->port_min;
	np.port_max = cfg->port_max;
	np.cfg = cfg;
	ret = ct_egress(&snat_ct, &p, &nat_addr, &np, &nat_port, &created, &reused);
	if (ret != NAT_OK)
		return snat_drop(skb, ret);
	if (created)
		counter_add(&snat_counters, TABBY_SNAT_CTR_NEW_FLOW, skb->len);
	if (reused)
		counter_add(&snat_counters, TABBY_SNAT_CTR_PORT_REUSED, skb->len);
	ret = nat_rewrite(skb, &p, true, &nat_addr, nat_port);
	if (ret != NAT_OK)
		return snat_drop(skb, ret);
	counter_add(&snat_counters, proto_slot(&p, TABBY_SNAT_CTR_SNAT_TCP), skb->len);
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
	if (p->fragment) {
		/* Only the first fragment has ports; without reassembly none can be mapped. */
		counter_add(&snat_counters, TABBY_SNAT_CTR_INGRESS_FRAGMENT, skb->len);
		return TC_ACT_OK;
	}
	/* Malformed or not an echo reply: the host's own business. */
	if (nat_parse_l4(skb, p) != NAT_OK || (nat_is_icmp(p) && !nat_is_echo_reply(p)))
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
	ret = nat_rewrite(skb, p, false, &to_addr, to_port);
	if (ret != NAT_OK)
		return snat_drop(skb, ret);
	counter_add(&snat_counters, proto_slot(p, TABBY_SNAT_CTR_RNAT_TCP), skb->len);
	return TC_ACT_OK;
}

/* From outside the pools to a pool address: remember the flow, so the workload's
 * answer is not taken for a natOutgoing flow of its own. Never changes the packet. */
static __always_inline int track_inbound(struct __sk_buff *skb, struct nat_pkt *p)
{
	if (p->fragment)
		return TC_ACT_OK;
	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP && !nat_is_icmp(p))
		return TC_ACT_OK;
	/* Any pool, not only natOutgoing ones: turning natOutgoing on later must not
	 * start translating flows already running. */
	if (!in_pools(p, false, false) || in_pools(p, false, true))
		return TC_ACT_OK;
	if (nat_parse_l4(skb, p) != NAT_OK)
		return TC_ACT_OK;
	if (ct_pass_ingress(&snat_ct, p, bpf_ktime_get_ns()))
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
