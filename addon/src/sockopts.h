// Socket options Node's net module cannot set: TCP MD5 signatures (RFC 2385), GTSM
// (RFC 5082) minimum TTL / hop count and the outgoing TTL, a minimum-TTL filter for
// UDP sockets (BFD), plus creating and binding
// a TCP socket so those options are in place before connect(). Each is one system
// call, cheap and non-blocking, so these run synchronously on the main thread and
// throw an Error with `errno` and `op` on failure.
#pragma once

#include <napi.h>

namespace tabby {

// tcpSocket(family: 4|6) -> fd (non-blocking, close-on-exec)
Napi::Value TcpSocket(const Napi::CallbackInfo& info);
// bindAddress(fd, family, address, port) — with SO_REUSEADDR
Napi::Value BindAddress(const Napi::CallbackInfo& info);
// tcpMd5Set(fd, family, peerAddress, key: Buffer) — an empty key removes the peer's key
Napi::Value TcpMd5Set(const Napi::CallbackInfo& info);
// ipMinTtlSet(fd, family, minTtl) — IP_MINTTL / IPV6_MINHOPCOUNT
Napi::Value IpMinTtlSet(const Napi::CallbackInfo& info);
// ipTtlSet(fd, family, ttl) — IP_TTL / IPV6_UNICAST_HOPS
Napi::Value IpTtlSet(const Napi::CallbackInfo& info);
// socketFilterSet(fd, program: Buffer) — SO_ATTACH_FILTER of classic BPF instructions
// (struct sock_filter, host byte order); an empty program detaches
Napi::Value SocketFilterSet(const Napi::CallbackInfo& info);
// udpMinTtlFilter(fd, family, minTtl) — a classic BPF socket filter (SO_ATTACH_FILTER)
// that drops datagrams whose IP TTL / hop limit is below minTtl. Linux applies
// IP_MINTTL to TCP only, so UDP (BFD, RFC 5881 §5) needs this instead.
Napi::Value UdpMinTtlFilter(const Napi::CallbackInfo& info);

}  // namespace tabby
