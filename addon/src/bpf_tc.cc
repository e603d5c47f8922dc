#include "bpf_tc.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "args.h"
#include "bpf_objects.h"
#include "netlink_attr.h"
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

// The id of the program in the filter at priority:handle, 0 when there is no such filter.
uint32_t QueryProgId(int ifindex, bpf_tc_attach_point point, uint32_t priority, uint32_t handle,
                     const std::string& ifname) {
  bpf_tc_hook hook = MakeHook(ifindex, point);
  bpf_tc_opts opts = MakeOpts(0, priority, handle);
  int ret = bpf_tc_query(&hook, &opts);
  // ENOENT: no such filter; EINVAL: no clsact qdisc on the interface.
  if (ret == -ENOENT || ret == -EINVAL) return 0;
  CheckLibbpf(ret, "query filter " + std::to_string(priority) + ":" + std::to_string(handle) + " on " + ifname);
  return opts.prog_id;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

class AttachWorker : public PromiseWorker {
 public:
  AttachWorker(Napi::Env env, uint32_t obj, std::string program, std::string ifname, bpf_tc_attach_point point,
               std::string netns, uint32_t priority, uint32_t handle, bool replace)
      : PromiseWorker(env, "tc-attach"), obj_(obj), program_(std::move(program)), ifname_(std::move(ifname)),
        point_(point), netns_(std::move(netns)), priority_(priority), handle_(handle), replace_(replace) {}

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
    // REPLACE swaps the program of an existing priority:handle filter in one step
    // (no moment without a filter), or creates it.
    if (replace_) opts.flags = BPF_TC_F_REPLACE;
    CheckLibbpf(bpf_tc_attach(&hook, &opts), "attach " + program_ + " to " + ifname_);
    priority_ = opts.priority;
    handle_ = opts.handle;
    prog_id_ = opts.prog_id;
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("ifindex", ifindex_);
    o.Set("priority", priority_);
    o.Set("handle", handle_);
    o.Set("progId", prog_id_);
    return o;
  }

 private:
  uint32_t obj_;
  std::string program_, ifname_;
  bpf_tc_attach_point point_;
  std::string netns_;
  uint32_t priority_, handle_;
  bool replace_;
  int ifindex_ = 0;
  uint32_t prog_id_ = 0;
};

class DetachWorker : public PromiseWorker {
 public:
  DetachWorker(Napi::Env env, std::string ifname, bpf_tc_attach_point point, std::string netns, uint32_t priority,
               uint32_t handle, uint32_t prog_id)
      : PromiseWorker(env, "tc-detach"), ifname_(std::move(ifname)), point_(point), netns_(std::move(netns)),
        priority_(priority), handle_(handle), prog_id_(prog_id) {}

 protected:
  void Run() override {
    NetnsGuard in_ns(netns_);
    int ifindex = IfIndex(ifname_);
    // With a program id: leave the filter alone if another program has taken it over.
    if (prog_id_ != 0 && QueryProgId(ifindex, point_, priority_, handle_, ifname_) != prog_id_) return;
    bpf_tc_hook hook = MakeHook(ifindex, point_);
    bpf_tc_opts opts = MakeOpts(0, priority_, handle_);
    CheckLibbpf(bpf_tc_detach(&hook, &opts), "detach filter " + std::to_string(priority_) + ":" +
                                                 std::to_string(handle_) + " from " + ifname_);
    detached_ = true;
  }

  Napi::Value Result(Napi::Env env) override { return Napi::Boolean::New(env, detached_); }

 private:
  std::string ifname_;
  bpf_tc_attach_point point_;
  std::string netns_;
  uint32_t priority_, handle_, prog_id_;
  bool detached_ = false;
};

struct MapDump {
  std::string name;
  uint32_t id = 0;
  std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> entries;
};

// Reads the named maps of the program behind a filter, e.g. a previous agent's state.
class QueryWorker : public PromiseWorker {
 public:
  QueryWorker(Napi::Env env, std::string ifname, bpf_tc_attach_point point, std::string netns, uint32_t priority,
              uint32_t handle, std::vector<std::string> maps)
      : PromiseWorker(env, "tc-query"), ifname_(std::move(ifname)), point_(point), netns_(std::move(netns)),
        priority_(priority), handle_(handle), wanted_(std::move(maps)) {}

 protected:
  void Run() override {
    {
      NetnsGuard in_ns(netns_);
      prog_id_ = QueryProgId(IfIndex(ifname_), point_, priority_, handle_, ifname_);
    }
    if (prog_id_ == 0) return;
    // BPF ids are global, not per namespace.
    Fd prog(bpf_prog_get_fd_by_id(prog_id_));
    if (prog.get() < 0) {
      if (errno == ENOENT) {  // detached and freed since the query
        prog_id_ = 0;
        return;
      }
      ThrowSys(errno, "open program " + std::to_string(prog_id_));
    }
    std::vector<uint32_t> map_ids(64);
    bpf_prog_info info;
    std::memset(&info, 0, sizeof(info));
    info.nr_map_ids = static_cast<uint32_t>(map_ids.size());
    info.map_ids = reinterpret_cast<uint64_t>(map_ids.data());
    uint32_t len = sizeof(info);
    CheckLibbpf(bpf_obj_get_info_by_fd(prog.get(), &info, &len), "program info " + std::to_string(prog_id_));
    prog_name_ = info.name;
    map_ids.resize(std::min<size_t>(info.nr_map_ids, map_ids.size()));
    for (uint32_t id : map_ids) {
      Fd map(bpf_map_get_fd_by_id(id));
      if (map.get() < 0) continue;
      bpf_map_info mi;
      std::memset(&mi, 0, sizeof(mi));
      uint32_t mlen = sizeof(mi);
      if (bpf_obj_get_info_by_fd(map.get(), &mi, &mlen) < 0) continue;
      for (const std::string& want : wanted_) {
        if (want != mi.name) continue;
        MapDump d;
        d.name = want;
        d.id = id;
        Dump(map.get(), mi, &d);
        maps_.push_back(std::move(d));
      }
    }
  }

  Napi::Value Result(Napi::Env env) override {
    if (prog_id_ == 0) return env.Null();
    Napi::Object o = Napi::Object::New(env);
    o.Set("progId", prog_id_);
    o.Set("progName", prog_name_);
    Napi::Object maps = Napi::Object::New(env);
    for (const MapDump& d : maps_) {
      Napi::Array arr = Napi::Array::New(env, d.entries.size());
      for (size_t i = 0; i < d.entries.size(); ++i) {
        Napi::Object e = Napi::Object::New(env);
        e.Set("key", Napi::Buffer<uint8_t>::Copy(env, d.entries[i].first.data(), d.entries[i].first.size()));
        e.Set("value", Napi::Buffer<uint8_t>::Copy(env, d.entries[i].second.data(), d.entries[i].second.size()));
        arr.Set(i, e);
      }
      maps.Set(d.name, arr);
    }
    o.Set("maps", maps);
    return o;
  }

 private:
  // Per-CPU maps are not read here: their values are per CPU and not worth carrying over.
  static void Dump(int fd, const bpf_map_info& mi, MapDump* d) {
    bpf_map_type t = static_cast<bpf_map_type>(mi.type);
    if (t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_LRU_PERCPU_HASH) return;
    std::vector<uint8_t> key(mi.key_size), next(mi.key_size), value(mi.value_size);
    const void* prev = nullptr;
    for (size_t n = 0; n < mi.max_entries + 1u; ++n) {
      if (bpf_map_get_next_key(fd, prev, next.data()) < 0) {
        if (errno == ENOENT) return;
        ThrowSys(errno, std::string("iterate map ") + mi.name);
      }
      key = next;
      prev = key.data();
      // Deleted between the two calls: skip it.
      if (bpf_map_lookup_elem(fd, key.data(), value.data()) < 0) continue;
      d->entries.emplace_back(key, value);
    }
  }

  std::string ifname_;
  bpf_tc_attach_point point_;
  std::string netns_;
  uint32_t priority_, handle_;
  std::vector<std::string> wanted_;
  uint32_t prog_id_ = 0;
  std::string prog_name_;
  std::vector<MapDump> maps_;
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
                             OptU32(o, "priority").value_or(0), OptU32(o, "filterHandle").value_or(0),
                             OptBool(o, "replace", false));
  return w->Start();
}

Napi::Value TcDetach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = ArgObject(info, 0);
  auto priority = OptU32(o, "priority");
  auto handle = OptU32(o, "handle");
  if (!priority || !handle) throw Napi::TypeError::New(env, "priority and handle are required");
  auto* w = new DetachWorker(env, ReqString(o, "ifname"), AttachPoint(env, ReqString(o, "direction")),
                             OptString(o, "netns"), *priority, *handle, OptU32(o, "progId").value_or(0));
  return w->Start();
}

Napi::Value TcQuery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = ArgObject(info, 0);
  auto priority = OptU32(o, "priority");
  auto handle = OptU32(o, "handle");
  if (!priority || !handle) throw Napi::TypeError::New(env, "priority and handle are required");
  std::vector<std::string> maps;
  Napi::Value mv = o.Get("maps");
  if (mv.IsArray()) {
    Napi::Array arr = mv.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value v = arr.Get(i);
      if (!v.IsString()) throw Napi::TypeError::New(env, "maps must be strings");
      maps.push_back(v.As<Napi::String>().Utf8Value());
    }
  }
  auto* w = new QueryWorker(env, ReqString(o, "ifname"), AttachPoint(env, ReqString(o, "direction")),
                            OptString(o, "netns"), *priority, *handle, std::move(maps));
  return w->Start();
}

Napi::Value TcHookDestroy(const Napi::CallbackInfo& info) {
  Napi::Object o = ArgObject(info, 0);
  auto* w = new HookDestroyWorker(info.Env(), ReqString(o, "ifname"), OptString(o, "netns"));
  return w->Start();
}

}  // namespace tabby
