// A NETLINK_ROUTE socket (libmnl) created inside a netns, plus request/dump loops.
// Shared by routes now and links, neighbours and route writes later.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include <functional>
#include <string>
#include <vector>

namespace tabby {

// libmnl's mnl_attr_for_each* macros assign void* and so do not compile as C++.
template <typename F>
void ForEachAttrIn(const void* start, size_t len, F f) {
  auto* a = static_cast<const nlattr*>(start);
  int rem = static_cast<int>(len);
  while (mnl_attr_ok(a, rem)) {
    f(a);
    rem -= static_cast<int>(MNL_ALIGN(a->nla_len));
    a = mnl_attr_next(a);
  }
}

// Attributes of a message after its fixed header of `offset` bytes.
template <typename F>
void ForEachAttr(const nlmsghdr* nlh, size_t offset, F f) {
  auto* start = static_cast<const char*>(mnl_nlmsg_get_payload_offset(nlh, offset));
  auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  ForEachAttrIn(start, static_cast<size_t>(tail - start), f);
}

// The errno (positive, 0 for a plain ack) of an NLMSG_ERROR message; the kernel's
// extended-ack text, when it sent one, goes to *text.
int AckError(const nlmsghdr* nlh, std::string* text);

class NlSocket {
 public:
  // Empty netns: the calling thread's current one.
  explicit NlSocket(const std::string& netns);
  ~NlSocket();
  NlSocket(const NlSocket&) = delete;
  NlSocket& operator=(const NlSocket&) = delete;

  // Starts a request in the internal buffer; returns the header to fill.
  nlmsghdr* NewRequest(uint16_t type, uint16_t flags);
  // Sends the request made by NewRequest and calls on_msg for each reply message
  // until the dump ends. Throws SysError (EINTR if the dump was interrupted by a
  // concurrent change, so the caller can retry from scratch).
  void Dump(const std::function<void(const nlmsghdr*)>& on_msg, const std::string& what);
  // Sends the request made by NewRequest with NLM_F_ACK and waits for its ack.
  // Throws SysError carrying the kernel's extended-ack text when it fails.
  void Transact(const std::string& what);

  // Asks for a receive buffer of `bytes` (SO_RCVBUFFORCE, or SO_RCVBUF up to
  // rmem_max when not permitted), so acks of a large batch are not dropped.
  void SetRcvBuf(int bytes);
  // Reserves `n` consecutive sequence numbers and returns the first.
  unsigned ReserveSeq(unsigned n) {
    unsigned first = seq_ + 1;
    seq_ += n;
    return first;
  }
  int fd() const { return mnl_socket_get_fd(nl_); }
  unsigned portid() const { return portid_; }

 private:
  // Reads the rest of dump `seq` up to its NLMSG_DONE; `have` bytes of it are in buf_.
  void DrainDump(unsigned seq, size_t have, const std::string& what);

  mnl_socket* nl_ = nullptr;
  unsigned portid_ = 0;
  unsigned seq_ = 0;
  std::vector<char> buf_;
};

}  // namespace tabby
