// Many netlink requests per sendto(), each with NLM_F_ACK, acks matched back to
// their request by sequence number. One failing request fails only itself.
#pragma once

#include <napi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "netlink_socket.h"

namespace tabby {

// Largest single message a builder may write; the batch keeps this much room free.
constexpr size_t kMaxBatchMsg = 8192;

struct BatchLimits {
  size_t max_msgs = 256;
  size_t max_bytes = 65536;
};

struct BatchResults {
  std::vector<int32_t> err;  // per item: 0 ok, else a positive errno
  std::vector<std::pair<uint32_t, std::string>> text;  // messages of failed items only
  size_t sends = 0;

  explicit BatchResults(size_t n) : err(n, 0) {}
  void Fail(size_t i, int e, std::string message) {
    err[i] = e;
    text.emplace_back(static_cast<uint32_t>(i), std::move(message));
  }
  // {errnos: Int32Array, messages: [[index, text]...], sends}
  Napi::Object ToJs(Napi::Env env) const;
};

// Writes item i's message at `buf` (type, flags and payload; the batch fills in
// NLM_F_REQUEST|NLM_F_ACK, seq and pid) and returns its length, or 0 after calling
// results->Fail(i, ...) when the item cannot be sent at all.
using BuildFn = std::function<size_t(size_t i, char* buf)>;

void RunBatch(NlSocket* sock, size_t count, const BatchLimits& limits, const BuildFn& build, BatchResults* results);

}  // namespace tabby
