/* Packet pointers of a tc program's context. */
#pragma once

#include "common.h"

/* Loaded with inline asm: clang otherwise may compute &skb->data once and load
 * through that derived pointer, which the verifier refuses ("dereference of
 * modified ctx ptr"). */
static __always_inline void *skb_data(const struct __sk_buff *skb)
{
	void *p;

	asm volatile("%0 = *(u32 *)(%1 + %2)" : "=r"(p) : "r"(skb), "i"(__builtin_offsetof(struct __sk_buff, data)));
	return p;
}

static __always_inline void *skb_data_end(const struct __sk_buff *skb)
{
	void *p;

	asm volatile("%0 = *(u32 *)(%1 + %2)" : "=r"(p) : "r"(skb), "i"(__builtin_offsetof(struct __sk_buff, data_end)));
	return p;
}

/* Makes the first `len` bytes readable through skb->data, pulling them into the
 * linear area if needed. False if the packet is shorter than that. */
static __always_inline bool ensure_linear(struct __sk_buff *skb, __u32 len)
{
	if (skb_data(skb) + len <= skb_data_end(skb))
		return true;
	if (skb->len < len || bpf_skb_pull_data(skb, len))
		return false;
	return skb_data(skb) + len <= skb_data_end(skb);
}
