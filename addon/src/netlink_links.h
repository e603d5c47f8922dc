#pragma once

#include <napi.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "netlink_socket.h"

namespace tabby {

// Interface index of each name in the socket's namespace, 0 where there is none.
std::vector<uint32_t> ResolveLinkNames(NlSocket* sock, const std::vector<std::string>& names);
// Every interface's name by index, in the socket's namespace.
std::map<uint32_t, std::string> LinkNamesByIndex(NlSocket* sock);

// linkList({netns?}) -> Promise<Link[]>
Napi::Value LinkList(const Napi::CallbackInfo& info);
// vxlanCreate({name, vni?, port?, local?, parent?, learning?, external?, mtu?, mac?, up?, netns?})
Napi::Value VxlanCreate(const Napi::CallbackInfo& info);
// vethCreate({name, peerName, peerNetns?, mtu?, mac?, peerMac?, netns?}): the peer is
// created directly in peerNetns (a name under /var/run/netns or an absolute path).
Napi::Value VethCreate(const Napi::CallbackInfo& info);
// linkDelete({name, netns?})
Napi::Value LinkDelete(const Napi::CallbackInfo& info);
// linkSet({name, up?, mtu?, mac?, netns?})
Napi::Value LinkSet(const Napi::CallbackInfo& info);

}  // namespace tabby
