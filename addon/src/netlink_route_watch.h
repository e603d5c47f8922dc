// Route events from the kernel (RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE), for next-hop
// tracking: routeWatch(callback, skipProtocol) → { stop() }.
#pragma once

#include <napi.h>

namespace tabby {

Napi::Value RouteWatch(const Napi::CallbackInfo& info);

}  // namespace tabby
