#pragma once

#include <napi.h>

namespace tabby {

// routeApply(records: Buffer, count, names: string[], {netns?, batchSize?, batchBytes?, rcvbuf?})
//   -> Promise<{errnos: Int32Array, messages: [index, text][], sends}>
Napi::Value RouteApply(const Napi::CallbackInfo& info);

}  // namespace tabby
