/* SNAT connection tracking: two entries per flow in one LRU hash, ORIG (keyed by the
 * workload's tuple, giving the translation) and REPLY (keyed by the reply's tuple,
 * giving the way back). The REPLY entry owns the NAT port: claiming a port is an
 * insert with BPF_NOEXIST, which is atomic across CPUs, so two flows can never be
 * given the same (remote, node address, port). A flow opened from outside to a pool
 * address has one PASS entry instead, keyed by the workload's answer, so that answer
 * leaves untranslated as conntrack would leave it. PASS entries live in a map of their
 * own: a scan or a busy service seen from outside then evicts only other PASS entries,
 * never a NAT binding. The maps are arguments so this header owns none. */
#pragma once

#include "common.h"
#include "layouts.h"
#include "nat.h"

/* NAT ports probed for a new flow before giving up; start is a hash of the tuple. */
#define SNAT_PORT_PROBES 32
#define NSEC_PER_SEC 1000000000ULL

/* Timeouts and the port range as the packet sees them (from struct snat_config). */
struct nat_params {
	__u64 now;
	__u32 seed;
	__u16 port_min;
	__u16 port_max;
	const struct snat_config *cfg;
};

/* Mixes one word into the flow hash (murmur3's finaliser steps). Mirrored by
 * snatFlowHash() in src/dataplane/nat/snat-codec.ts, which a test compares. */
static __always_inline __u32 nat_mix(__u32 h, __u32 v)
{
	h ^= v;
	h *= 0x85ebca6bU;
	h ^= h >> 13;
	h *= 0xc2b2ae35U;
	h ^= h >> 16;
	return h;
}

/* Hash of the ORIG key's words, read in host byte order, seeded per load. */
static __always_inline __u32 nat_flow_hash(const struct snat_ct_key *k, __u32 seed)
{
	const __u32 *w = (const __u32 *)k;
	__u32 h = seed;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*k) / 4); i++)
		h = nat_mix(h, w[i]);
	return h;
}

static __always_inline void ct_orig_key(struct snat_ct_key *k, const struct nat_pkt *p)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = p->saddr;
	k->daddr = p->daddr;
	k->sport = p->sport;
	k->dport = p->dport;
	k->proto = p->proto;
	k->family = p->family;
	k->dir = SNAT_DIR_ORIG;
}

/* The tuple a reply to the (egress) packet carries once translated to nat_addr:nat_port.
 * For ICMP echo p->dport is 0, so the reply's "source port" is 0 as the parser has it. */
static __always_inline void ct_reply_key(struct snat_ct_key *k, const struct nat_pkt *p,
					 const union snat_addr *nat_addr, __be16 nat_port)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = p->daddr;
	k->daddr = *nat_addr;
	k->sport = p->dport;
	k->dport = nat_port;
	k->proto = p->proto;
	k->family = p->family;
	k->dir = SNAT_DIR_REPLY;
}

/* The key of an ingress packet, as parsed. */
static __always_inline void ct_packet_reply_key(struct snat_ct_key *k, const struct nat_pkt *p)
{
	ct_orig_key(k, p);
	k->dir = SNAT_DIR_REPLY;
}

/* Idle time after which a REPLY entry's port may go to another flow. */
static __always_inline __u64 ct_timeout_ns(const struct snat_config *cfg, __u8 proto, __u64 flags)
{
	__u32 s;

	if (proto == IPPROTO_TCP) {
		/* As conntrack: a port closed by FIN both ways waits out TIME_WAIT, so a
		 * late segment of the old connection never reaches a new one on it. */
		if (flags & SNAT_CT_RST)
			s = cfg->tcp_close_timeout;
		else if ((flags & (SNAT_CT_FIN_ORIG | SNAT_CT_FIN_REPLY)) == (SNAT_CT_FIN_ORIG | SNAT_CT_FIN_REPLY))
			s = cfg->tcp_time_wait_timeout;
		else if (flags & SNAT_CT_SEEN_REPLY)
			s = cfg->tcp_est_timeout;
		else
			s = cfg->tcp_syn_timeout;
	} else if (proto == IPPROTO_UDP) {
		s = cfg->udp_timeout;
	} else {
		s = cfg->icmp_timeout;
	}
	return (__u64)s * NSEC_PER_SEC;
}

static __always_inline bool ct_idle_out(const struct snat_ct_entry *e, __u8 proto, const struct snat_config *cfg, __u64 now)
{
	__u64 seen = e->last_seen;

	/* Another CPU may have stamped it after we read the clock. */
	if (seen >= now)
		return false;
	return now - seen > ct_timeout_ns(cfg, proto, e->flags);
}

static __always_inline bool ct_expired(const struct snat_ct_entry *e, __u8 proto, const struct nat_params *np)
{
	return ct_idle_out(e, proto, np->cfg, np->now);
}

/* Does this REPLY entry lead back to the packet's (egress) source? */
static __always_inline bool ct_reply_is_for(const struct snat_ct_entry *re, const struct nat_pkt *p)
{
	return re->port == p->sport && nat_addr_eq(&re->addr, &p->saddr);
}

static __always_inline void ct_set_flags(struct snat_ct_entry *e, __u64 f)
{
	if (f && (e->flags & f) != f)
		__sync_fetch_and_or(&e->flags, f);
}

/* TCP state a segment from the side that opened the flow shows. A new SYN on a closed
 * flow's tuple starts over. */
static __always_inline void ct_track_orig(struct snat_ct_entry *re, const struct nat_pkt *p)
{
	__u64 f = 0;

	if (p->proto != IPPROTO_TCP)
		return;
	if ((p->tcp_flags & (NAT_TCP_SYN | NAT_TCP_ACK)) == NAT_TCP_SYN &&
	    (re->flags & (SNAT_CT_RST | SNAT_CT_FIN_ORIG | SNAT_CT_FIN_REPLY))) {
		re->flags = 0;
		return;
	}
	if (p->tcp_flags & NAT_TCP_FIN)
		f |= SNAT_CT_FIN_ORIG;
	if (p->tcp_flags & NAT_TCP_RST)
		f |= SNAT_CT_RST;
	ct_set_flags(re, f);
}

/* ...and one from the side that answers. */
static __always_inline void ct_track_reply(struct snat_ct_entry *re, const struct nat_pkt *p)
{
	__u64 f = SNAT_CT_SEEN_REPLY;

	if (p->proto == IPPROTO_TCP) {
		if (p->tcp_flags & NAT_TCP_FIN)
			f |= SNAT_CT_FIN_REPLY;
		if (p->tcp_flags & NAT_TCP_RST)
			f |= SNAT_CT_RST;
	}
	ct_set_flags(re, f);
}

/* Claims a NAT port for the packet's flow and writes both entries. Ports are probed
 * by double hashing (start and odd step from the ORIG tuple's hash), so probes do not
 * pile up behind clusters of taken ports as linear probing does; Cilium likewise tries
 * up to SNAT_COLLISION_RETRIES ports per new flow (bpf/lib/nat.h). A port is looked up
 * before anything is inserted: an insert into a full LRU map evicts some other entry
 * even when it then fails, so a taken port must cost a lookup, never an insert. A port
 * is free when no REPLY entry holds it for this remote, or the one that does has
 * expired. *reused is set when an expired flow's port was taken over. Returns NAT_OK
 * or a drop reason. */
static __always_inline int ct_create(void *ct, const struct nat_pkt *p, const union snat_addr *nat_addr,
				     const struct nat_params *np, __be16 *nat_port, bool *reused)
{
	struct snat_ct_entry re = {}, oe = {};
	struct snat_ct_key ok, rk;
	__u32 size = (__u32)np->port_max - np->port_min + 1;
	__u32 h, start, step;
	int i;

	ct_orig_key(&ok, p);
	h = nat_flow_hash(&ok, np->seed);
	start = h % size;
	step = (nat_mix(h, 0x9e3779b9U) % size) | 1;
	if (step >= size)
		step = 1;
	re.last_seen = np->now;
	re.addr = p->saddr;
	re.port = p->sport;
	ct_track_orig(&re, p);
	*reused = false;

	for (i = 0; i < SNAT_PORT_PROBES; i++) {
		__be16 port = bpf_htons((__u16)(np->port_min + (start + (__u64)i * step) % size));
		struct snat_ct_entry *cur;
		bool mine = false;

		ct_reply_key(&rk, p, nat_addr, port);
		cur = bpf_map_lookup_elem(ct, &rk);
		if (!cur) {
			if (bpf_map_update_elem(ct, &rk, &re, BPF_NOEXIST) == 0)
				mine = true;
			else
				cur = bpf_map_lookup_elem(ct, &rk); /* another CPU took it just now */
		}
		if (!mine && cur) {
			if (ct_reply_is_for(cur, p)) {
				/* Another CPU created this very flow a moment ago. */
				cur->last_seen = np->now;
				mine = true;
			} else if (ct_expired(cur, p->proto, np)) {
				bpf_map_delete_elem(ct, &rk);
				if (bpf_map_update_elem(ct, &rk, &re, BPF_NOEXIST) == 0) {
					mine = true;
					*reused = true;
				}
			}
		}
		if (!mine)
			continue;
		oe.last_seen = np->now;
		oe.addr = *nat_addr;
		oe.port = port;
		if (bpf_map_update_elem(ct, &ok, &oe, BPF_ANY)) {
			bpf_map_delete_elem(ct, &rk);
			return TABBY_SNAT_DROP_CT_UPDATE;
		}
		*nat_port = port;
		return NAT_OK;
	}
	return TABBY_SNAT_DROP_NO_PORT;
}

/* The translation of an egress packet: the existing one if its ORIG entry still
 * owns its port, else a new one. *created says which. */
static __always_inline int ct_egress(void *ct, const struct nat_pkt *p, const union snat_addr *nat_addr,
				     const struct nat_params *np, __be16 *nat_port, bool *created, bool *reused)
{
	struct snat_ct_entry *oe, *re;
	struct snat_ct_key k;

	*created = false;
	*reused = false;
	ct_orig_key(&k, p);
	oe = bpf_map_lookup_elem(ct, &k);
	/* Still valid only if made for the current node address and port range. */
	if (oe && nat_addr_eq(&oe->addr, nat_addr) &&
	    bpf_ntohs(oe->port) >= np->port_min && bpf_ntohs(oe->port) <= np->port_max) {
		__be16 port = oe->port;

		ct_reply_key(&k, p, nat_addr, port);
		re = bpf_map_lookup_elem(ct, &k);
		if (re && ct_reply_is_for(re, p)) {
			re->last_seen = np->now;
			oe->last_seen = np->now;
			ct_track_orig(re, p);
			*nat_port = port;
			return NAT_OK;
		}
		/* The REPLY entry was evicted, or its port went to another flow after
		 * this one idled out: translate afresh. */
	}
	*created = true;
	return ct_create(ct, p, nat_addr, np, nat_port, reused);
}

/* The PASS key of a packet coming in: its tuple reversed, as the workload answers. */
static __always_inline void ct_pass_key(struct snat_ct_key *k, const struct nat_pkt *p)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = p->daddr;
	k->daddr = p->saddr;
	k->sport = p->dport;
	k->dport = p->sport;
	k->proto = p->proto;
	k->family = p->family;
	k->dir = SNAT_DIR_PASS;
}

/* A packet from outside to a pool address: refreshes the flow's PASS entry, or
 * creates it when the packet opens a flow (TCP SYN without ACK, UDP, echo request,
 * any packet of a protocol without ports, keyed by addresses alone). True when one was
 * created. */
static __always_inline bool ct_pass_ingress(void *ct, const struct nat_pkt *p, __u64 now)
{
	struct snat_ct_entry *e, ne = {};
	struct snat_ct_key k;

	ct_pass_key(&k, p);
	e = bpf_map_lookup_elem(ct, &k);
	if (e) {
		e->last_seen = now;
		ct_track_orig(e, p);
		return false;
	}
	if (p->proto == IPPROTO_TCP && (p->tcp_flags & (NAT_TCP_SYN | NAT_TCP_ACK)) != NAT_TCP_SYN)
		return false;
	if (nat_is_icmp(p) && !nat_is_echo_request(p))
		return false;
	ne.last_seen = now;
	ct_track_orig(&ne, p);
	/* NOEXIST: another CPU may have just created it; either entry will do. */
	return bpf_map_update_elem(ct, &k, &ne, BPF_NOEXIST) == 0;
}

/* Is the egress packet the answer of a live flow opened from outside? Refreshes it. */
static __always_inline bool ct_pass_egress(void *ct, const struct nat_pkt *p, const struct snat_config *cfg, __u64 now)
{
	struct snat_ct_entry *e;
	struct snat_ct_key k;

	ct_orig_key(&k, p);
	k.dir = SNAT_DIR_PASS;
	e = bpf_map_lookup_elem(ct, &k);
	if (!e)
		return false;
	/* Idle past its timeout, conntrack would have forgotten it too. */
	if (cfg && ct_idle_out(e, p->proto, cfg, now))
		return false;
	e->last_seen = now;
	ct_track_reply(e, p);
	return true;
}
