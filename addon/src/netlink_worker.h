// A PromiseWorker for netlink calls whose arguments were copied into plain values
// on the main thread: `run` gets a socket opened in the namespace and works on the
// threadpool, `result` builds the JS value afterwards. Both usually share a
// std::shared_ptr to the call's state.
#pragma once

#include <napi.h>

#include <functional>
#include <string>
#include <utility>

#include "netlink_socket.h"
#include "sys_error.h"

namespace tabby {

class NlWorker : public PromiseWorker {
 public:
  using RunFn = std::function<void(NlSocket*)>;
  using ResultFn = std::function<Napi::Value(Napi::Env)>;

  NlWorker(Napi::Env env, const char* op, std::string netns, RunFn run, ResultFn result)
      : PromiseWorker(env, op), netns_(std::move(netns)), run_(std::move(run)), result_(std::move(result)) {}

  static Napi::Promise Start(Napi::Env env, const char* op, std::string netns, RunFn run, ResultFn result) {
    return (new NlWorker(env, op, std::move(netns), std::move(run), std::move(result)))->PromiseWorker::Start();
  }

 protected:
  void Run() override {
    NlSocket sock(netns_);
    run_(&sock);
  }
  Napi::Value Result(Napi::Env env) override { return result_ ? result_(env) : env.Undefined(); }

 private:
  std::string netns_;
  RunFn run_;
  ResultFn result_;
};

// A dump that may be interrupted by a concurrent change is simply redone.
template <typename F>
void RetryInterrupted(F f) {
  for (int attempt = 0;; ++attempt) {
    try {
      f();
      return;
    } catch (const SysError& e) {
      if (e.err() != EINTR || attempt >= 4) throw;
    }
  }
}

}  // namespace tabby
