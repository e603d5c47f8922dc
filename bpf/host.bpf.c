/* The host interface's tc programs, one per direction (Cilium's bpf_host.c is the
 * model): tabby_to_dev on egress, tabby_from_dev on ingress. Each runs the steps
 * switched on at load time, in a fixed order, so no step depends on another filter's
 * return code:
 *
 *   to-netdev:   SNAT (natOutgoing), then encapsulation
 *   from-netdev: reverse SNAT / inbound tracking, then decapsulation
 *
 * A step returns TC_ACT_OK to go on or TC_ACT_SHOT when it dropped the packet (the
 * last, encapsulation, also TC_ACT_REDIRECT: it sent an ICMP error back). The
 * switches are `const volatile`: the verifier sees them as constants and removes the
 * steps that are off. Steps and their maps live in lib/host_*.h; one TypeScript owner
 * (src/dataplane/bpf/host-program.ts) loads this object and holds the tc slot. */
#include "common.h"

/* 0: act on any interface the programs are attached to. */
const volatile __u32 host_ifindex = 0;
const volatile __u8 enable_encap = 0;
const volatile __u8 enable_snat = 0;

#include "host_encap.h"
#include "host_snat.h"

static __always_inline bool other_interface(const struct __sk_buff *skb)
{
	return host_ifindex && skb->ifindex != host_ifindex;
}

SEC("tc")
int tabby_to_dev(struct __sk_buff *skb)
{
	if (other_interface(skb))
		return TC_ACT_OK;
	if (enable_snat && snat_to_netdev(skb) == TC_ACT_SHOT)
		return TC_ACT_SHOT;
	/* Encapsulation may also turn the packet into an ICMP error sent back (REDIRECT). */
	if (enable_encap)
		return encap_to_netdev(skb);
	return TC_ACT_OK;
}

SEC("tc")
int tabby_from_dev(struct __sk_buff *skb)
{
	if (other_interface(skb))
		return TC_ACT_OK;
	if (enable_snat && snat_from_netdev(skb) == TC_ACT_SHOT)
		return TC_ACT_SHOT;
	if (enable_encap && encap_from_netdev(skb) == TC_ACT_SHOT)
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
