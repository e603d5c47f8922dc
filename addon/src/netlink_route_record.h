// The fixed binary layout TypeScript encodes route operations into
// (src/native/route-records.ts writes it; keep the two in step). One Buffer for a
// whole batch keeps the copy-in to a single memcpy instead of ~10 property reads
// per route. Integers are little-endian, addresses in network order.
//
// record (80 bytes, then nh_count next hops of 32 bytes):
//   0 op (0 add, 1 replace, 2 delete)   1 family (4|6)   2 dst_len   3 rtm_type (0: unset)
//   4 protocol   5 scope   6 flags (kRec*)   7 nh_count
//   8 table   12 metric   16 mtu   20 oif   24 oif name (index+1 into names, 0: none)
//   28 realm (RTA_FLOW, 0: none)   32 dst[16]   48 gateway[16]   64 prefsrc[16]
// next hop:
//   0 gateway[16]   16 oif   20 oif name (index+1)   24 flags (kNh*)   25 rtnh_hops (weight-1)
//   26 0   28 realm (RTA_FLOW inside the rtnexthop, 0: none)
#pragma once

#include <cstddef>
#include <cstdint>

namespace tabby {

constexpr size_t kRouteRecSize = 80;
constexpr size_t kNexthopRecSize = 32;

enum : uint8_t { kOpAdd = 0, kOpReplace = 1, kOpDelete = 2 };
enum : uint8_t {
  kRecOnlink = 1, kRecGateway = 2, kRecPrefsrc = 4, kRecMetric = 8, kRecMtu = 16, kRecScope = 32,
};
enum : uint8_t { kNhOnlink = 1, kNhGateway = 2 };

inline uint32_t LoadU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

struct NexthopRec {
  const uint8_t* gateway;
  uint32_t oif;
  uint32_t oif_name;
  uint8_t flags;
  uint8_t hops;
  uint32_t realm;
};

struct RouteRec {
  uint8_t op, family, dst_len, type, protocol, scope, flags, nh_count;
  uint32_t table, metric, mtu, oif, oif_name, realm;
  const uint8_t* dst;
  const uint8_t* gateway;
  const uint8_t* prefsrc;
  const uint8_t* nexthops;

  NexthopRec Nexthop(size_t i) const {
    const uint8_t* p = nexthops + i * kNexthopRecSize;
    return NexthopRec{p, LoadU32(p + 16), LoadU32(p + 20), p[24], p[25], LoadU32(p + 28)};
  }
};

// Decodes the record at data[off]; returns its total size, or 0 if it is truncated.
inline size_t DecodeRouteRec(const uint8_t* data, size_t size, size_t off, RouteRec* r) {
  if (size < off || size - off < kRouteRecSize) return 0;
  const uint8_t* p = data + off;
  size_t total = kRouteRecSize + static_cast<size_t>(p[7]) * kNexthopRecSize;
  if (size - off < total) return 0;
  *r = RouteRec{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7],
                LoadU32(p + 8), LoadU32(p + 12), LoadU32(p + 16), LoadU32(p + 20), LoadU32(p + 24), LoadU32(p + 28),
                p + 32, p + 48, p + 64, p + kRouteRecSize};
  return total;
}

}  // namespace tabby
