#pragma once

#include <napi.h>

namespace tabby {

// tcAttach({handle, program, ifname, direction, netns?, priority?, filterHandle?, replace?})
//   -> Promise<{ifindex, priority, handle, progId}>
Napi::Value TcAttach(const Napi::CallbackInfo& info);
// tcDetach({ifname, direction, netns?, priority, handle, progId?}) -> Promise<boolean>
// (false: progId was given and the filter runs another program, so it was left alone)
Napi::Value TcDetach(const Napi::CallbackInfo& info);
// tcQuery({ifname, direction, netns?, priority, handle, maps?: string[]})
//   -> Promise<{progId, progName, maps: {NAME: [{key, value}]}} | null>
Napi::Value TcQuery(const Napi::CallbackInfo& info);
// tcHookDestroy({ifname, netns?}) -> Promise<void>: removes the clsact qdisc and all its filters.
Napi::Value TcHookDestroy(const Napi::CallbackInfo& info);

}  // namespace tabby
