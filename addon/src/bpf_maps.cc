#include "bpf_maps.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <string>
#include <vector>

#include "args.h"
#include "bpf_objects.h"
#include "sys_error.h"

namespace tabby {

namespace {

bool IsPerCpu(bpf_map_type t) {
  return t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
         t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

// What userspace must pass or expect for one map, resolved on the worker thread.
struct MapShape {
  const bpf_map* map;
  bool per_cpu;
  uint32_t key_size, value_size, stride, cpus;
  size_t user_value_size;  // per-CPU: one 8-byte-aligned slot per possible CPU
};

MapShape Resolve(const ObjectRef& ref, const std::string& name, size_t key_len) {
  const bpf_map* map = bpf_object__find_map_by_name(ref->obj, name.c_str());
  if (!map) throw SysError(ENOENT, "no map named " + name + " in " + ref->path);
  MapShape s{map, IsPerCpu(bpf_map__type(map)), bpf_map__key_size(map), bpf_map__value_size(map), 0, 1, 0};
  if (key_len != s.key_size)
    throw SysError(EINVAL, "map " + name + " has " + std::to_string(s.key_size) + "-byte keys, got " +
                               std::to_string(key_len));
  s.stride = s.value_size;
  if (s.per_cpu) {
    int n = libbpf_num_possible_cpus();
    if (n < 0) ThrowSys(-n, "possible CPUs");
    s.cpus = static_cast<uint32_t>(n);
    s.stride = (s.value_size + 7) & ~7u;
  }
  s.user_value_size = static_cast<size_t>(s.stride) * s.cpus;
  return s;
}

class LookupWorker : public PromiseWorker {
 public:
  LookupWorker(Napi::Env env, uint32_t handle, std::string map, std::vector<uint8_t> key)
      : PromiseWorker(env, "map-lookup"), handle_(handle), map_(std::move(map)), key_(std::move(key)) {}

 protected:
  void Run() override {
    ObjectRef ref = FindObject(handle_);
    shape_ = Resolve(ref, map_, key_.size());
    value_.resize(shape_.user_value_size);
    int ret = bpf_map__lookup_elem(shape_.map, key_.data(), key_.size(), value_.data(), value_.size(), 0);
    if (ret == -ENOENT) {
      found_ = false;
      return;
    }
    CheckLibbpf(ret, "lookup in " + map_);
    found_ = true;
  }

  Napi::Value Result(Napi::Env env) override {
    if (!found_) return env.Null();
    Napi::Object o = Napi::Object::New(env);
    o.Set("value", Napi::Buffer<uint8_t>::Copy(env, value_.data(), value_.size()));
    o.Set("perCpu", shape_.per_cpu);
    o.Set("cpus", shape_.cpus);
    o.Set("valueSize", shape_.value_size);
    o.Set("stride", shape_.stride);
    return o;
  }

 private:
  uint32_t handle_;
  std::string map_;
  std::vector<uint8_t> key_;
  MapShape shape_{};
  std::vector<uint8_t> value_;
  bool found_ = false;
};

class UpdateWorker : public PromiseWorker {
 public:
  UpdateWorker(Napi::Env env, uint32_t handle, std::string map, std::vector<uint8_t> key, std::vector<uint8_t> value,
               uint64_t flags)
      : PromiseWorker(env, "map-update"), handle_(handle), map_(std::move(map)), key_(std::move(key)),
        value_(std::move(value)), flags_(flags) {}

 protected:
  void Run() override {
    ObjectRef ref = FindObject(handle_);
    MapShape s = Resolve(ref, map_, key_.size());
    if (value_.size() != s.user_value_size)
      throw SysError(EINVAL, "map " + map_ + " needs " + std::to_string(s.user_value_size) + "-byte values" +
                                 (s.per_cpu ? " (" + std::to_string(s.cpus) + " CPUs x " +
                                                  std::to_string(s.stride) + ")"
                                            : std::string()) +
                                 ", got " + std::to_string(value_.size()));
    CheckLibbpf(bpf_map__update_elem(s.map, key_.data(), key_.size(), value_.data(), value_.size(), flags_),
                "update in " + map_);
  }

  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  uint32_t handle_;
  std::string map_;
  std::vector<uint8_t> key_, value_;
  uint64_t flags_;
};

class DeleteWorker : public PromiseWorker {
 public:
  DeleteWorker(Napi::Env env, uint32_t handle, std::string map, std::vector<uint8_t> key)
      : PromiseWorker(env, "map-delete"), handle_(handle), map_(std::move(map)), key_(std::move(key)) {}

 protected:
  void Run() override {
    ObjectRef ref = FindObject(handle_);
    MapShape s = Resolve(ref, map_, key_.size());
    int ret = bpf_map__delete_elem(s.map, key_.data(), key_.size(), 0);
    if (ret == -ENOENT) return;
    CheckLibbpf(ret, "delete in " + map_);
    deleted_ = true;
  }

  Napi::Value Result(Napi::Env env) override { return Napi::Boolean::New(env, deleted_); }

 private:
  uint32_t handle_;
  std::string map_;
  std::vector<uint8_t> key_;
  bool deleted_ = false;
};

class KeysWorker : public PromiseWorker {
 public:
  KeysWorker(Napi::Env env, uint32_t handle, std::string map)
      : PromiseWorker(env, "map-keys"), handle_(handle), map_(std::move(map)) {}

 protected:
  void Run() override {
    ObjectRef ref = FindObject(handle_);
    const bpf_map* map = bpf_object__find_map_by_name(ref->obj, map_.c_str());
    if (!map) throw SysError(ENOENT, "no map named " + map_ + " in " + ref->path);
    size_t ks = bpf_map__key_size(map);
    std::vector<uint8_t> key(ks), next(ks);
    const void* prev = nullptr;
    // Bounded: a map changing under the walk may restart it, but never for ever.
    for (size_t n = 0; n <= 2 * static_cast<size_t>(bpf_map__max_entries(map)); ++n) {
      int ret = bpf_map__get_next_key(map, prev, next.data(), ks);
      if (ret == -ENOENT) return;
      CheckLibbpf(ret, "iterate " + map_);
      key = next;
      prev = key.data();
      keys_.push_back(key);
    }
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, keys_.size());
    for (size_t i = 0; i < keys_.size(); ++i) out.Set(i, Napi::Buffer<uint8_t>::Copy(env, keys_[i].data(), keys_[i].size()));
    return out;
  }

 private:
  uint32_t handle_;
  std::string map_;
  std::vector<std::vector<uint8_t>> keys_;
};

}  // namespace

Napi::Value MapKeys(const Napi::CallbackInfo& info) {
  auto* w = new KeysWorker(info.Env(), ArgU32(info, 0), ArgString(info, 1));
  return w->Start();
}

Napi::Value MapLookup(const Napi::CallbackInfo& info) {
  auto* w = new LookupWorker(info.Env(), ArgU32(info, 0), ArgString(info, 1), ArgBytes(info, 2));
  return w->Start();
}

Napi::Value MapUpdate(const Napi::CallbackInfo& info) {
  uint32_t flags = info.Length() > 4 && !info[4].IsUndefined() ? ArgU32(info, 4) : 0;
  auto* w = new UpdateWorker(info.Env(), ArgU32(info, 0), ArgString(info, 1), ArgBytes(info, 2), ArgBytes(info, 3),
                             flags);
  return w->Start();
}

Napi::Value MapDelete(const Napi::CallbackInfo& info) {
  auto* w = new DeleteWorker(info.Env(), ArgU32(info, 0), ArgString(info, 1), ArgBytes(info, 2));
  return w->Start();
}

}  // namespace tabby
