#include "netlink_neigh.h"

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <memory>

#include "netlink_attr.h"
#include "netlink_ops.h"
#include "netlink_worker.h"

namespace tabby {

namespace {

constexpr uint8_t kOpDelete = 2;

struct NeighOp {
  uint8_t op;
  uint32_t dev;  // position in the call's NameTable
  IpAddr ip;     // neighbour: its address; FDB: the remote VTEP (af 0 when absent)
  bool has_mac = false;
  uint8_t mac[6] = {0};
};

struct NeighCall {
  std::vector<NeighOp> ops;
  NameTable names;
  BatchResults results{0};
};

std::shared_ptr<NeighCall> CopyOps(const Napi::CallbackInfo& info, bool fdb) {
  Napi::Array arr = ArgOps(info);
  auto call = std::make_shared<NeighCall>();
  call->ops.resize(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Object o = OpAt(arr, i);
    NeighOp& op = call->ops[i];
    op.op = OpCode(o);
    op.dev = call->names.Add(ReqString(o, "ifname"));
    if (fdb) {
      if (!OptString(o, "dst").empty()) op.ip = ReqIp(o, "dst");
      ReqMac(o, "mac", op.mac);
      op.has_mac = true;
    } else {
      op.ip = ReqIp(o, "ip");
      if (!OptString(o, "mac").empty()) {
        ReqMac(o, "mac", op.mac);
        op.has_mac = true;
      }
    }
  }
  call->results = BatchResults(call->ops.size());
  return call;
}

size_t PutNeigh(char* buf, const NeighOp& op, uint32_t ifindex, bool fdb) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = op.op == kOpDelete ? RTM_DELNEIGH : RTM_NEWNEIGH;
  nlh->nlmsg_flags = CreateFlags(op.op);
  auto* ndm = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
  ndm->ndm_family = fdb ? AF_BRIDGE : op.ip.af;
  ndm->ndm_ifindex = static_cast<int>(ifindex);
  ndm->ndm_state = NUD_PERMANENT;
  // Like `bridge fdb ... self`: the entry belongs to the vxlan device itself.
  if (fdb) ndm->ndm_flags = NTF_SELF;
  if (op.ip.af) mnl_attr_put(nlh, NDA_DST, op.ip.len(), op.ip.bytes);
  if (op.has_mac) mnl_attr_put(nlh, NDA_LLADDR, 6, op.mac);
  return nlh->nlmsg_len;
}

Napi::Value ApplyNeighOps(const Napi::CallbackInfo& info, bool fdb) {
  auto call = CopyOps(info, fdb);
  Napi::Object opts = ArgObject(info, 1);
  return NlWorker::Start(info.Env(), fdb ? "fdb-apply" : "neigh-apply", OptString(opts, "netns"),
      [call, fdb](NlSocket* sock) {
        call->names.Resolve(sock);
        RunBatch(sock, call->ops.size(), BatchLimits{}, [&](size_t i, char* buf) -> size_t {
          const NeighOp& op = call->ops[i];
          uint32_t ifindex = call->names.Get(op.dev, i, &call->results);
          return ifindex ? PutNeigh(buf, op, ifindex, fdb) : 0;
        }, &call->results);
      },
      [call](Napi::Env env) -> Napi::Value { return call->results.ToJs(env); });
}

const char* StateName(uint16_t s) {
  if (s & NUD_PERMANENT) return "permanent";
  if (s & NUD_NOARP) return "noarp";
  if (s & NUD_REACHABLE) return "reachable";
  if (s & NUD_STALE) return "stale";
  if (s & NUD_DELAY) return "delay";
  if (s & NUD_PROBE) return "probe";
  if (s & NUD_FAILED) return "failed";
  if (s & NUD_INCOMPLETE) return "incomplete";
  return "none";
}

struct NeighEntry {
  uint32_t ifindex = 0;
  int af = 0;
  std::string ip, mac;
  uint16_t state = 0;
  uint8_t flags = 0;
  uint32_t vni = 0, master = 0;
  uint16_t port = 0;
};

bool ParseNeigh(const nlmsghdr* nlh, NeighEntry* e) {
  if (nlh->nlmsg_type != RTM_NEWNEIGH) return false;
  auto* ndm = static_cast<const ndmsg*>(mnl_nlmsg_get_payload(nlh));
  e->ifindex = static_cast<uint32_t>(ndm->ndm_ifindex);
  e->af = ndm->ndm_family;
  e->state = ndm->ndm_state;
  e->flags = ndm->ndm_flags;
  ForEachAttr(nlh, sizeof(*ndm), [&](const nlattr* a) {
    size_t len = mnl_attr_get_payload_len(a);
    switch (mnl_attr_get_type(a)) {
      case NDA_DST:
        if (len == 4 || len == 16) e->ip = FormatIp(len == 4 ? AF_INET : AF_INET6, mnl_attr_get_payload(a));
        break;
      case NDA_LLADDR: e->mac = FormatMac(static_cast<const uint8_t*>(mnl_attr_get_payload(a)), len); break;
      case NDA_VNI: if (len == 4) e->vni = mnl_attr_get_u32(a); break;
      case NDA_PORT: if (len == 2) e->port = ntohs(mnl_attr_get_u16(a)); break;
      case NDA_MASTER: if (len == 4) e->master = mnl_attr_get_u32(a); break;
      default: break;
    }
  });
  return true;
}

struct NeighDump {
  std::vector<NeighEntry> entries;
  std::map<uint32_t, std::string> names;
};

void DumpNeigh(NlSocket* sock, int af, std::vector<NeighEntry>* out) {
  size_t start = out->size();
  RetryInterrupted([&] {
    out->resize(start);
    nlmsghdr* nlh = sock->NewRequest(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP);
    auto* ndm = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
    ndm->ndm_family = static_cast<uint8_t>(af);
    sock->Dump([&](const nlmsghdr* m) {
      NeighEntry e;
      if (ParseNeigh(m, &e) && e.af == af) out->push_back(std::move(e));
    }, "RTM_GETNEIGH");
  });
}

Napi::Object EntryToJs(Napi::Env env, const NeighEntry& e, const std::map<uint32_t, std::string>& names, bool fdb) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("ifindex", e.ifindex);
  auto it = names.find(e.ifindex);
  if (it != names.end()) o.Set("ifname", it->second);
  if (fdb) {
    if (!e.mac.empty()) o.Set("mac", e.mac);
    if (!e.ip.empty()) o.Set("dst", e.ip);
    o.Set("self", (e.flags & NTF_SELF) != 0);
    if (e.master) o.Set("master", e.master);
    if (e.vni) o.Set("vni", e.vni);
    if (e.port) o.Set("port", e.port);
  } else {
    o.Set("family", e.af == AF_INET ? 4 : 6);
    o.Set("ip", e.ip);
    if (!e.mac.empty()) o.Set("mac", e.mac);
    o.Set("router", (e.flags & NTF_ROUTER) != 0);
  }
  o.Set("state", StateName(e.state));
  o.Set("permanent", (e.state & NUD_PERMANENT) != 0);
  return o;
}

Napi::Value ListNeigh(const Napi::CallbackInfo& info, bool fdb) {
  Napi::Object opts = ArgObject(info, 0);
  std::optional<uint32_t> family = OptU32(opts, "family");
  auto dump = std::make_shared<NeighDump>();
  return NlWorker::Start(info.Env(), fdb ? "fdb-list" : "neigh-list", OptString(opts, "netns"),
      [dump, family, fdb](NlSocket* sock) {
        if (fdb) {
          DumpNeigh(sock, AF_BRIDGE, &dump->entries);
        } else {
          if (!family || *family == 4) DumpNeigh(sock, AF_INET, &dump->entries);
          if (!family || *family == 6) DumpNeigh(sock, AF_INET6, &dump->entries);
        }
        dump->names = LinkNamesByIndex(sock);
      },
      [dump, fdb](Napi::Env env) -> Napi::Value {
        Napi::Array out = Napi::Array::New(env, dump->entries.size());
        for (size_t i = 0; i < dump->entries.size(); ++i) out.Set(i, EntryToJs(env, dump->entries[i], dump->names, fdb));
        return out;
      });
}

}  // namespace

Napi::Value NeighApply(const Napi::CallbackInfo& info) { return ApplyNeighOps(info, false); }
Napi::Value FdbApply(const Napi::CallbackInfo& info) { return ApplyNeighOps(info, true); }
Napi::Value NeighList(const Napi::CallbackInfo& info) { return ListNeigh(info, false); }
Napi::Value FdbList(const Napi::CallbackInfo& info) { return ListNeigh(info, true); }

}  // namespace tabby
