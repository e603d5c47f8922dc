#include "sys_error.h"

#include <bpf/libbpf.h>

#include <cstring>

namespace tabby {

void ThrowSys(int err, const std::string& what) {
  throw SysError(err, what + ": " + std::strerror(err));
}

void ThrowLibbpf(int err, const std::string& what) {
  char buf[128];
  libbpf_strerror(err, buf, sizeof(buf));
  throw SysError(err, what + ": " + buf);
}

PromiseWorker::PromiseWorker(Napi::Env env, const char* op)
    : Napi::AsyncWorker(env, op), deferred_(Napi::Promise::Deferred::New(env)), op_(op) {}

Napi::Promise PromiseWorker::Start() {
  Napi::Promise promise = deferred_.Promise();
  Queue();
  return promise;
}

void PromiseWorker::Execute() {
  try {
    Run();
  } catch (const SysError& e) {
    err_ = e.err();
    SetError(e.what());
  } catch (const std::exception& e) {
    err_ = 0;
    SetError(e.what());
  }
}

void PromiseWorker::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  try {
    deferred_.Resolve(Result(env));
  } catch (const Napi::Error& e) {
    OnError(e);
  }
}

void PromiseWorker::OnError(const Napi::Error& e) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  Napi::Object err = e.Value();
  err.Set("errno", Napi::Number::New(env, err_));
  err.Set("op", Napi::String::New(env, op_));
  deferred_.Reject(err);
}

}  // namespace tabby
