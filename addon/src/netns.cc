#include "netns.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "sys_error.h"

namespace tabby {

bool ValidNetnsName(const std::string& name) {
  if (name.empty() || name.size() >= 4096) return false;
  // An absolute path (CNI_NETNS, /proc/PID/ns/net) is taken as it is.
  if (name[0] == '/') return name.find("/../") == std::string::npos;
  return name.size() < 256 && name != "." && name != ".." && name.find('/') == std::string::npos;
}

int OpenNetns(const std::string& name) {
  if (!ValidNetnsName(name)) ThrowSys(EINVAL, "netns " + name);
  std::string path = name[0] == '/' ? name : "/var/run/netns/" + name;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) ThrowSys(errno, "netns " + name);
  return fd;
}

NetnsGuard::NetnsGuard(const std::string& name) {
  if (name.empty()) return;
  if (!ValidNetnsName(name)) ThrowSys(EINVAL, "netns " + name);
  // The way back is opened first, so there is always one once we have left.
  orig_fd_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (orig_fd_ < 0) ThrowSys(errno, "open /proc/thread-self/ns/net");
  int target;
  try {
    target = OpenNetns(name);
  } catch (...) {
    close(orig_fd_);
    orig_fd_ = -1;
    throw;
  }
  if (setns(target, CLONE_NEWNET) < 0) {
    int err = errno;
    close(target);
    close(orig_fd_);
    orig_fd_ = -1;
    ThrowSys(err, "setns " + name);
  }
  close(target);
}

NetnsGuard::~NetnsGuard() {
  if (orig_fd_ < 0) return;
  if (setns(orig_fd_, CLONE_NEWNET) < 0) {
    // A pooled thread stuck in a foreign netns would silently act on the wrong
    // namespace for every later call; stopping is the only safe answer.
    std::fprintf(stderr, "tabby_native: cannot return to original netns: %s\n", std::strerror(errno));
    std::abort();
  }
  close(orig_fd_);
}

}  // namespace tabby
