/* A load-time probe, run once with BPF_PROG_TEST_RUN: does this kernel's
 * bpf_l4_csum_replace() take the flags host_snat.h passes for IPv6? BPF_F_IPV6 (Linux
 * 6.16, "bpf: Fix L4 csum update on IPv6 in CHECKSUM_COMPLETE") tells the helper the
 * pseudo-header is IPv6's, which has no IP header checksum to offset the change; older
 * kernels refuse any flag they do not know with -EINVAL, at run time, not at load. The
 * program returns the helper's return value, so the probe sees 0 or -EINVAL. */
#include "common.h"

/* The flags to try; the agent sets BPF_F_IPV6 | BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0. */
const volatile __u64 probe_flags = 0;

SEC("tc")
int tabby_csum_probe(struct __sk_buff *skb)
{
	/* A checksum field at offset 16 of the probe packet; a zero diff leaves it as it is. */
	return (int)bpf_l4_csum_replace(skb, 16, 0, 0, probe_flags);
}

char LICENSE[] SEC("license") = "GPL";
