#include "netlink_routes.h"

#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "args.h"
#include "netlink_socket.h"
#include "sys_error.h"

namespace tabby {

namespace {

struct Nexthop {
  std::string gateway;
  uint32_t oif = 0;
  uint32_t weight = 1;
  uint32_t realm = 0;  // RTA_FLOW: "from" realm << 16 | "to" realm
  bool onlink = false;
};

struct Route {
  int family = 0;  // 4 or 6
  std::string dst;
  uint32_t table = 0;
  uint8_t protocol = 0;
  uint8_t scope = 0;
  uint8_t type = 0;
  std::string gateway;
  std::string prefsrc;
  uint32_t oif = 0;
  std::optional<uint32_t> metric;
  std::optional<uint32_t> mtu;
  uint32_t realm = 0;
  bool onlink = false;
  std::vector<Nexthop> nexthops;
};

const char* TypeName(uint8_t type) {
  static const char* const names[] = {
      "unspec", "unicast", "local", "broadcast", "anycast", "multicast",
      "blackhole", "unreachable", "prohibit", "throw", "nat", "xresolve"};
  return type < sizeof(names) / sizeof(names[0]) ? names[type] : "unknown";
}

std::string FormatAddr(int af, const void* addr) {
  char out[INET6_ADDRSTRLEN] = {0};
  if (!inet_ntop(af, addr, out, sizeof(out))) return std::string();
  return out;
}

// Address attribute payloads must be exactly an in_addr/in6_addr; anything else is ignored.
std::string AttrAddr(int af, const nlattr* a) {
  size_t want = af == AF_INET ? 4 : 16;
  if (mnl_attr_get_payload_len(a) != want) return std::string();
  return FormatAddr(af, mnl_attr_get_payload(a));
}

// RTA_VIA: a gateway of another family (IPv4 route via an IPv6 nexthop).
std::string AttrVia(const nlattr* a) {
  size_t len = mnl_attr_get_payload_len(a);
  auto* via = static_cast<const rtvia*>(mnl_attr_get_payload(a));
  if (len < sizeof(rtvia)) return std::string();
  if (via->rtvia_family == AF_INET && len >= sizeof(rtvia) + 4) return FormatAddr(AF_INET, via->rtvia_addr);
  if (via->rtvia_family == AF_INET6 && len >= sizeof(rtvia) + 16) return FormatAddr(AF_INET6, via->rtvia_addr);
  return std::string();
}

void ParseMultipath(int af, const nlattr* a, Route* r) {
  auto* nh = static_cast<const rtnexthop*>(mnl_attr_get_payload(a));
  int len = static_cast<int>(mnl_attr_get_payload_len(a));
  while (RTNH_OK(nh, len)) {
    Nexthop hop;
    hop.oif = static_cast<uint32_t>(nh->rtnh_ifindex);
    hop.weight = static_cast<uint32_t>(nh->rtnh_hops) + 1;
    hop.onlink = (nh->rtnh_flags & RTNH_F_ONLINK) != 0;
    ForEachAttrIn(RTNH_DATA(nh), nh->rtnh_len - RTNH_LENGTH(0), [&](const nlattr* a2) {
      if (mnl_attr_get_type(a2) == RTA_GATEWAY) hop.gateway = AttrAddr(af, a2);
      else if (mnl_attr_get_type(a2) == RTA_VIA) hop.gateway = AttrVia(a2);
      else if (mnl_attr_get_type(a2) == RTA_FLOW && mnl_attr_validate(a2, MNL_TYPE_U32) == 0)
        hop.realm = mnl_attr_get_u32(a2);
    });
    r->nexthops.push_back(hop);
    len -= NLMSG_ALIGN(nh->rtnh_len);
    nh = RTNH_NEXT(nh);
  }
}

// RTA_METRICS is a nest of RTAX_* u32 values; only the MTU matters here.
void ParseMetrics(const nlattr* a, Route* r) {
  ForEachAttrIn(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a), [&](const nlattr* m) {
    if (mnl_attr_get_type(m) == RTAX_MTU && mnl_attr_validate(m, MNL_TYPE_U32) == 0) r->mtu = mnl_attr_get_u32(m);
  });
}

// `realm` is the "to" realm iproute2 prints; a "from" realm is rare and shown apart.
void SetRealm(Napi::Object& o, uint32_t flow) {
  if (flow & 0xffff) o.Set("realm", flow & 0xffff);
  if (flow >> 16) o.Set("realmFrom", flow >> 16);
}

struct Filter {
  std::optional<uint32_t> table;
  std::optional<uint32_t> protocol;
  // Every protocol but this one (the underlay without our own routes, which may be a million).
  std::optional<uint32_t> exclude_protocol;
};

// Returns false for messages the caller did not ask for.
bool ParseRoute(const nlmsghdr* nlh, const Filter& f, Route* r) {
  if (nlh->nlmsg_type != RTM_NEWROUTE) return false;
  auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
  if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6) return false;
  // Cached clones (PMTU, redirects) are not configuration.
  if (rtm->rtm_flags & RTM_F_CLONED) return false;
  if (f.protocol && *f.protocol != rtm->rtm_protocol) return false;
  if (f.exclude_protocol && *f.exclude_protocol == rtm->rtm_protocol) return false;

  int af = rtm->rtm_family;
  r->family = af == AF_INET ? 4 : 6;
  r->table = rtm->rtm_table;
  r->protocol = rtm->rtm_protocol;
  r->scope = rtm->rtm_scope;
  r->type = rtm->rtm_type;
  r->onlink = (rtm->rtm_flags & RTNH_F_ONLINK) != 0;
  std::string dst;

  ForEachAttr(nlh, sizeof(*rtm), [&](const nlattr* attr) {
    switch (mnl_attr_get_type(attr)) {
      case RTA_TABLE:  // tables above 255 only appear here
        if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0) r->table = mnl_attr_get_u32(attr);
        break;
      case RTA_DST: dst = AttrAddr(af, attr); break;
      case RTA_GATEWAY: r->gateway = AttrAddr(af, attr); break;
      case RTA_VIA: r->gateway = AttrVia(attr); break;
      case RTA_PREFSRC: r->prefsrc = AttrAddr(af, attr); break;
      case RTA_OIF:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0) r->oif = mnl_attr_get_u32(attr);
        break;
      case RTA_PRIORITY:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0) r->metric = mnl_attr_get_u32(attr);
        break;
      case RTA_FLOW:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0) r->realm = mnl_attr_get_u32(attr);
        break;
      case RTA_MULTIPATH: ParseMultipath(af, attr, r); break;
      case RTA_METRICS: ParseMetrics(attr, r); break;
      default: break;
    }
  });
  if (f.table && *f.table != r->table) return false;
  if (dst.empty()) dst = af == AF_INET ? "0.0.0.0" : "::";
  r->dst = dst + "/" + std::to_string(rtm->rtm_dst_len);
  return true;
}

class RouteDumpWorker : public PromiseWorker {
 public:
  RouteDumpWorker(Napi::Env env, int family, Filter filter, std::string netns)
      : PromiseWorker(env, "route-dump"), family_(family), filter_(filter), netns_(std::move(netns)) {}

 protected:
  void Run() override {
    NlSocket sock(netns_);
    // A dump interrupted by a concurrent change is inconsistent: start again.
    for (int attempt = 0;; ++attempt) {
      try {
        routes_.clear();
        DumpRoutes(&sock);
        break;
      } catch (const SysError& e) {
        if (e.err() != EINTR || attempt >= 4) throw;
      }
    }
    bool any_oif = false;
    for (const Route& r : routes_) any_oif = any_oif || r.oif != 0 || !r.nexthops.empty();
    if (any_oif) DumpLinkNames(&sock);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, routes_.size());
    for (size_t i = 0; i < routes_.size(); ++i) {
      const Route& r = routes_[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("family", r.family);
      o.Set("dst", r.dst);
      o.Set("table", r.table);
      o.Set("protocol", r.protocol);
      o.Set("scope", r.scope);
      o.Set("type", TypeName(r.type));
      if (!r.gateway.empty()) o.Set("gateway", r.gateway);
      if (r.oif) {
        o.Set("oif", r.oif);
        auto it = names_.find(r.oif);
        if (it != names_.end()) o.Set("dev", it->second);
      }
      if (r.metric) o.Set("metric", *r.metric);
      if (r.mtu) o.Set("mtu", *r.mtu);
      if (!r.prefsrc.empty()) o.Set("prefsrc", r.prefsrc);
      SetRealm(o, r.realm);
      o.Set("onlink", r.onlink);
      if (!r.nexthops.empty()) {
        Napi::Array hops = Napi::Array::New(env, r.nexthops.size());
        for (size_t j = 0; j < r.nexthops.size(); ++j) {
          const Nexthop& h = r.nexthops[j];
          Napi::Object ho = Napi::Object::New(env);
          if (!h.gateway.empty()) ho.Set("gateway", h.gateway);
          if (h.oif) {
            ho.Set("oif", h.oif);
            auto it = names_.find(h.oif);
            if (it != names_.end()) ho.Set("dev", it->second);
          }
          ho.Set("weight", h.weight);
          SetRealm(ho, h.realm);
          ho.Set("onlink", h.onlink);
          hops.Set(j, ho);
        }
        o.Set("nexthops", hops);
      }
      out.Set(i, o);
    }
    return out;
  }

 private:
  void DumpRoutes(NlSocket* sock) {
    nlmsghdr* nlh = sock->NewRequest(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP);
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = family_ == 4 ? AF_INET : family_ == 6 ? AF_INET6 : AF_UNSPEC;
    sock->Dump([this](const nlmsghdr* m) {
      Route r;
      if (ParseRoute(m, filter_, &r)) routes_.push_back(std::move(r));
    }, "RTM_GETROUTE");
  }

  // Names come from the same socket, so they belong to the same netns as the routes.
  void DumpLinkNames(NlSocket* sock) {
    nlmsghdr* nlh = sock->NewRequest(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP);
    auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifm->ifi_family = AF_UNSPEC;
    sock->Dump([this](const nlmsghdr* m) {
      if (m->nlmsg_type != RTM_NEWLINK) return;
      auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(m));
      ForEachAttr(m, sizeof(*ifi), [&](const nlattr* attr) {
        if (mnl_attr_get_type(attr) == IFLA_IFNAME && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
          names_[static_cast<uint32_t>(ifi->ifi_index)] = mnl_attr_get_str(attr);
      });
    }, "RTM_GETLINK");
  }

  int family_;
  Filter filter_;
  std::string netns_;
  std::vector<Route> routes_;
  std::map<uint32_t, std::string> names_;
};

}  // namespace

Napi::Value RouteDump(const Napi::CallbackInfo& info) {
  Napi::Object opts = ArgObject(info, 0);
  std::optional<uint32_t> family = OptU32(opts, "family");
  int fam = family ? static_cast<int>(*family) : 0;
  if (fam != 0 && fam != 4 && fam != 6) throw Napi::TypeError::New(info.Env(), "family must be 0, 4 or 6");
  Filter f{OptU32(opts, "table"), OptU32(opts, "protocol"), OptU32(opts, "excludeProtocol")};
  auto* w = new RouteDumpWorker(info.Env(), fam, f, OptString(opts, "netns"));
  return w->Start();
}

}  // namespace tabby
