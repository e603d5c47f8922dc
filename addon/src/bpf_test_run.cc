#include "bpf_test_run.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <string>
#include <vector>

#include "args.h"
#include "bpf_objects.h"
#include "sys_error.h"

namespace tabby {

namespace {

class TestRunWorker : public PromiseWorker {
 public:
  TestRunWorker(Napi::Env env, uint32_t handle, std::string program, std::vector<uint8_t> data)
      : PromiseWorker(env, "bpf-prog-test-run"), handle_(handle), program_(std::move(program)), in_(std::move(data)) {}

 protected:
  void Run() override {
    ObjectRef ref = FindObject(handle_);
    const bpf_program* prog = bpf_object__find_program_by_name(ref->obj, program_.c_str());
    if (!prog) throw SysError(ENOENT, "no program named " + program_ + " in " + ref->path);
    // Room for what the program may add (encapsulation headers).
    out_.assign(in_.size() + 256, 0);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in_.data(), .data_out = out_.data(),
                .data_size_in = static_cast<__u32>(in_.size()), .data_size_out = static_cast<__u32>(out_.size()),
                .repeat = 1);
    int err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
    if (err) ThrowSys(errno, "test run of " + program_);
    out_.resize(opts.data_size_out);
    retval_ = opts.retval;
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("retval", Napi::Number::New(env, static_cast<double>(static_cast<int32_t>(retval_))));
    o.Set("data", Napi::Buffer<uint8_t>::Copy(env, out_.data(), out_.size()));
    return o;
  }

 private:
  uint32_t handle_;
  std::string program_;
  std::vector<uint8_t> in_, out_;
  uint32_t retval_ = 0;
};

}  // namespace

Napi::Value BpfProgTestRun(const Napi::CallbackInfo& info) {
  auto* w = new TestRunWorker(info.Env(), ArgU32(info, 0), ArgString(info, 1), ArgBytes(info, 2));
  return w->Start();
}

}  // namespace tabby
