/* Structs shared with TypeScript. Each one has a row in src/native/bpf-layouts.ts,
 * and a test checks that row against the compiled object's BTF, so a change here
 * that is not made there fails the build's tests instead of corrupting reads. */
#pragma once

#include "vmlinux.h"

enum tabby_direction {
	TABBY_DIR_INGRESS = 0,
	TABBY_DIR_EGRESS = 1,
	TABBY_DIR_MAX = 2,
};

/* Value of a per-CPU counter slot; userspace sums it over CPUs. */
struct counter_value {
	__u64 packets;
	__u64 bytes;
};
