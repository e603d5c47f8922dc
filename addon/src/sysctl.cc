#include "sysctl.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "args.h"
#include "netns.h"
#include "sys_error.h"

namespace tabby {

namespace {

class SysctlWorker : public PromiseWorker {
 public:
  SysctlWorker(Napi::Env env, std::string netns, std::vector<std::pair<std::string, std::string>> entries)
      : PromiseWorker(env, "sysctl-write"), netns_(std::move(netns)), entries_(std::move(entries)) {}

 protected:
  void Run() override {
    NetnsGuard in_ns(netns_);
    for (const auto& [key, value] : entries_) {
      std::string path = "/proc/sys/" + key;
      int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) ThrowSys(errno, "sysctl " + key);
      ssize_t n = write(fd, value.data(), value.size());
      int err = errno;
      close(fd);
      if (n < 0) ThrowSys(err, "sysctl " + key + "=" + value);
      if (static_cast<size_t>(n) != value.size()) ThrowSys(EIO, "sysctl " + key + "=" + value + " (short write)");
    }
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::string netns_;
  std::vector<std::pair<std::string, std::string>> entries_;
};

}  // namespace

Napi::Value SysctlWrite(const Napi::CallbackInfo& info) {
  Napi::Object o = ArgObject(info, 0);
  Napi::Value list = o.Get("entries");
  if (!list.IsArray()) throw Napi::TypeError::New(info.Env(), "entries must be an array");
  Napi::Array arr = list.As<Napi::Array>();
  std::vector<std::pair<std::string, std::string>> entries;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value e = arr.Get(i);
    if (!e.IsArray() || e.As<Napi::Array>().Length() != 2) throw Napi::TypeError::New(info.Env(), "each entry must be [key, value]");
    Napi::Value k = e.As<Napi::Array>().Get(0u), v = e.As<Napi::Array>().Get(1u);
    if (!k.IsString() || !v.IsString()) throw Napi::TypeError::New(info.Env(), "sysctl key and value must be strings");
    entries.emplace_back(k.As<Napi::String>().Utf8Value(), v.As<Napi::String>().Utf8Value());
  }
  return (new SysctlWorker(info.Env(), OptString(o, "netns"), std::move(entries)))->Start();
}

}  // namespace tabby
