#include "netlink_batch.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>

#include "sys_error.h"

namespace tabby {

namespace {

constexpr size_t kRecvSlots = 256;
constexpr size_t kRecvSlotSize = 1024;  // a capped ack with an ext-ack text fits easily

// recvmmsg() slots, allocated once per batch rather than on a threadpool stack.
struct RecvSlots {
  std::vector<char> buf = std::vector<char>(kRecvSlots * kRecvSlotSize);
  std::vector<mmsghdr> msgs = std::vector<mmsghdr>(kRecvSlots);
  std::vector<iovec> iov = std::vector<iovec>(kRecvSlots);
};

struct Chunk {
  unsigned base_seq = 0;
  std::vector<uint32_t> items;  // seq - base_seq -> item index
  std::vector<uint8_t> acked;
};

std::string Describe(int err, const std::string& text) {
  std::string s = std::strerror(err);
  return text.empty() ? s : s + ": " + text;
}

// Receives the acks of one chunk. Requests are processed inside sendto(), so once it
// returned every ack is either queued or was dropped for lack of receive buffer
// (ENOBUFS); after an overrun the queue is drained without blocking and whatever is
// still missing is reported as lost.
void CollectAcks(NlSocket* sock, Chunk* c, BatchResults* out, RecvSlots* slots) {
  size_t pending = c->items.size();
  mmsghdr* msgs = slots->msgs.data();
  iovec* iov = slots->iov.data();
  bool overrun = false;
  while (pending > 0) {
    size_t vlen = pending < kRecvSlots ? pending : kRecvSlots;
    for (size_t j = 0; j < vlen; ++j) {
      iov[j] = {slots->buf.data() + j * kRecvSlotSize, kRecvSlotSize};
      std::memset(&msgs[j], 0, sizeof(msgs[j]));
      msgs[j].msg_hdr.msg_iov = &iov[j];
      msgs[j].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(sock->fd(), msgs, static_cast<unsigned>(vlen), overrun ? MSG_DONTWAIT : MSG_WAITFORONE, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        overrun = true;
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;  // drained, or the receive timeout
      ThrowSys(errno, "netlink recv");
    }
    for (int j = 0; j < n; ++j) {
      auto* nlh = reinterpret_cast<const nlmsghdr*>(iov[j].iov_base);
      int len = static_cast<int>(msgs[j].msg_len);
      for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
        if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_pid != sock->portid()) continue;
        unsigned k = nlh->nlmsg_seq - c->base_seq;
        if (k >= c->items.size() || c->acked[k]) continue;
        c->acked[k] = 1;
        --pending;
        std::string text;
        int err = AckError(nlh, &text);
        if (err) out->Fail(c->items[k], err, Describe(err, text));
      }
    }
  }
  if (pending == 0) return;
  for (size_t k = 0; k < c->items.size(); ++k) {
    if (c->acked[k]) continue;
    if (overrun) {
      out->Fail(c->items[k], ENOBUFS,
                "acknowledgement lost: netlink receive buffer overrun (the request may or may not have been applied)");
    } else {
      out->Fail(c->items[k], ETIMEDOUT, "no acknowledgement from the kernel");
    }
  }
}

}  // namespace

Napi::Object BatchResults::ToJs(Napi::Env env) const {
  Napi::Object o = Napi::Object::New(env);
  Napi::Int32Array errnos = Napi::Int32Array::New(env, err.size());
  if (!err.empty()) std::memcpy(errnos.Data(), err.data(), err.size() * sizeof(int32_t));
  o.Set("errnos", errnos);
  Napi::Array msgs = Napi::Array::New(env, text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, text[i].first);
    pair.Set(1u, text[i].second);
    msgs.Set(i, pair);
  }
  o.Set("messages", msgs);
  o.Set("sends", static_cast<double>(sends));
  return o;
}

void RunBatch(NlSocket* sock, size_t count, const BatchLimits& limits, const BuildFn& build, BatchResults* out) {
  // A stuck kernel must not hold a threadpool thread forever.
  timeval tv{30, 0};
  setsockopt(sock->fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

  std::vector<char> buf(limits.max_bytes + kMaxBatchMsg);
  RecvSlots slots;
  Chunk c;
  c.items.reserve(limits.max_msgs);
  size_t i = 0;
  while (i < count) {
    c.items.clear();
    size_t used = 0;
    while (i < count && c.items.size() < limits.max_msgs && used < limits.max_bytes) {
      auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data() + used);
      size_t len = build(i, buf.data() + used);
      if (len > 0) {
        nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_pid = 0;
        c.items.push_back(static_cast<uint32_t>(i));
        used += NLMSG_ALIGN(len);
      }
      ++i;
    }
    if (c.items.empty()) continue;
    c.base_seq = sock->ReserveSeq(static_cast<unsigned>(c.items.size()));
    size_t off = 0;
    for (size_t k = 0; k < c.items.size(); ++k) {
      auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data() + off);
      nlh->nlmsg_seq = c.base_seq + static_cast<unsigned>(k);
      off += NLMSG_ALIGN(nlh->nlmsg_len);
    }
    c.acked.assign(c.items.size(), 0);
    ssize_t sent;
    do {
      sent = sendto(sock->fd(), buf.data(), used, 0, nullptr, 0);
    } while (sent < 0 && errno == EINTR);
    out->sends++;
    if (sent < 0) {
      // The whole chunk was refused (e.g. no memory): fail its items, go on.
      int err = errno;
      for (uint32_t item : c.items) out->Fail(item, err, std::string("netlink send: ") + std::strerror(err));
      continue;
    }
    CollectAcks(sock, &c, out, &slots);
  }
}

}  // namespace tabby
