#pragma once

#include <napi.h>

namespace tabby {

// routeDump({family, table?, protocol?, netns?}) -> Promise<Route[]>
Napi::Value RouteDump(const Napi::CallbackInfo& info);

}  // namespace tabby
