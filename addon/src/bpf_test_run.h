// Runs a loaded program once on a packet (BPF_PROG_TEST_RUN): load-time probes of what
// the running kernel's helpers accept.
#pragma once

#include <napi.h>

namespace tabby {

// bpfProgTestRun(handle, program, data) -> Promise<{retval, data}>
Napi::Value BpfProgTestRun(const Napi::CallbackInfo& info);

}  // namespace tabby
