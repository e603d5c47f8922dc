// Loaded BPF objects live in a registry keyed by a numeric handle that JS holds.
// Workers take a shared reference for the duration of a call, so a concurrent
// bpfObjectClose() cannot free an object another call is still using.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>

struct bpf_object;

namespace tabby {

struct LoadedObject {
  bpf_object* obj;
  std::string path;
  explicit LoadedObject(bpf_object* o, std::string p) : obj(o), path(std::move(p)) {}
  ~LoadedObject();
  LoadedObject(const LoadedObject&) = delete;
  LoadedObject& operator=(const LoadedObject&) = delete;
};

using ObjectRef = std::shared_ptr<LoadedObject>;

// Throws SysError(EBADF) for an unknown handle. Safe from any thread.
ObjectRef FindObject(uint32_t handle);

// Routes libbpf's log into a per-thread buffer while a load runs; call once.
void InstallLibbpfLogger();

// bpfObjectLoad(path, {globals?, pinDir?}) -> Promise<number>; with pinDir, maps are
// reused from (or pinned to) pinDir/<map name>.
Napi::Value BpfObjectLoad(const Napi::CallbackInfo& info);
// bpfObjectClose(handle) -> Promise<void>
Napi::Value BpfObjectClose(const Napi::CallbackInfo& info);
// bpfObjectPinPrograms(handle, dir) -> Promise<void>: dir/<program name>, replaced.
Napi::Value BpfObjectPinPrograms(const Napi::CallbackInfo& info);

}  // namespace tabby
