/* Internet checksum helpers for headers the program builds or checks itself. */
#pragma once

#include "common.h"

static __always_inline __u16 csum_fold32(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Checksum of a 20-byte IPv4 header on the stack whose `check` field is zero. */
static __always_inline __sum16 ipv4_hdr_csum(const struct iphdr *ip)
{
	const __u16 *p = (const __u16 *)ip;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*ip) / 2); i++)
		sum += p[i];
	return csum_fold32(sum);
}

/* True when the IPv4 header of `hlen` bytes at `ip` in the packet sums to zero,
 * i.e. its checksum is right. The caller has checked that hlen bytes are there. */
static __always_inline bool ipv4_hdr_csum_ok(const void *ip, __u32 hlen, const void *data_end)
{
	const __u16 *p = ip;
	__u32 sum = 0;

	for (int i = 0; i < 30; i++) { /* at most 60 bytes: ihl is 4 bits */
		if ((__u32)i * 2 >= hlen)
			break;
		if ((const void *)(p + i + 1) > data_end)
			return false;
		sum += p[i];
	}
	return csum_fold32(sum) == 0;
}
