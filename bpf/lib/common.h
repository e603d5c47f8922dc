/* Base include for every Tabby eBPF program: kernel types, libbpf helpers and the
 * uapi constants that vmlinux.h cannot carry (it has types, not #defines). */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef TC_ACT_OK
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7
#endif
