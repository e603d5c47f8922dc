#include "bpf_objects.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "args.h"
#include "sys_error.h"

namespace tabby {

namespace {

std::mutex g_mu;
std::map<uint32_t, ObjectRef> g_objects;
uint32_t g_next_handle = 1;

// libbpf's print callback is process-global; each loading thread points this at
// its own buffer so concurrent loads do not mix their logs.
struct LogBuffer {
  std::string text;
  bool cut = false;
};
thread_local LogBuffer* t_log = nullptr;
constexpr size_t kMaxLog = 16384;

int LibbpfPrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (!t_log || level == LIBBPF_DEBUG) return 0;
  // One call can carry the whole verifier log, so size the buffer first.
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n <= 0) return n;
  std::string line(static_cast<size_t>(n) + 1, '\0');
  vsnprintf(line.data(), line.size(), fmt, args);
  line.resize(static_cast<size_t>(n));
  t_log->text.append(line);
  // Keep the tail: the verifier's last lines say why it refused.
  if (t_log->text.size() > kMaxLog) {
    t_log->text.erase(0, t_log->text.size() - kMaxLog);
    t_log->cut = true;
  }
  return n;
}

class LogCapture {
 public:
  LogCapture() { t_log = &buf_; }
  ~LogCapture() { t_log = nullptr; }
  // Appends what libbpf said to a failure message.
  std::string Annotate(const std::string& msg) const {
    if (buf_.text.empty()) return msg;
    return msg + "\n" + (buf_.cut ? "[earlier libbpf output cut]\n" : "") + buf_.text;
  }

 private:
  LogBuffer buf_;
};

// A global's new value, copied from JS: an integer (number, bigint, boolean) or bytes.
struct GlobalValue {
  std::string name;
  bool is_bytes = false;
  std::vector<uint8_t> bytes;
  int64_t sval = 0;
  uint64_t uval = 0;
  bool negative = false;
};

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<uint8_t> Encode(const GlobalValue& g, uint32_t size) {
  if (g.is_bytes) {
    if (g.bytes.size() != size)
      throw SysError(EINVAL, "global " + g.name + " is " + std::to_string(size) + " bytes, value has " +
                                 std::to_string(g.bytes.size()));
    return g.bytes;
  }
  if (size != 1 && size != 2 && size != 4 && size != 8)
    throw SysError(EINVAL, "global " + g.name + " is " + std::to_string(size) + " bytes: pass a Buffer");
  unsigned bits = size * 8;
  bool fits = g.negative ? (bits == 64 || g.sval >= -(int64_t{1} << (bits - 1)))
                         : (bits == 64 || g.uval < (uint64_t{1} << bits));
  if (!fits) throw SysError(ERANGE, "global " + g.name + " does not fit in " + std::to_string(size) + " bytes");
  uint64_t raw = g.negative ? static_cast<uint64_t>(g.sval) : g.uval;
  std::vector<uint8_t> out(size);
  // Host byte order, as the program reads it.
  switch (size) {
    case 1: { uint8_t v = static_cast<uint8_t>(raw); std::memcpy(out.data(), &v, 1); break; }
    case 2: { uint16_t v = static_cast<uint16_t>(raw); std::memcpy(out.data(), &v, 2); break; }
    case 4: { uint32_t v = static_cast<uint32_t>(raw); std::memcpy(out.data(), &v, 4); break; }
    default: std::memcpy(out.data(), &raw, 8); break;
  }
  return out;
}

// Writes each global into the initial value of its data section map (.rodata, .data,
// .bss), found through the object's BTF; must run between open and load.
void ApplyGlobals(bpf_object* obj, const std::vector<GlobalValue>& globals) {
  if (globals.empty()) return;
  const btf* b = bpf_object__btf(obj);
  if (!b) throw SysError(ENOENT, "object has no BTF, cannot set globals");
  std::vector<bool> done(globals.size(), false);
  bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    if (!bpf_map__is_internal(map)) continue;
    std::string map_name = bpf_map__name(map);
    // Internal maps are named "<object prefix><section>", e.g. "counter.rodata".
    const btf_type* sec = nullptr;
    for (const char* name : {".rodata", ".data", ".bss"}) {
      if (!EndsWith(map_name, name)) continue;
      int id = btf__find_by_name_kind(b, name, BTF_KIND_DATASEC);
      if (id > 0) sec = btf__type_by_id(b, id);
    }
    if (!sec) continue;
    size_t size = 0;
    const void* init = bpf_map__initial_value(map, &size);
    if (!init) continue;
    std::vector<uint8_t> data(static_cast<const uint8_t*>(init), static_cast<const uint8_t*>(init) + size);
    bool changed = false;
    const btf_var_secinfo* vsi = btf_var_secinfos(sec);
    for (unsigned i = 0; i < btf_vlen(sec); ++i, ++vsi) {
      const btf_type* var = btf__type_by_id(b, vsi->type);
      const char* var_name = btf__name_by_offset(b, var->name_off);
      for (size_t g = 0; g < globals.size(); ++g) {
        if (done[g] || globals[g].name != var_name) continue;
        if (static_cast<size_t>(vsi->offset) + vsi->size > data.size())
          throw SysError(EINVAL, "global " + globals[g].name + " lies outside its section");
        std::vector<uint8_t> bytes = Encode(globals[g], vsi->size);
        std::memcpy(data.data() + vsi->offset, bytes.data(), bytes.size());
        done[g] = changed = true;
      }
    }
    if (changed) CheckLibbpf(bpf_map__set_initial_value(map, data.data(), data.size()), "set " + map_name);
  }
  for (size_t g = 0; g < globals.size(); ++g)
    if (!done[g]) throw SysError(ENOENT, "no global variable named " + globals[g].name);
}

// Every map of the object (not the data sections) gets a pin path under `dir`: at load
// libbpf reuses a compatible map already pinned there, or creates the map and pins it.
void SetPinPaths(bpf_object* obj, const std::string& dir) {
  if (dir.empty()) return;
  bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    if (bpf_map__is_internal(map)) continue;
    std::string pin = dir + "/" + bpf_map__name(map);
    CheckLibbpf(bpf_map__set_pin_path(map, pin.c_str()), "pin path " + pin);
  }
}

class LoadWorker : public PromiseWorker {
 public:
  LoadWorker(Napi::Env env, std::string path, std::vector<GlobalValue> globals, std::string pin_dir)
      : PromiseWorker(env, "bpf-object-load"), path_(std::move(path)), globals_(std::move(globals)), pin_dir_(std::move(pin_dir)) {}

 protected:
  void Run() override {
    LogCapture log;
    ObjectRef obj;
    try {
      obj = OpenAndLoad();
    } catch (const SysError& e) {
      throw SysError(e.err(), log.Annotate(e.what()));
    }
    std::lock_guard<std::mutex> lock(g_mu);
    handle_ = g_next_handle++;
    g_objects.emplace(handle_, std::move(obj));
  }

  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, handle_); }

 private:
  // libbpf 1.x: open, then the globals go into the data sections, then load.
  ObjectRef OpenAndLoad() {
    bpf_object* raw = bpf_object__open_file(path_.c_str(), nullptr);
    if (!raw) ThrowLibbpf(errno, "open " + path_);
    auto obj = std::make_shared<LoadedObject>(raw, path_);
    try {
      ApplyGlobals(raw, globals_);
    } catch (const SysError& e) {
      throw SysError(e.err(), path_ + ": " + e.what());
    }
    SetPinPaths(raw, pin_dir_);
    CheckLibbpf(bpf_object__load(raw), "load " + path_);
    return obj;
  }

  std::string path_;
  std::vector<GlobalValue> globals_;
  std::string pin_dir_;
  uint32_t handle_ = 0;
};

class CloseWorker : public PromiseWorker {
 public:
  CloseWorker(Napi::Env env, uint32_t handle) : PromiseWorker(env, "bpf-object-close"), handle_(handle) {}

 protected:
  void Run() override {
    ObjectRef ref;
    {
      std::lock_guard<std::mutex> lock(g_mu);
      auto it = g_objects.find(handle_);
      if (it == g_objects.end()) throw SysError(EBADF, "no BPF object with handle " + std::to_string(handle_));
      ref = std::move(it->second);
      g_objects.erase(it);
    }
    // The object is closed here unless a running map call still holds it.
  }

  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  uint32_t handle_;
};

// Pins every program of a loaded object as DIR/<program name>, replacing an older pin.
class PinProgramsWorker : public PromiseWorker {
 public:
  PinProgramsWorker(Napi::Env env, uint32_t handle, std::string dir)
      : PromiseWorker(env, "bpf-object-pin-programs"), handle_(handle), dir_(std::move(dir)) {}

 protected:
  void Run() override {
    ObjectRef ref = FindObject(handle_);
    bpf_program* prog;
    bpf_object__for_each_program(prog, ref->obj) {
      std::string pin = dir_ + "/" + bpf_program__name(prog);
      if (unlink(pin.c_str()) != 0 && errno != ENOENT) throw SysError(errno, "unlink " + pin);
      CheckLibbpf(bpf_program__pin(prog, pin.c_str()), "pin " + pin);
    }
  }

  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  uint32_t handle_;
  std::string dir_;
};

std::string ReadPinDir(Napi::Env env, const Napi::Value& opts_value) {
  if (!opts_value.IsObject()) return "";
  Napi::Value v = opts_value.As<Napi::Object>().Get("pinDir");
  if (v.IsUndefined() || v.IsNull()) return "";
  if (!v.IsString()) throw Napi::TypeError::New(env, "pinDir must be a string");
  return v.As<Napi::String>().Utf8Value();
}

std::vector<GlobalValue> ReadGlobals(Napi::Env env, const Napi::Value& opts_value) {
  std::vector<GlobalValue> out;
  if (!opts_value.IsObject()) return out;
  Napi::Value gv = opts_value.As<Napi::Object>().Get("globals");
  if (gv.IsUndefined() || gv.IsNull()) return out;
  if (!gv.IsObject()) throw Napi::TypeError::New(env, "globals must be an object");
  Napi::Object globals = gv.As<Napi::Object>();
  Napi::Array keys = globals.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    GlobalValue g;
    g.name = keys.Get(i).As<Napi::String>().Utf8Value();
    Napi::Value v = globals.Get(g.name);
    if (v.IsBuffer()) {
      auto buf = v.As<Napi::Buffer<uint8_t>>();
      g.is_bytes = true;
      g.bytes.assign(buf.Data(), buf.Data() + buf.Length());
    } else if (v.IsBoolean()) {
      g.uval = v.As<Napi::Boolean>().Value() ? 1 : 0;
    } else if (v.IsBigInt()) {
      bool lossless = false;
      Napi::BigInt bi = v.As<Napi::BigInt>();
      int64_t s = bi.Int64Value(&lossless);
      if (lossless && s < 0) {
        g.negative = true;
        g.sval = s;
      } else {
        g.uval = bi.Uint64Value(&lossless);
        if (!lossless) throw Napi::RangeError::New(env, "global " + g.name + " does not fit in 64 bits");
      }
    } else if (v.IsNumber()) {
      double d = v.As<Napi::Number>().DoubleValue();
      if (d != static_cast<double>(static_cast<int64_t>(d)) || d > 9007199254740991.0 || d < -9007199254740991.0)
        throw Napi::RangeError::New(env, "global " + g.name + " must be a safe integer");
      if (d < 0) {
        g.negative = true;
        g.sval = static_cast<int64_t>(d);
      } else {
        g.uval = static_cast<uint64_t>(d);
      }
    } else {
      throw Napi::TypeError::New(env, "global " + g.name + " must be a number, bigint, boolean or Buffer");
    }
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace

LoadedObject::~LoadedObject() { bpf_object__close(obj); }

ObjectRef FindObject(uint32_t handle) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_objects.find(handle);
  if (it == g_objects.end()) throw SysError(EBADF, "no BPF object with handle " + std::to_string(handle));
  return it->second;
}

void InstallLibbpfLogger() { libbpf_set_print(LibbpfPrint); }

Napi::Value BpfObjectLoad(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0);
  std::vector<GlobalValue> globals = ReadGlobals(info.Env(), info[1]);
  std::string pin_dir = ReadPinDir(info.Env(), info[1]);
  auto* w = new LoadWorker(info.Env(), std::move(path), std::move(globals), std::move(pin_dir));
  return w->Start();
}

Napi::Value BpfObjectPinPrograms(const Napi::CallbackInfo& info) {
  auto* w = new PinProgramsWorker(info.Env(), ArgU32(info, 0), ArgString(info, 1));
  return w->Start();
}

Napi::Value BpfObjectClose(const Napi::CallbackInfo& info) {
  auto* w = new CloseWorker(info.Env(), ArgU32(info, 0));
  return w->Start();
}

}  // namespace tabby
