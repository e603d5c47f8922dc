#include "netlink_route_batch.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <vector>

#include "args.h"
#include "netlink_batch.h"
#include "netlink_links.h"
#include "netlink_route_record.h"
#include "netlink_socket.h"
#include "sys_error.h"

namespace tabby {

namespace {

// Acks of a 256-request chunk take ~1 KiB of skb each; 8 MiB leaves plenty of room.
constexpr int kDefaultRcvBuf = 8 << 20;

struct LinkRef {
  const std::vector<std::string>& names;
  const std::vector<uint32_t>& index;  // 0: no such device
};

// The interface index a record names (by index or by name), 0 for none; -1 after
// failing the item because the named device does not exist.
int64_t ResolveOif(uint32_t oif, uint32_t name, const LinkRef& links, size_t item, BatchResults* out) {
  if (name == 0) return oif;
  if (name > links.names.size()) {
    out->Fail(item, EINVAL, "route record names no device");
    return -1;
  }
  uint32_t idx = links.index[name - 1];
  if (idx == 0) {
    out->Fail(item, ENODEV, "no such device: " + links.names[name - 1]);
    return -1;
  }
  return idx;
}

uint16_t MessageFlags(uint8_t op) {
  if (op == kOpAdd) return NLM_F_CREATE | NLM_F_EXCL;
  if (op == kOpReplace) return NLM_F_CREATE | NLM_F_REPLACE;
  return 0;
}

// Scope as iproute2 picks it: link for a device route, universe otherwise;
// "nowhere" on delete matches a route of any scope.
uint8_t DefaultScope(const RouteRec& r) {
  if (r.op == kOpDelete) return RT_SCOPE_NOWHERE;
  bool unicast = r.type == 0 || r.type == RTN_UNICAST;
  if (r.family == 4 && unicast && !(r.flags & kRecGateway) && r.nh_count == 0) return RT_SCOPE_LINK;
  return RT_SCOPE_UNIVERSE;
}

bool PutMultipath(nlmsghdr* nlh, const RouteRec& r, size_t alen, const LinkRef& links, size_t item, BatchResults* out) {
  nlattr* nest = mnl_attr_nest_start(nlh, RTA_MULTIPATH);
  for (size_t k = 0; k < r.nh_count; ++k) {
    NexthopRec h = r.Nexthop(k);
    int64_t oif = ResolveOif(h.oif, h.oif_name, links, item, out);
    if (oif < 0) return false;
    auto* rtnh = static_cast<rtnexthop*>(mnl_nlmsg_get_payload_tail(nlh));
    nlh->nlmsg_len += RTNH_ALIGN(sizeof(rtnexthop));
    rtnh->rtnh_flags = (h.flags & kNhOnlink) ? RTNH_F_ONLINK : 0;
    rtnh->rtnh_hops = h.hops;
    rtnh->rtnh_ifindex = static_cast<int>(oif);
    if (h.flags & kNhGateway) mnl_attr_put(nlh, RTA_GATEWAY, alen, h.gateway);
    // The realm tells tc programs which next hop the kernel picked (bpf_get_route_realm).
    if (h.realm) mnl_attr_put_u32(nlh, RTA_FLOW, h.realm);
    rtnh->rtnh_len = static_cast<unsigned short>(
        static_cast<char*>(mnl_nlmsg_get_payload_tail(nlh)) - reinterpret_cast<char*>(rtnh));
  }
  mnl_attr_nest_end(nlh, nest);
  return true;
}

// Builds one RTM_NEWROUTE/RTM_DELROUTE at buf; 0 when the item failed here.
size_t PutRoute(char* buf, const RouteRec& r, const LinkRef& links, size_t item, BatchResults* out) {
  if ((r.family != 4 && r.family != 6) || r.op > kOpDelete) {
    out->Fail(item, EINVAL, "malformed route record");
    return 0;
  }
  size_t alen = r.family == 4 ? 4 : 16;
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = r.op == kOpDelete ? RTM_DELROUTE : RTM_NEWROUTE;
  nlh->nlmsg_flags = MessageFlags(r.op);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = r.family == 4 ? AF_INET : AF_INET6;
  rtm->rtm_dst_len = r.dst_len;
  rtm->rtm_table = r.table < 256 ? static_cast<uint8_t>(r.table) : static_cast<uint8_t>(RT_TABLE_UNSPEC);
  rtm->rtm_protocol = r.protocol;
  rtm->rtm_scope = (r.flags & kRecScope) ? r.scope : DefaultScope(r);
  rtm->rtm_type = r.type ? r.type : static_cast<uint8_t>(r.op == kOpDelete ? RTN_UNSPEC : RTN_UNICAST);
  if (r.flags & kRecOnlink) rtm->rtm_flags |= RTNH_F_ONLINK;

  mnl_attr_put_u32(nlh, RTA_TABLE, r.table);
  mnl_attr_put(nlh, RTA_DST, alen, r.dst);
  if (r.flags & kRecMetric) mnl_attr_put_u32(nlh, RTA_PRIORITY, r.metric);
  if (r.flags & kRecPrefsrc) mnl_attr_put(nlh, RTA_PREFSRC, alen, r.prefsrc);
  if (r.realm) mnl_attr_put_u32(nlh, RTA_FLOW, r.realm);
  if (r.flags & kRecMtu) {
    nlattr* metrics = mnl_attr_nest_start(nlh, RTA_METRICS);
    mnl_attr_put_u32(nlh, RTAX_MTU, r.mtu);
    mnl_attr_nest_end(nlh, metrics);
  }
  if (r.nh_count > 0) {
    if (!PutMultipath(nlh, r, alen, links, item, out)) return 0;
  } else {
    if (r.flags & kRecGateway) mnl_attr_put(nlh, RTA_GATEWAY, alen, r.gateway);
    int64_t oif = ResolveOif(r.oif, r.oif_name, links, item, out);
    if (oif < 0) return 0;
    if (oif > 0) mnl_attr_put_u32(nlh, RTA_OIF, static_cast<uint32_t>(oif));
  }
  return nlh->nlmsg_len;
}

class RouteApplyWorker : public PromiseWorker {
 public:
  RouteApplyWorker(Napi::Env env, std::vector<uint8_t> records, size_t count, std::vector<std::string> names,
                   std::string netns, BatchLimits limits, int rcvbuf)
      : PromiseWorker(env, "route-apply"), records_(std::move(records)), count_(count), names_(std::move(names)),
        netns_(std::move(netns)), limits_(limits), rcvbuf_(rcvbuf), results_(count) {}

 protected:
  void Run() override {
    std::vector<RouteRec> recs(count_);
    size_t off = 0;
    for (size_t i = 0; i < count_; ++i) {
      size_t n = DecodeRouteRec(records_.data(), records_.size(), off, &recs[i]);
      if (n == 0) ThrowSys(EINVAL, "route records truncated");
      off += n;
    }
    NlSocket sock(netns_);
    sock.SetRcvBuf(rcvbuf_);
    std::vector<uint32_t> index = names_.empty() ? std::vector<uint32_t>() : ResolveLinkNames(&sock, names_);
    LinkRef links{names_, index};
    RunBatch(&sock, count_, limits_, [&](size_t i, char* buf) { return PutRoute(buf, recs[i], links, i, &results_); },
             &results_);
  }

  Napi::Value Result(Napi::Env env) override { return results_.ToJs(env); }

 private:
  std::vector<uint8_t> records_;
  size_t count_;
  std::vector<std::string> names_;
  std::string netns_;
  BatchLimits limits_;
  int rcvbuf_;
  BatchResults results_;
};

}  // namespace

Napi::Value RouteApply(const Napi::CallbackInfo& info) {
  std::vector<uint8_t> records = ArgBytes(info, 0);
  uint32_t count = ArgU32(info, 1);
  if (info.Length() <= 2 || !info[2].IsArray()) throw Napi::TypeError::New(info.Env(), "argument 2 must be an array");
  Napi::Array arr = info[2].As<Napi::Array>();
  std::vector<std::string> names;
  names.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value v = arr.Get(i);
    if (!v.IsString()) throw Napi::TypeError::New(info.Env(), "names must be strings");
    names.push_back(v.As<Napi::String>().Utf8Value());
  }
  Napi::Object opts = ArgObject(info, 3);
  BatchLimits limits;
  if (auto v = OptU32(opts, "batchSize")) limits.max_msgs = *v ? *v : 1;
  if (auto v = OptU32(opts, "batchBytes")) limits.max_bytes = *v > kMaxBatchMsg ? *v : kMaxBatchMsg;
  int rcvbuf = kDefaultRcvBuf;
  if (auto v = OptU32(opts, "rcvbuf")) rcvbuf = static_cast<int>(*v & 0x7fffffff);
  auto* w = new RouteApplyWorker(info.Env(), std::move(records), count, std::move(names), OptString(opts, "netns"),
                                 limits, rcvbuf);
  return w->Start();
}

}  // namespace tabby
