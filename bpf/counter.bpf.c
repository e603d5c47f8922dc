/* tc classifier that counts packets and bytes and lets every packet pass.
 * Attach one loaded copy per direction; `direction` is set at load time. */
#include "common.h"
#include "layouts.h"
#include "counters.h"

/* Set by the loader through .rodata before load; the verifier sees it as a constant. */
const volatile __u32 direction = TABBY_DIR_INGRESS;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TABBY_DIR_MAX);
	__type(key, __u32);
	__type(value, struct counter_value);
} counters SEC(".maps");

SEC("tc")
int count_packets(struct __sk_buff *skb)
{
	counter_add(&counters, direction, skb->len);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
