/* Internet checksum helpers for headers the program builds or checks itself. */
#pragma once

#include "common.h"

/* Packet bytes are summed this much at a time, up to a 9216-byte jumbo frame. */
#define SUM_CHUNK 64
#define SUM_CHUNKS_MAX (9216 / SUM_CHUNK)

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

/* One's complement sum of `words` 16-bit words, as they lie in memory. */
static __always_inline __u32 csum_words(const void *p, int words)
{
	const __u16 *w = p;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < words; i++)
		sum += w[i];
	return sum;
}

struct payload_sum_ctx {
	struct __sk_buff *skb;
	__u32 off;
	__u32 end;
	__u32 csum;
	bool failed;
};

/* One chunk of payload_sum(): 1 stops bpf_loop (done or failed), 0 goes on. */
static long payload_sum_chunk(__u32 index, void *arg)
{
	struct payload_sum_ctx *c = arg;
	__u8 buf[SUM_CHUNK];
	__s64 csum;
	__u32 n;

	if (c->off >= c->end)
		return 1;
	n = c->end - c->off;
	if (n > SUM_CHUNK)
		n = SUM_CHUNK;
	/* 1..SUM_CHUNK for the verifier too: the barrier keeps clang from folding the
	 * mask away as redundant after the clamp. */
	asm volatile("" : "+r"(n));
	n = ((n - 1) & (SUM_CHUNK - 1)) + 1;
	/* Zero padding: a short tail sums as if padded with zeros (RFC 1071). */
	__builtin_memset(buf, 0, sizeof(buf));
	if (bpf_skb_load_bytes(c->skb, c->off, buf, n))
		goto fail;
	csum = bpf_csum_diff(NULL, 0, (__be32 *)buf, sizeof(buf), c->csum);
	if (csum < 0)
		goto fail;
	c->csum = (__u32)csum;
	c->off += n;
	return 0;
fail:
	c->failed = true;
	return 1;
}

/* The 16-bit one's complement sum of the packet's bytes from `off` to its end, read in
 * chunks through bpf_loop. False when it could not be read whole. */
static __always_inline bool payload_sum(struct __sk_buff *skb, __u32 off, __u32 *out)
{
	struct payload_sum_ctx c = { .skb = skb, .off = off, .end = skb->len };

	bpf_loop(SUM_CHUNKS_MAX, payload_sum_chunk, &c, 0);
	if (c.failed || c.off < c.end)
		return false;
	*out = (__u16)~csum_fold32(c.csum);
	return true;
}
