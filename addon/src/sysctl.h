// Writes /proc/sys entries inside a network namespace. /proc/sys/net follows the netns
// of the thread that opens it, so the writes happen on a worker thread inside the
// namespace (what a CNI plugin needs for the container's side of a veth).
#pragma once

#include <napi.h>

namespace tabby {

// sysctlWrite({netns?, entries: [[key, value], ...]}) -> Promise<void>; key is a path
// below /proc/sys such as "net/ipv4/conf/eth0/rp_filter". Stops at the first failure.
Napi::Value SysctlWrite(const Napi::CallbackInfo& info);

}  // namespace tabby
