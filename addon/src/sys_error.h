// Failures inside Execute() carry an errno and a message; PromiseWorker turns them
// into a rejected promise whose Error has `errno` and `op`.
#pragma once

#include <napi.h>

#include <stdexcept>
#include <string>

namespace tabby {

class SysError : public std::runtime_error {
 public:
  SysError(int err, const std::string& message) : std::runtime_error(message), err_(err) {}
  int err() const { return err_; }

 private:
  int err_;
};

// Throws SysError(err, "what: strerror(err)"). err is a positive errno.
[[noreturn]] void ThrowSys(int err, const std::string& what);

// Like ThrowSys, but also names libbpf's own codes (4000 and up, e.g. "not an ELF object").
[[noreturn]] void ThrowLibbpf(int err, const std::string& what);

// For libbpf's "negative errno" return convention.
inline int CheckLibbpf(int ret, const std::string& what) {
  if (ret < 0) ThrowLibbpf(-ret, what);
  return ret;
}

// Base for every async call: Run() does the kernel work on a threadpool thread,
// Result() builds the JS value on the main thread.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char* op);
  // Queues the worker and hands back its promise; the worker deletes itself when done.
  Napi::Promise Start();

 protected:
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;

 private:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

  Napi::Promise::Deferred deferred_;
  std::string op_;
  int err_ = 0;
};

}  // namespace tabby
