#include "netlink_addr.h"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <memory>
#include <optional>

#include "netlink_attr.h"
#include "netlink_ops.h"
#include "netlink_worker.h"

namespace tabby {

namespace {

struct AddrOp {
  uint8_t op;
  uint32_t dev;
  IpAddr ip;
  uint8_t prefix_len;
  bool nodad;
};

struct AddrCall {
  std::vector<AddrOp> ops;
  NameTable names;
  BatchResults results{0};
};

size_t PutAddr(char* buf, const AddrOp& op, uint32_t ifindex) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = op.op == 2 ? RTM_DELADDR : RTM_NEWADDR;
  nlh->nlmsg_flags = CreateFlags(op.op);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = static_cast<uint8_t>(op.ip.af);
  ifa->ifa_prefixlen = op.prefix_len;
  ifa->ifa_index = ifindex;
  if (op.nodad) ifa->ifa_flags = IFA_F_NODAD;
  // IFA_LOCAL is the address itself; IFA_ADDRESS the same when there is no peer.
  mnl_attr_put(nlh, IFA_LOCAL, op.ip.len(), op.ip.bytes);
  mnl_attr_put(nlh, IFA_ADDRESS, op.ip.len(), op.ip.bytes);
  return nlh->nlmsg_len;
}

struct AddrEntry {
  uint32_t ifindex;
  int af;
  std::string address;
  uint8_t prefix_len, scope;
  uint32_t flags;
};

bool ParseAddr(const nlmsghdr* nlh, AddrEntry* e) {
  if (nlh->nlmsg_type != RTM_NEWADDR) return false;
  auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
  if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) return false;
  *e = AddrEntry{ifa->ifa_index, ifa->ifa_family, "", ifa->ifa_prefixlen, ifa->ifa_scope, ifa->ifa_flags};
  std::string local, address;
  size_t want = ifa->ifa_family == AF_INET ? 4 : 16;
  ForEachAttr(nlh, sizeof(*ifa), [&](const nlattr* a) {
    if (mnl_attr_get_payload_len(a) == want && mnl_attr_get_type(a) == IFA_LOCAL)
      local = FormatIp(ifa->ifa_family, mnl_attr_get_payload(a));
    else if (mnl_attr_get_payload_len(a) == want && mnl_attr_get_type(a) == IFA_ADDRESS)
      address = FormatIp(ifa->ifa_family, mnl_attr_get_payload(a));
    else if (mnl_attr_get_type(a) == IFA_FLAGS && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
      e->flags = mnl_attr_get_u32(a);
  });
  // On point-to-point links IFA_ADDRESS is the peer; IFA_LOCAL is ours.
  e->address = local.empty() ? address : local;
  return !e->address.empty();
}

struct AddrDump {
  std::vector<AddrEntry> entries;
  std::map<uint32_t, std::string> names;
};

}  // namespace

Napi::Value AddrApply(const Napi::CallbackInfo& info) {
  Napi::Array arr = ArgOps(info);
  auto call = std::make_shared<AddrCall>();
  call->ops.resize(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Object o = OpAt(arr, i);
    AddrOp& op = call->ops[i];
    op.op = OpCode(o);
    op.dev = call->names.Add(ReqString(o, "ifname"));
    op.ip = ReqIp(o, "address");
    std::optional<uint32_t> len = OptU32(o, "prefixLength");
    if (!len || *len > (op.ip.af == AF_INET ? 32u : 128u)) throw Napi::TypeError::New(info.Env(), "bad prefixLength");
    op.prefix_len = static_cast<uint8_t>(*len);
    op.nodad = OptBool(o, "nodad", false);
  }
  call->results = BatchResults(call->ops.size());
  Napi::Object opts = ArgObject(info, 1);
  return NlWorker::Start(info.Env(), "addr-apply", OptString(opts, "netns"),
      [call](NlSocket* sock) {
        call->names.Resolve(sock);
        RunBatch(sock, call->ops.size(), BatchLimits{}, [&](size_t i, char* buf) -> size_t {
          uint32_t ifindex = call->names.Get(call->ops[i].dev, i, &call->results);
          return ifindex ? PutAddr(buf, call->ops[i], ifindex) : 0;
        }, &call->results);
      },
      [call](Napi::Env env) -> Napi::Value { return call->results.ToJs(env); });
}

Napi::Value AddrList(const Napi::CallbackInfo& info) {
  Napi::Object opts = ArgObject(info, 0);
  std::optional<uint32_t> family = OptU32(opts, "family");
  auto dump = std::make_shared<AddrDump>();
  return NlWorker::Start(info.Env(), "addr-list", OptString(opts, "netns"),
      [dump, family](NlSocket* sock) {
        RetryInterrupted([&] {
          dump->entries.clear();
          nlmsghdr* nlh = sock->NewRequest(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP);
          auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
          ifa->ifa_family = !family ? AF_UNSPEC : *family == 4 ? AF_INET : AF_INET6;
          sock->Dump([&](const nlmsghdr* m) {
            AddrEntry e;
            if (ParseAddr(m, &e)) dump->entries.push_back(std::move(e));
          }, "RTM_GETADDR");
        });
        dump->names = LinkNamesByIndex(sock);
      },
      [dump](Napi::Env env) -> Napi::Value {
        Napi::Array out = Napi::Array::New(env, dump->entries.size());
        for (size_t i = 0; i < dump->entries.size(); ++i) {
          const AddrEntry& e = dump->entries[i];
          Napi::Object o = Napi::Object::New(env);
          o.Set("ifindex", e.ifindex);
          auto it = dump->names.find(e.ifindex);
          if (it != dump->names.end()) o.Set("ifname", it->second);
          o.Set("family", e.af == AF_INET ? 4 : 6);
          o.Set("address", e.address);
          o.Set("prefixLength", e.prefix_len);
          o.Set("cidr", e.address + "/" + std::to_string(e.prefix_len));
          o.Set("scope", e.scope);
          o.Set("tentative", (e.flags & IFA_F_TENTATIVE) != 0);
          out.Set(i, o);
        }
        return out;
      });
}

}  // namespace tabby
