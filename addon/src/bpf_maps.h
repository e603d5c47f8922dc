#pragma once

#include <napi.h>

namespace tabby {

// mapLookup(handle, map, key) -> Promise<{value, cpus, valueSize, stride, perCpu} | null>
Napi::Value MapLookup(const Napi::CallbackInfo& info);
// mapUpdate(handle, map, key, value, flags?) -> Promise<void>
Napi::Value MapUpdate(const Napi::CallbackInfo& info);
// mapKeys(handle, map) -> Promise<Buffer[]>: every key, by bpf_map_get_next_key
Napi::Value MapKeys(const Napi::CallbackInfo& info);
// mapDelete(handle, map, key) -> Promise<boolean> (false: there was no such key)
Napi::Value MapDelete(const Napi::CallbackInfo& info);

}  // namespace tabby
