// Small helpers shared by the netlink request builders and parsers: addresses and
// MACs between text and bytes, and reading optional JS fields into plain values.
#pragma once

#include <arpa/inet.h>
#include <napi.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

namespace tabby {

struct IpAddr {
  int af = 0;  // AF_INET, AF_INET6, or 0 when absent
  uint8_t bytes[16] = {0};
  size_t len() const { return af == AF_INET ? 4 : 16; }
};

inline bool ParseIp(const std::string& text, IpAddr* out) {
  if (inet_pton(AF_INET, text.c_str(), out->bytes) == 1) {
    out->af = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), out->bytes) == 1) {
    out->af = AF_INET6;
    return true;
  }
  return false;
}

inline std::string FormatIp(int af, const void* addr) {
  char out[INET6_ADDRSTRLEN] = {0};
  if (!inet_ntop(af, addr, out, sizeof(out))) return std::string();
  return out;
}

inline bool ParseMac(const std::string& text, uint8_t out[6]) {
  unsigned v[6];
  char tail;
  if (std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
    return false;
  for (int i = 0; i < 6; ++i) out[i] = static_cast<uint8_t>(v[i]);
  return true;
}

inline std::string FormatMac(const uint8_t* p, size_t len) {
  std::string out;
  char b[4];
  for (size_t i = 0; i < len; ++i) {
    std::snprintf(b, sizeof(b), i ? ":%02x" : "%02x", p[i]);
    out += b;
  }
  return out;
}

// Main-thread parsing of a field TypeScript already validated.
inline IpAddr ReqIp(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  IpAddr a;
  if (!v.IsString() || !ParseIp(v.As<Napi::String>().Utf8Value(), &a))
    throw Napi::TypeError::New(o.Env(), std::string(key) + " must be an IP address");
  return a;
}

inline void ReqMac(const Napi::Object& o, const char* key, uint8_t out[6]) {
  Napi::Value v = o.Get(key);
  if (!v.IsString() || !ParseMac(v.As<Napi::String>().Utf8Value(), out))
    throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a MAC address");
}

inline bool OptBool(const Napi::Object& o, const char* key, bool dflt) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return dflt;
  if (!v.IsBoolean()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

}  // namespace tabby
