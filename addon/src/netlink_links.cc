#include "netlink_links.h"

#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

#include "args.h"
#include "netlink_attr.h"
#include "netlink_worker.h"
#include "netns.h"
#include "sys_error.h"

namespace tabby {

namespace {

struct VxlanInfo {
  std::optional<uint32_t> vni;
  uint16_t port = 0;
  std::string local;
  uint32_t link = 0;
  bool learning = true;
  bool external = false;
  bool udp6_zero_csum_rx = false;
};

struct LinkInfo {
  uint32_t index = 0;
  std::string name;
  uint16_t arphrd = 0;
  std::string kind;
  uint32_t mtu = 0;
  std::string mac;
  uint32_t flags = 0;
  uint32_t master = 0;
  uint32_t link = 0;
  std::optional<VxlanInfo> vxlan;
};

// The ifinfomsg every link request starts with: family unspecified, the rest zero.
ifinfomsg* PutIfinfo(nlmsghdr* nlh) {
  auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifm->ifi_family = AF_UNSPEC;
  return ifm;
}

// A link's name, and its MTU and MAC when given (nullptr: the kernel's own).
void PutLinkAttrs(nlmsghdr* nlh, const std::string& name, const std::optional<uint32_t>& mtu, const uint8_t* mac) {
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
  if (mtu) mnl_attr_put_u32(nlh, IFLA_MTU, *mtu);
  if (mac) mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
}

const char* ArphrdName(uint16_t t) {
  switch (t) {
    case ARPHRD_ETHER: return "ether";
    case ARPHRD_LOOPBACK: return "loopback";
    case ARPHRD_NONE: return "none";
    case ARPHRD_TUNNEL: return "ipip";
    case ARPHRD_TUNNEL6: return "tunnel6";
    case ARPHRD_SIT: return "sit";
    default: return "other";
  }
}

void ParseVxlan(const nlattr* data, VxlanInfo* v) {
  ForEachAttrIn(mnl_attr_get_payload(data), mnl_attr_get_payload_len(data), [&](const nlattr* a) {
    size_t len = mnl_attr_get_payload_len(a);
    switch (mnl_attr_get_type(a)) {
      case IFLA_VXLAN_ID: if (len == 4) v->vni = mnl_attr_get_u32(a); break;
      case IFLA_VXLAN_PORT: if (len == 2) v->port = ntohs(mnl_attr_get_u16(a)); break;
      case IFLA_VXLAN_LOCAL: if (len == 4) v->local = FormatIp(AF_INET, mnl_attr_get_payload(a)); break;
      case IFLA_VXLAN_LOCAL6: if (len == 16) v->local = FormatIp(AF_INET6, mnl_attr_get_payload(a)); break;
      case IFLA_VXLAN_LINK: if (len == 4) v->link = mnl_attr_get_u32(a); break;
      case IFLA_VXLAN_LEARNING: if (len >= 1) v->learning = mnl_attr_get_u8(a) != 0; break;
      case IFLA_VXLAN_COLLECT_METADATA: if (len >= 1) v->external = mnl_attr_get_u8(a) != 0; break;
      case IFLA_VXLAN_UDP_ZERO_CSUM6_RX: if (len >= 1) v->udp6_zero_csum_rx = mnl_attr_get_u8(a) != 0; break;
      default: break;
    }
  });
}

void ParseLinkInfo(const nlattr* info, LinkInfo* l) {
  const nlattr* data = nullptr;
  ForEachAttrIn(mnl_attr_get_payload(info), mnl_attr_get_payload_len(info), [&](const nlattr* a) {
    if (mnl_attr_get_type(a) == IFLA_INFO_KIND && mnl_attr_validate(a, MNL_TYPE_STRING) == 0) {
      l->kind.assign(static_cast<const char*>(mnl_attr_get_payload(a)), strnlen(static_cast<const char*>(mnl_attr_get_payload(a)), mnl_attr_get_payload_len(a)));
    } else if (mnl_attr_get_type(a) == IFLA_INFO_DATA) {
      data = a;
    }
  });
  if (data && l->kind == "vxlan") {
    l->vxlan.emplace();
    ParseVxlan(data, &*l->vxlan);
  }
}

bool ParseLink(const nlmsghdr* nlh, LinkInfo* l) {
  if (nlh->nlmsg_type != RTM_NEWLINK) return false;
  auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  l->index = static_cast<uint32_t>(ifi->ifi_index);
  l->arphrd = ifi->ifi_type;
  l->flags = ifi->ifi_flags;
  ForEachAttr(nlh, sizeof(*ifi), [&](const nlattr* a) {
    switch (mnl_attr_get_type(a)) {
      case IFLA_IFNAME: if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) l->name = mnl_attr_get_str(a); break;
      case IFLA_MTU: if (mnl_attr_validate(a, MNL_TYPE_U32) == 0) l->mtu = mnl_attr_get_u32(a); break;
      case IFLA_ADDRESS:
        l->mac = FormatMac(static_cast<const uint8_t*>(mnl_attr_get_payload(a)), mnl_attr_get_payload_len(a));
        break;
      case IFLA_MASTER: if (mnl_attr_validate(a, MNL_TYPE_U32) == 0) l->master = mnl_attr_get_u32(a); break;
      case IFLA_LINK: if (mnl_attr_validate(a, MNL_TYPE_U32) == 0) l->link = mnl_attr_get_u32(a); break;
      case IFLA_LINKINFO: ParseLinkInfo(a, l); break;
      default: break;
    }
  });
  return true;
}

std::vector<LinkInfo> DumpLinks(NlSocket* sock) {
  std::vector<LinkInfo> out;
  RetryInterrupted([&] {
    out.clear();
    PutIfinfo(sock->NewRequest(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP));
    sock->Dump([&](const nlmsghdr* m) {
      LinkInfo l;
      if (ParseLink(m, &l)) out.push_back(std::move(l));
    }, "RTM_GETLINK");
  });
  return out;
}

Napi::Object LinkToJs(Napi::Env env, const LinkInfo& l, const std::map<uint32_t, std::string>& names) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("index", l.index);
  o.Set("name", l.name);
  o.Set("type", ArphrdName(l.arphrd));
  if (!l.kind.empty()) o.Set("kind", l.kind);
  o.Set("mtu", l.mtu);
  if (!l.mac.empty()) o.Set("mac", l.mac);
  o.Set("up", (l.flags & IFF_UP) != 0);
  o.Set("lowerUp", (l.flags & IFF_LOWER_UP) != 0);
  if (l.master) {
    o.Set("master", l.master);
    auto it = names.find(l.master);
    if (it != names.end()) o.Set("masterName", it->second);
  }
  if (l.vxlan) {
    Napi::Object v = Napi::Object::New(env);
    if (l.vxlan->vni && !l.vxlan->external) v.Set("vni", *l.vxlan->vni);
    v.Set("port", l.vxlan->port);
    if (!l.vxlan->local.empty()) v.Set("local", l.vxlan->local);
    if (l.vxlan->link) {
      v.Set("parentIndex", l.vxlan->link);
      auto it = names.find(l.vxlan->link);
      if (it != names.end()) v.Set("parent", it->second);
    }
    v.Set("learning", l.vxlan->learning);
    v.Set("external", l.vxlan->external);
    v.Set("udp6ZeroCsumRx", l.vxlan->udp6_zero_csum_rx);
    o.Set("vxlan", v);
  }
  return o;
}

uint32_t RequireLink(NlSocket* sock, const std::string& name) {
  uint32_t idx = ResolveLinkNames(sock, {name})[0];
  if (idx == 0) ThrowSys(ENODEV, "no such device: " + name);
  return idx;
}

struct VxlanArgs {
  std::string name;
  std::optional<uint32_t> vni, port, mtu;
  IpAddr local;
  std::string parent;
  bool learning = false, external = false, up = false, has_mac = false, udp6_zero_csum_rx = false;
  uint8_t mac[6] = {0};
};

void PutVxlan(nlmsghdr* nlh, const VxlanArgs& a, uint32_t parent) {
  ifinfomsg* ifm = PutIfinfo(nlh);
  if (a.up) {
    ifm->ifi_flags = IFF_UP;
    ifm->ifi_change = IFF_UP;
  }
  PutLinkAttrs(nlh, a.name, a.mtu, a.has_mac ? a.mac : nullptr);
  nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vxlan");
  nlattr* data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
  if (a.vni) mnl_attr_put_u32(nlh, IFLA_VXLAN_ID, *a.vni);
  mnl_attr_put_u16(nlh, IFLA_VXLAN_PORT, htons(static_cast<uint16_t>(a.port.value_or(4789))));
  if (a.local.af == AF_INET) mnl_attr_put(nlh, IFLA_VXLAN_LOCAL, 4, a.local.bytes);
  if (a.local.af == AF_INET6) mnl_attr_put(nlh, IFLA_VXLAN_LOCAL6, 16, a.local.bytes);
  if (parent) mnl_attr_put_u32(nlh, IFLA_VXLAN_LINK, parent);
  mnl_attr_put_u8(nlh, IFLA_VXLAN_LEARNING, a.learning ? 1 : 0);
  if (a.external) mnl_attr_put_u8(nlh, IFLA_VXLAN_COLLECT_METADATA, 1);
  if (a.udp6_zero_csum_rx) mnl_attr_put_u8(nlh, IFLA_VXLAN_UDP_ZERO_CSUM6_RX, 1);
  mnl_attr_nest_end(nlh, data);
  mnl_attr_nest_end(nlh, info);
}

}  // namespace

std::vector<uint32_t> ResolveLinkNames(NlSocket* sock, const std::vector<std::string>& names) {
  std::map<std::string, uint32_t> by_name;
  for (const LinkInfo& l : DumpLinks(sock)) by_name[l.name] = l.index;
  std::vector<uint32_t> out;
  out.reserve(names.size());
  for (const std::string& n : names) {
    auto it = by_name.find(n);
    out.push_back(it == by_name.end() ? 0 : it->second);
  }
  return out;
}

std::map<uint32_t, std::string> LinkNamesByIndex(NlSocket* sock) {
  std::map<uint32_t, std::string> out;
  for (const LinkInfo& l : DumpLinks(sock)) out[l.index] = l.name;
  return out;
}

Napi::Value LinkList(const Napi::CallbackInfo& info) {
  Napi::Object opts = ArgObject(info, 0);
  auto links = std::make_shared<std::vector<LinkInfo>>();
  return NlWorker::Start(
      info.Env(), "link-list", OptString(opts, "netns"), [links](NlSocket* sock) { *links = DumpLinks(sock); },
      [links](Napi::Env env) -> Napi::Value {
        std::map<uint32_t, std::string> names;
        for (const LinkInfo& l : *links) names[l.index] = l.name;
        Napi::Array out = Napi::Array::New(env, links->size());
        for (size_t i = 0; i < links->size(); ++i) out.Set(i, LinkToJs(env, (*links)[i], names));
        return out;
      });
}

Napi::Value VxlanCreate(const Napi::CallbackInfo& info) {
  Napi::Object o = ArgObject(info, 0);
  VxlanArgs a;
  a.name = ReqString(o, "name");
  a.vni = OptU32(o, "vni");
  a.port = OptU32(o, "port");
  a.mtu = OptU32(o, "mtu");
  if (!OptString(o, "local").empty()) a.local = ReqIp(o, "local");
  a.parent = OptString(o, "parent");
  a.learning = OptBool(o, "learning", false);
  a.external = OptBool(o, "external", false);
  a.udp6_zero_csum_rx = OptBool(o, "udp6ZeroCsumRx", false);
  a.up = OptBool(o, "up", false);
  if (!OptString(o, "mac").empty()) {
    ReqMac(o, "mac", a.mac);
    a.has_mac = true;
  }
  return NlWorker::Start(info.Env(), "vxlan-create", OptString(o, "netns"), [a](NlSocket* sock) {
    uint32_t parent = a.parent.empty() ? 0 : RequireLink(sock, a.parent);
    nlmsghdr* nlh = sock->NewRequest(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    PutVxlan(nlh, a, parent);
    sock->Transact("RTM_NEWLINK " + a.name);
  }, nullptr);
}

Napi::Value VethCreate(const Napi::CallbackInfo& info) {
  Napi::Object o = ArgObject(info, 0);
  struct Args {
    std::string name, peer, peer_netns;
    std::optional<uint32_t> mtu;
    bool has_mac = false, has_peer_mac = false;
    uint8_t mac[6] = {0}, peer_mac[6] = {0};
  } a;
  a.name = ReqString(o, "name");
  a.peer = ReqString(o, "peerName");
  a.peer_netns = OptString(o, "peerNetns");
  a.mtu = OptU32(o, "mtu");
  if (!OptString(o, "mac").empty()) {
    ReqMac(o, "mac", a.mac);
    a.has_mac = true;
  }
  if (!OptString(o, "peerMac").empty()) {
    ReqMac(o, "peerMac", a.peer_mac);
    a.has_peer_mac = true;
  }
  return NlWorker::Start(info.Env(), "veth-create", OptString(o, "netns"), [a](NlSocket* sock) {
    // The peer is born in its namespace: one request, nothing to move afterwards.
    int peer_fd = a.peer_netns.empty() ? -1 : OpenNetns(a.peer_netns);
    try {
      nlmsghdr* nlh = sock->NewRequest(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
      PutIfinfo(nlh);
      PutLinkAttrs(nlh, a.name, a.mtu, a.has_mac ? a.mac : nullptr);
      nlattr* linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
      mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
      nlattr* data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
      nlattr* peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
      // VETH_INFO_PEER carries an ifinfomsg followed by the peer's own attributes.
      auto* pifm = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload_tail(nlh));
      std::memset(pifm, 0, sizeof(*pifm));
      pifm->ifi_family = AF_UNSPEC;
      nlh->nlmsg_len += MNL_ALIGN(sizeof(ifinfomsg));
      PutLinkAttrs(nlh, a.peer, a.mtu, a.has_peer_mac ? a.peer_mac : nullptr);
      if (peer_fd >= 0) mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, static_cast<uint32_t>(peer_fd));
      mnl_attr_nest_end(nlh, peer);
      mnl_attr_nest_end(nlh, data);
      mnl_attr_nest_end(nlh, linkinfo);
      sock->Transact("RTM_NEWLINK veth " + a.name);
    } catch (...) {
      if (peer_fd >= 0) close(peer_fd);
      throw;
    }
    if (peer_fd >= 0) close(peer_fd);
  }, nullptr);
}

Napi::Value LinkDelete(const Napi::CallbackInfo& info) {
  Napi::Object o = ArgObject(info, 0);
  std::string name = ReqString(o, "name");
  return NlWorker::Start(info.Env(), "link-delete", OptString(o, "netns"), [name](NlSocket* sock) {
    nlmsghdr* nlh = sock->NewRequest(RTM_DELLINK, 0);
    PutIfinfo(nlh);
    PutLinkAttrs(nlh, name, std::nullopt, nullptr);
    sock->Transact("RTM_DELLINK " + name);
  }, nullptr);
}

Napi::Value LinkSet(const Napi::CallbackInfo& info) {
  Napi::Object o = ArgObject(info, 0);
  std::string name = ReqString(o, "name");
  Napi::Value upv = o.Get("up");
  std::optional<bool> up;
  if (upv.IsBoolean()) up = upv.As<Napi::Boolean>().Value();
  std::optional<uint32_t> mtu = OptU32(o, "mtu");
  bool has_mac = !OptString(o, "mac").empty();
  uint8_t mac[6] = {0};
  if (has_mac) ReqMac(o, "mac", mac);
  std::vector<uint8_t> macv(mac, mac + 6);
  return NlWorker::Start(info.Env(), "link-set", OptString(o, "netns"), [=](NlSocket* sock) {
    nlmsghdr* nlh = sock->NewRequest(RTM_NEWLINK, 0);
    ifinfomsg* ifm = PutIfinfo(nlh);
    if (up) {
      ifm->ifi_change = IFF_UP;
      ifm->ifi_flags = *up ? IFF_UP : 0;
    }
    PutLinkAttrs(nlh, name, mtu, has_mac ? macv.data() : nullptr);
    sock->Transact("RTM_NEWLINK " + name);
  }, nullptr);
}

}  // namespace tabby
