/* Per-CPU counters: no atomics needed, since each CPU only touches its own copy. */
#pragma once

#include "common.h"
#include "layouts.h"

static __always_inline void counter_add(void *map, __u32 key, __u64 bytes)
{
	struct counter_value *v = bpf_map_lookup_elem(map, &key);

	if (!v)
		return;
	v->packets += 1;
	v->bytes += bytes;
}
