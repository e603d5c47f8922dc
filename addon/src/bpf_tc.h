#pragma once

#include <napi.h>

namespace tabby {

// tcAttach({handle, program, ifname, direction, netns?, priority?, filterHandle?})
//   -> Promise<{ifindex, priority, handle}>
Napi::Value TcAttach(const Napi::CallbackInfo& info);
// tcDetach({ifname, direction, netns?, priority, handle}) -> Promise<void>
Napi::Value TcDetach(const Napi::CallbackInfo& info);
// tcHookDestroy({ifname, netns?}) -> Promise<void>: removes the clsact qdisc and all its filters.
Napi::Value TcHookDestroy(const Napi::CallbackInfo& info);

}  // namespace tabby
