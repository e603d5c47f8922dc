#include "bpf_tc.h"

#include <bpf/libbpf.h>
#include <net/if.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "args.h"
#include "bpf_objects.h"
#include "netns.h"
#include "sys_error.h"

namespace tabby {

namespace {

// libbpf opens its own netlink socket inside each tc call, so the whole call,
// including the name lookup, has to run inside the netns.
int IfIndex(const std::string& ifname) {
  unsigned idx = if_nametoindex(ifname.c_str());
  if (idx == 0) ThrowSys(errno, "interface " + ifname);
  return static_cast<int>(idx);
}

// Zeroed with memset: libbpf rejects opts whose bytes past the known fields are not zero.
bpf_tc_hook MakeHook(int ifindex, int point) {
  bpf_tc_hook hook;
  std::memset(&hook, 0, sizeof(hook));
  hook.sz = sizeof(hook);
  hook.ifindex = ifindex;
  hook.attach_point = static_cast<bpf_tc_attach_point>(point);
  return hook;
}

bpf_tc_opts MakeOpts(int prog_fd, uint32_t priority, uint32_t handle) {
  bpf_tc_opts opts;
  std::memset(&opts, 0, sizeof(opts));
  opts.sz = sizeof(opts);
  opts.prog_fd = prog_fd;
  opts.priority = priority;
  opts.handle = handle;
  return opts;
}

bpf_tc_attach_point AttachPoint(Napi::Env env, const std::string& direction) {
  if (direction == "ingress") return BPF_TC_INGRESS;
  if (direction == "egress") return BPF_TC_EGRESS;
  throw Napi::TypeError::New(env, "direction must be \"ingress\" or \"egress\"");
}

class AttachWorker : public PromiseWorker {
 public:
  AttachWorker(Napi::Env env, uint32_t obj, std::string program, std::string ifname, bpf_tc_attach_point point,
               std::string netns, uint32_t priority, uint32_t handle)
      : PromiseWorker(env, "tc-attach"), obj_(obj), program_(std::move(program)), ifname_(std::move(ifname)),
        point_(point), netns_(std::move(netns)), priority_(priority), handle_(handle) {}

 protected:
  void Run() override {
    ObjectRef ref = FindObject(obj_);
    bpf_program* prog = bpf_object__find_program_by_name(ref->obj, program_.c_str());
    if (!prog) throw SysError(ENOENT, "no program named " + program_ + " in " + ref->path);
    int prog_fd = bpf_program__fd(prog);
    if (prog_fd < 0) ThrowSys(-prog_fd, "program " + program_);

    NetnsGuard in_ns(netns_);
    ifindex_ = IfIndex(ifname_);
    bpf_tc_hook hook = MakeHook(ifindex_, point_);
    int ret = bpf_tc_hook_create(&hook);
    // EEXIST: the clsact qdisc is already there (other direction, or another program).
    if (ret < 0 && ret != -EEXIST) ThrowSys(-ret, "create clsact on " + ifname_);
    bpf_tc_opts opts = MakeOpts(prog_fd, priority_, handle_);
    CheckLibbpf(bpf_tc_attach(&hook, &opts), "attach " + program_ + " to " + ifname_);
    priority_ = opts.priority;
    handle_ = opts.handle;
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("ifindex", ifindex_);
    o.Set("priority", priority_);
    o.Set("handle", handle_);
    return o;
  }

 private:
  uint32_t obj_;
  std::string program_, ifname_;
  bpf_tc_attach_point point_;
  std::string netns_;
  uint32_t priority_, handle_;
  int ifindex_ = 0;
};

class DetachWorker : public PromiseWorker {
 public:
  DetachWorker(Napi::Env env, std::string ifname, bpf_tc_attach_point point, std::string netns, uint32_t priority,
               uint32_t handle)
      : PromiseWorker(env, "tc-detach"), ifname_(std::move(ifname)), point_(point), netns_(std::move(netns)),
        priority_(priority), handle_(handle) {}

 protected:
  void Run() override {
    NetnsGuard in_ns(netns_);
    bpf_tc_hook hook = MakeHook(IfIndex(ifname_), point_);
    bpf_tc_opts opts = MakeOpts(0, priority_, handle_);
    CheckLibbpf(bpf_tc_detach(&hook, &opts), "detach filter " + std::to_string(priority_) + ":" +
                                                 std::to_string(handle_) + " from " + ifname_);
  }

  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::string ifname_;
  bpf_tc_attach_point point_;
  std::string netns_;
  uint32_t priority_, handle_;
};

class HookDestroyWorker : public PromiseWorker {
 public:
  HookDestroyWorker(Napi::Env env, std::string ifname, std::string netns)
      : PromiseWorker(env, "tc-hook-destroy"), ifname_(std::move(ifname)), netns_(std::move(netns)) {}

 protected:
  void Run() override {
    NetnsGuard in_ns(netns_);
    // Both points together: libbpf then deletes the clsact qdisc itself.
    bpf_tc_hook hook = MakeHook(IfIndex(ifname_), BPF_TC_INGRESS | BPF_TC_EGRESS);
    CheckLibbpf(bpf_tc_hook_destroy(&hook), "delete clsact on " + ifname_);
  }

  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::string ifname_, netns_;
};

}  // namespace

Napi::Value TcAttach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = ArgObject(info, 0);
  auto obj = OptU32(o, "handle");
  if (!obj) throw Napi::TypeError::New(env, "handle is required");
  auto* w = new AttachWorker(env, *obj, ReqString(o, "program"), ReqString(o, "ifname"),
                             AttachPoint(env, ReqString(o, "direction")), OptString(o, "netns"),
                             OptU32(o, "priority").value_or(0), OptU32(o, "filterHandle").value_or(0));
  return w->Start();
}

Napi::Value TcDetach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = ArgObject(info, 0);
  auto priority = OptU32(o, "priority");
  auto handle = OptU32(o, "handle");
  if (!priority || !handle) throw Napi::TypeError::New(env, "priority and handle are required");
  auto* w = new DetachWorker(env, ReqString(o, "ifname"), AttachPoint(env, ReqString(o, "direction")),
                             OptString(o, "netns"), *priority, *handle);
  return w->Start();
}

Napi::Value TcHookDestroy(const Napi::CallbackInfo& info) {
  Napi::Object o = ArgObject(info, 0);
  auto* w = new HookDestroyWorker(info.Env(), ReqString(o, "ifname"), OptString(o, "netns"));
  return w->Start();
}

}  // namespace tabby
