#include "netlink_socket.h"

#include <linux/netlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
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
  // Extended acks carry the kernel's reason text; capped acks do not echo the
  // request back, so a batch's acks stay small. Both are best effort.
  int one = 1;
  setsockopt(fd(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  setsockopt(fd(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
}

int AckError(const nlmsghdr* nlh, std::string* text) {
  if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return EBADMSG;
  auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  int err = -e->error;
  if (err == 0 || !(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return err;
  // TLVs follow the error header and, unless capped, the echoed request.
  size_t off = sizeof(nlmsgerr);
  if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) off += e->msg.nlmsg_len - sizeof(nlmsghdr);
  if (NLMSG_LENGTH(off) > nlh->nlmsg_len) return err;
  ForEachAttr(nlh, off, [&](const nlattr* a) {
    if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
      *text = mnl_attr_get_str(a);
  });
  return err;
}

void NlSocket::SetRcvBuf(int bytes) {
  if (setsockopt(fd(), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) == 0) return;
  if (setsockopt(fd(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) < 0) ThrowSys(errno, "SO_RCVBUF");
}

void NlSocket::Transact(const std::string& what) {
  auto* req = reinterpret_cast<nlmsghdr*>(buf_.data());
  req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  if (mnl_socket_sendto(nl_, req, req->nlmsg_len) < 0) ThrowSys(errno, what + ": send");
  unsigned seq = req->nlmsg_seq;
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl_, buf_.data(), buf_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      ThrowSys(errno, what + ": recv");
    }
    auto* nlh = reinterpret_cast<const nlmsghdr*>(buf_.data());
    int len = static_cast<int>(n);
    while (mnl_nlmsg_ok(nlh, len)) {
      if (nlh->nlmsg_type == NLMSG_ERROR && nlh->nlmsg_seq == seq) {
        std::string text;
        int err = AckError(nlh, &text);
        if (err) ThrowSys(err, text.empty() ? what : what + ": " + text);
        return;
      }
      nlh = mnl_nlmsg_next(nlh, &len);
    }
  }
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
    if (ret < 0 && errno == EINTR) {
      // libmnl stops at the first NLM_F_DUMP_INTR message; the rest of this dump is still
      // coming and would meet the retry's request as replies with a stale sequence number.
      DrainDump(seq, static_cast<size_t>(n), what);
      ctx.interrupted = true;
      break;
    }
    if (ret < 0) ThrowSys(errno, what);
    if (ret == MNL_CB_STOP) break;
  }
  if (ctx.interrupted) ThrowSys(EINTR, what + ": dump interrupted");
}

void NlSocket::DrainDump(unsigned seq, size_t have, const std::string& what) {
  auto done_in = [&](size_t n) {
    auto* nlh = reinterpret_cast<const nlmsghdr*>(buf_.data());
    int len = static_cast<int>(n);
    for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_seq == seq && (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR)) return true;
    }
    return false;
  };
  if (done_in(have)) return;
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl_, buf_.data(), buf_.size());
    if (n < 0) ThrowSys(errno, what + ": recv");
    if (done_in(static_cast<size_t>(n))) return;
  }
}

}  // namespace tabby
