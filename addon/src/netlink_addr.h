#pragma once

#include <napi.h>

namespace tabby {

// addrApply(ops: {op, ifname, address, prefixLength, nodad?}[], {netns?}) -> batch results
Napi::Value AddrApply(const Napi::CallbackInfo& info);
// addrList({family?, netns?}) -> Promise<Addr[]>
Napi::Value AddrList(const Napi::CallbackInfo& info);

}  // namespace tabby
