// Copy-in helpers for the small batched calls (neighbours, FDB, addresses): the ops
// array becomes plain structs on the main thread, device names are resolved once
// per call on the threadpool.
#pragma once

#include <napi.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "args.h"
#include "netlink_batch.h"
#include "netlink_links.h"

namespace tabby {

// Distinct device names of a call, each op referring to one by position.
struct NameTable {
  std::vector<std::string> names;
  std::map<std::string, uint32_t> pos;
  std::vector<uint32_t> index;  // filled by Resolve

  uint32_t Add(const std::string& n) {
    auto it = pos.find(n);
    if (it != pos.end()) return it->second;
    uint32_t p = static_cast<uint32_t>(names.size());
    names.push_back(n);
    pos[n] = p;
    return p;
  }
  void Resolve(NlSocket* sock) { index = ResolveLinkNames(sock, names); }
  // 0 after failing item i when the device is missing.
  uint32_t Get(uint32_t p, size_t i, BatchResults* out) const {
    if (index[p] == 0) out->Fail(i, ENODEV, "no such device: " + names[p]);
    return index[p];
  }
};

inline Napi::Array ArgOps(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(info.Env(), "argument 0 must be an array");
  return info[0].As<Napi::Array>();
}

inline Napi::Object OpAt(const Napi::Array& ops, uint32_t i) {
  Napi::Value v = ops.Get(i);
  if (!v.IsObject()) throw Napi::TypeError::New(ops.Env(), "ops must be objects");
  return v.As<Napi::Object>();
}

// "add" -> 0, "replace" -> 1, "delete" -> 2, "append" -> 3.
inline uint8_t OpCode(const Napi::Object& o) {
  std::string op = ReqString(o, "op");
  if (op == "add") return 0;
  if (op == "replace") return 1;
  if (op == "delete") return 2;
  if (op == "append") return 3;
  throw Napi::TypeError::New(o.Env(), "op must be add, replace, delete or append");
}

inline uint16_t CreateFlags(uint8_t op) {
  if (op == 0) return NLM_F_CREATE | NLM_F_EXCL;
  if (op == 1) return NLM_F_CREATE | NLM_F_REPLACE;
  if (op == 3) return NLM_F_CREATE | NLM_F_APPEND;
  return 0;
}

}  // namespace tabby
