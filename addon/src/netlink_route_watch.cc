// A NETLINK_ROUTE socket in the IPv4 and IPv6 route multicast groups, read on a thread
// of its own. A classic BPF filter drops, in the kernel, the events about routes of one
// protocol (the caller's own), so a burst of our own route writes wakes nobody. The
// caller hears only "routes changed", at most once until its callback has run: it then
// dumps what it needs. A lost event (ENOBUFS, the receive queue overflowed) is reported
// the same way, since a dump covers it.
#include "netlink_route_watch.h"

#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

namespace tabby {
namespace {

class Watch {
 public:
  Watch(int fd, int stop_fd, Napi::ThreadSafeFunction tsfn) : fd_(fd), stop_fd_(stop_fd), tsfn_(tsfn) {
    thread_ = std::thread([this] { Loop(); });
  }

  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    uint64_t one = 1;
    ssize_t unused = write(stop_fd_, &one, sizeof(one));
    (void)unused;
    thread_.join();
    close(fd_);
    close(stop_fd_);
    tsfn_.Release();
  }

  // Runs on the main thread before the JS callback: the next event may notify again.
  void Delivered() { pending_.store(false); }

 private:
  void Loop() {
    char buf[16384];
    pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    for (;;) {
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents != 0) return;
      bool changed = false;
      for (;;) {
        ssize_t n = recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0 || (n < 0 && errno == ENOBUFS)) {
          changed = true;
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        break;
      }
      if (changed && !pending_.exchange(true)) {
        tsfn_.NonBlockingCall(this, [](Napi::Env env, Napi::Function cb, Watch* w) {
          w->Delivered();
          cb.Call({});
        });
      }
    }
  }

  int fd_;
  int stop_fd_;
  Napi::ThreadSafeFunction tsfn_;
  std::thread thread_;
  std::atomic<bool> pending_{false};
  bool stopped_ = false;
};

[[noreturn]] void Throw(Napi::Env env, int err, const char* what) {
  Napi::Error e = Napi::Error::New(env, std::string("routeWatch: ") + what + ": " + std::strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("op", Napi::String::New(env, "routeWatch"));
  throw e;
}

}  // namespace

Napi::Value RouteWatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsFunction() || !info[1].IsNumber()) throw Napi::TypeError::New(env, "routeWatch(callback, skipProtocol)");
  uint32_t skip = info[1].As<Napi::Number>().Uint32Value();
  if (skip > 255) throw Napi::TypeError::New(env, "skipProtocol must be 0..255");

  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) Throw(env, errno, "socket");
  // rtm_protocol: octet 5 of struct rtmsg, after the 16-octet nlmsghdr. One octet, so
  // no byte order question. Every message in these groups is an RTM_*ROUTE.
  sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, NLMSG_HDRLEN + 5),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, skip, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, 0),
      BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
  };
  sock_fprog prog = {static_cast<unsigned short>(sizeof(code) / sizeof(code[0])), code};
  int rcvbuf = 1 << 20;
  sockaddr_nl sa;
  std::memset(&sa, 0, sizeof(sa));
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
  int err = 0;
  const char* what = nullptr;
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0) err = errno, what = "SO_ATTACH_FILTER";
  else if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0) err = errno, what = "SO_RCVBUF";
  else if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) err = errno, what = "bind";
  if (what != nullptr) {
    close(fd);
    Throw(env, err, what);
  }
  int stop_fd = eventfd(0, EFD_CLOEXEC);
  if (stop_fd < 0) {
    err = errno;
    close(fd);
    Throw(env, err, "eventfd");
  }

  auto tsfn = Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "routeWatch", 0, 1);
  // The watch alone never keeps the process alive.
  tsfn.Unref(env);
  auto* watch = new Watch(fd, stop_fd, tsfn);
  Napi::Object handle = Napi::Object::New(env);
  handle.Set("stop", Napi::Function::New(env, [watch](const Napi::CallbackInfo& i) {
    watch->Stop();
    return i.Env().Undefined();
  }, "stop"));
  return handle;
}

}  // namespace tabby
