#include "netlink_socket.h"

#include <cerrno>
#include <ctime>

#include "netns.h"
#include "sys_error.h"

namespace tabby {

namespace {
// Kernel dump messages can be up to 32 KiB; a smaller buffer would truncate them.
constexpr size_t kBufSize = 32768;

struct DumpCtx {
  const std::function<void(const nlmsghdr*)>* on_msg;
  bool interrupted;
};

int DataCb(const nlmsghdr* nlh, void* data) {
  auto* ctx = static_cast<DumpCtx*>(data);
  if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) ctx->interrupted = true;
  (*ctx->on_msg)(nlh);
  return MNL_CB_OK;
}
}  // namespace

NlSocket::NlSocket(const std::string& netns) : buf_(kBufSize) {
  {
    NetnsGuard in_ns(netns);
    nl_ = mnl_socket_open(NETLINK_ROUTE);
    if (!nl_) ThrowSys(errno, "netlink socket");
  }
  if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    mnl_socket_close(nl_);
    nl_ = nullptr;
    ThrowSys(err, "netlink bind");
  }
  portid_ = mnl_socket_get_portid(nl_);
  seq_ = static_cast<unsigned>(time(nullptr));
}

NlSocket::~NlSocket() {
  if (nl_) mnl_socket_close(nl_);
}

nlmsghdr* NlSocket::NewRequest(uint16_t type, uint16_t flags) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf_.data());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
  nlh->nlmsg_seq = ++seq_;
  return nlh;
}

void NlSocket::Dump(const std::function<void(const nlmsghdr*)>& on_msg, const std::string& what) {
  auto* req = reinterpret_cast<nlmsghdr*>(buf_.data());
  if (mnl_socket_sendto(nl_, req, req->nlmsg_len) < 0) ThrowSys(errno, what + ": send");
  unsigned seq = req->nlmsg_seq;
  DumpCtx ctx{&on_msg, false};
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl_, buf_.data(), buf_.size());
    if (n < 0) ThrowSys(errno, what + ": recv");
    int ret = mnl_cb_run(buf_.data(), static_cast<size_t>(n), seq, portid_, DataCb, &ctx);
    if (ret < 0) ThrowSys(errno, what);
    if (ret == MNL_CB_STOP) break;
  }
  if (ctx.interrupted) ThrowSys(EINTR, what + ": dump interrupted");
}

}  // namespace tabby
