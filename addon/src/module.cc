// Entry point of tabby_native: registers the async functions. Each one copies its
// arguments, does the kernel work on the libuv threadpool and resolves a promise.
#include <napi.h>

#include "bpf_maps.h"
#include "bpf_objects.h"
#include "bpf_tc.h"
#include "bpf_test_run.h"
#include "netlink_addr.h"
#include "netlink_links.h"
#include "netlink_neigh.h"
#include "netlink_route_batch.h"
#include "netlink_route_watch.h"
#include "netlink_routes.h"
#include "sockopts.h"
#include "sysctl.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tabby::InstallLibbpfLogger();
  exports.Set("routeDump", Napi::Function::New(env, tabby::RouteDump, "routeDump"));
  // Route events on a thread of its own; the callback runs on the main thread.
  exports.Set("routeWatch", Napi::Function::New(env, tabby::RouteWatch, "routeWatch"));
  exports.Set("routeApply", Napi::Function::New(env, tabby::RouteApply, "routeApply"));
  exports.Set("linkList", Napi::Function::New(env, tabby::LinkList, "linkList"));
  exports.Set("vxlanCreate", Napi::Function::New(env, tabby::VxlanCreate, "vxlanCreate"));
  exports.Set("vethCreate", Napi::Function::New(env, tabby::VethCreate, "vethCreate"));
  exports.Set("sysctlWrite", Napi::Function::New(env, tabby::SysctlWrite, "sysctlWrite"));
  exports.Set("linkDelete", Napi::Function::New(env, tabby::LinkDelete, "linkDelete"));
  exports.Set("linkSet", Napi::Function::New(env, tabby::LinkSet, "linkSet"));
  exports.Set("neighApply", Napi::Function::New(env, tabby::NeighApply, "neighApply"));
  exports.Set("neighList", Napi::Function::New(env, tabby::NeighList, "neighList"));
  exports.Set("fdbApply", Napi::Function::New(env, tabby::FdbApply, "fdbApply"));
  exports.Set("fdbList", Napi::Function::New(env, tabby::FdbList, "fdbList"));
  exports.Set("addrApply", Napi::Function::New(env, tabby::AddrApply, "addrApply"));
  exports.Set("addrList", Napi::Function::New(env, tabby::AddrList, "addrList"));
  exports.Set("bpfObjectLoad", Napi::Function::New(env, tabby::BpfObjectLoad, "bpfObjectLoad"));
  exports.Set("bpfObjectClose", Napi::Function::New(env, tabby::BpfObjectClose, "bpfObjectClose"));
  exports.Set("bpfObjectPinPrograms", Napi::Function::New(env, tabby::BpfObjectPinPrograms, "bpfObjectPinPrograms"));
  exports.Set("bpfProgTestRun", Napi::Function::New(env, tabby::BpfProgTestRun, "bpfProgTestRun"));
  exports.Set("tcAttach", Napi::Function::New(env, tabby::TcAttach, "tcAttach"));
  exports.Set("tcDetach", Napi::Function::New(env, tabby::TcDetach, "tcDetach"));
  exports.Set("tcHookDestroy", Napi::Function::New(env, tabby::TcHookDestroy, "tcHookDestroy"));
  exports.Set("tcQuery", Napi::Function::New(env, tabby::TcQuery, "tcQuery"));
  exports.Set("mapLookup", Napi::Function::New(env, tabby::MapLookup, "mapLookup"));
  exports.Set("mapUpdate", Napi::Function::New(env, tabby::MapUpdate, "mapUpdate"));
  exports.Set("mapDelete", Napi::Function::New(env, tabby::MapDelete, "mapDelete"));
  exports.Set("mapKeys", Napi::Function::New(env, tabby::MapKeys, "mapKeys"));
  // Socket options: synchronous, one setsockopt each.
  exports.Set("tcpSocket", Napi::Function::New(env, tabby::TcpSocket, "tcpSocket"));
  exports.Set("bindAddress", Napi::Function::New(env, tabby::BindAddress, "bindAddress"));
  exports.Set("tcpMd5Set", Napi::Function::New(env, tabby::TcpMd5Set, "tcpMd5Set"));
  exports.Set("ipMinTtlSet", Napi::Function::New(env, tabby::IpMinTtlSet, "ipMinTtlSet"));
  exports.Set("ipTtlSet", Napi::Function::New(env, tabby::IpTtlSet, "ipTtlSet"));
  exports.Set("socketFilterSet", Napi::Function::New(env, tabby::SocketFilterSet, "socketFilterSet"));
  exports.Set("udpMinTtlFilter", Napi::Function::New(env, tabby::UdpMinTtlFilter, "udpMinTtlFilter"));
  return exports;
}

}  // namespace

NODE_API_MODULE(tabby_native, Init)
