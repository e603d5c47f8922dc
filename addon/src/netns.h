// Enters a network namespace (a name under /var/run/netns, or an absolute path such as
// a runtime's CNI_NETNS or /proc/PID/ns/net) on the calling thread and
// returns to the thread's original one when the guard goes out of scope.
//
// libuv reuses threadpool threads, so a thread must never be left in another netns.
// Sockets keep the netns they were created in: create them inside the guard, then
// they may be used after it has been released.
#pragma once

#include <string>

namespace tabby {

class NetnsGuard {
 public:
  // Empty name: stays in the current netns and does nothing.
  explicit NetnsGuard(const std::string& name);
  ~NetnsGuard();
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;

 private:
  int orig_fd_ = -1;
};

// A bare name must not escape /var/run/netns; an absolute path must not climb.
bool ValidNetnsName(const std::string& name);

// An O_RDONLY descriptor of the namespace (name or absolute path); the caller closes it.
int OpenNetns(const std::string& name);

}  // namespace tabby
