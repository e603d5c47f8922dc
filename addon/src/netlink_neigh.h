#pragma once

#include <napi.h>

namespace tabby {

// neighApply(ops: {op, ifname, ip, mac?}[], {netns?}) -> batch results (see netlink_batch.h)
Napi::Value NeighApply(const Napi::CallbackInfo& info);
// neighList({family?, netns?}) -> Promise<Neigh[]> (IPv4 ARP and IPv6 ND entries)
Napi::Value NeighList(const Napi::CallbackInfo& info);
// fdbApply(ops: {op, ifname, mac, dst?}[], {netns?}) -> batch results; entries are NTF_SELF, permanent
Napi::Value FdbApply(const Napi::CallbackInfo& info);
// fdbList({netns?}) -> Promise<FdbEntry[]>
Napi::Value FdbList(const Napi::CallbackInfo& info);

}  // namespace tabby
