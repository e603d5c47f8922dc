// Enters a named network namespace (/var/run/netns/NAME) on the calling thread and
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

// Rejects names that would escape /var/run/netns.
bool ValidNetnsName(const std::string& name);

}  // namespace tabby
