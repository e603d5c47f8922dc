#include "sockopts.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "args.h"

namespace tabby {

namespace {

// The synchronous twin of PromiseWorker's rejection: an Error with errno and op.
[[noreturn]] void ThrowErrno(Napi::Env env, int err, const char* op, const std::string& what) {
  Napi::Error e = Napi::Error::New(env, what + ": " + std::strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("op", Napi::String::New(env, op));
  throw e;
}

int ArgFamily(const Napi::CallbackInfo& info, size_t i) {
  uint32_t f = ArgU32(info, i);
  if (f != 4 && f != 6) throw Napi::TypeError::New(info.Env(), "family must be 4 or 6");
  return f == 4 ? AF_INET : AF_INET6;
}

int ArgFd(const Napi::CallbackInfo& info, size_t i) {
  uint32_t fd = ArgU32(info, i);
  if (fd > 0x7fffffff) throw Napi::TypeError::New(info.Env(), "fd out of range");
  return static_cast<int>(fd);
}

// Fills `ss` for `address` as seen by a socket of `domain`. An IPv4 address on an
// AF_INET6 socket becomes v4-mapped, which is how the kernel keys dual-stack peers.
bool ToSockaddr(int domain, const std::string& address, uint16_t port, sockaddr_storage* ss, socklen_t* len) {
  std::memset(ss, 0, sizeof(*ss));
  if (domain == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    if (inet_pton(AF_INET, address.c_str(), &sin->sin_addr) != 1) return false;
    *len = sizeof(*sin);
    return true;
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(ss);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  in_addr v4;
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) {
    sin6->sin6_addr.s6_addr[10] = 0xff;
    sin6->sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&sin6->sin6_addr.s6_addr[12], &v4, 4);
  } else if (inet_pton(AF_INET6, address.c_str(), &sin6->sin6_addr) != 1) {
    return false;
  }
  *len = sizeof(*sin6);
  return true;
}

void SetInt(Napi::Env env, int fd, int level, int name, int value, const char* op, const char* what) {
  if (setsockopt(fd, level, name, &value, sizeof(value)) < 0) ThrowErrno(env, errno, op, what);
}

}  // namespace

Napi::Value TcpSocket(const Napi::CallbackInfo& info) {
  int domain = ArgFamily(info, 0);
  int fd = socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) ThrowErrno(info.Env(), errno, "tcpSocket", "socket");
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value BindAddress(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  int domain = ArgFamily(info, 1);
  std::string address = ArgString(info, 2);
  uint32_t port = ArgU32(info, 3);
  if (port > 65535) throw Napi::TypeError::New(info.Env(), "port out of range");
  sockaddr_storage ss;
  socklen_t len;
  if (!ToSockaddr(domain, address, static_cast<uint16_t>(port), &ss, &len))
    ThrowErrno(info.Env(), EINVAL, "bindAddress", "address " + address);
  // As Node and BIRD do: a restarted listener must not wait out TIME_WAIT on port 179.
  SetInt(info.Env(), fd, SOL_SOCKET, SO_REUSEADDR, 1, "bindAddress", "SO_REUSEADDR");
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0)
    ThrowErrno(info.Env(), errno, "bindAddress", "bind " + address);
  return info.Env().Undefined();
}

Napi::Value TcpMd5Set(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  int domain = ArgFamily(info, 1);
  std::string address = ArgString(info, 2);
  std::vector<uint8_t> key = ArgBytes(info, 3);
  if (key.size() > TCP_MD5SIG_MAXKEYLEN) throw Napi::TypeError::New(info.Env(), "key longer than 80 octets");
  tcp_md5sig sig;
  std::memset(&sig, 0, sizeof(sig));
  socklen_t len;
  if (!ToSockaddr(domain, address, 0, &sig.tcpm_addr, &len))
    ThrowErrno(info.Env(), EINVAL, "tcpMd5Set", "address " + address);
  sig.tcpm_keylen = static_cast<uint16_t>(key.size());
  if (!key.empty()) std::memcpy(sig.tcpm_key, key.data(), key.size());
  if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof(sig)) < 0)
    ThrowErrno(info.Env(), errno, "tcpMd5Set", "TCP_MD5SIG " + address);
  return info.Env().Undefined();
}

Napi::Value IpMinTtlSet(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  int domain = ArgFamily(info, 1);
  uint32_t ttl = ArgU32(info, 2);
  if (ttl > 255) throw Napi::TypeError::New(info.Env(), "minTtl must be 0..255");
  if (domain == AF_INET)
    SetInt(info.Env(), fd, IPPROTO_IP, IP_MINTTL, static_cast<int>(ttl), "ipMinTtlSet", "IP_MINTTL");
  else
    SetInt(info.Env(), fd, IPPROTO_IPV6, IPV6_MINHOPCOUNT, static_cast<int>(ttl), "ipMinTtlSet", "IPV6_MINHOPCOUNT");
  return info.Env().Undefined();
}

Napi::Value IpTtlSet(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  int domain = ArgFamily(info, 1);
  uint32_t ttl = ArgU32(info, 2);
  if (ttl < 1 || ttl > 255) throw Napi::TypeError::New(info.Env(), "ttl must be 1..255");
  if (domain == AF_INET)
    SetInt(info.Env(), fd, IPPROTO_IP, IP_TTL, static_cast<int>(ttl), "ipTtlSet", "IP_TTL");
  else
    SetInt(info.Env(), fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, static_cast<int>(ttl), "ipTtlSet", "IPV6_UNICAST_HOPS");
  return info.Env().Undefined();
}

Napi::Value SocketFilterSet(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  std::vector<uint8_t> prog = ArgBytes(info, 1);
  if (prog.empty()) {
    int unused = 0;
    // Detaching where nothing is attached is not an error for the caller.
    if (setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof(unused)) < 0 && errno != ENOENT)
      ThrowErrno(info.Env(), errno, "socketFilterSet", "SO_DETACH_FILTER");
    return info.Env().Undefined();
  }
  if (prog.size() % sizeof(sock_filter) != 0 || prog.size() / sizeof(sock_filter) > BPF_MAXINSNS)
    throw Napi::TypeError::New(info.Env(), "program must be 1 to 4096 instructions of 8 octets");
  std::vector<sock_filter> insns(prog.size() / sizeof(sock_filter));
  std::memcpy(insns.data(), prog.data(), prog.size());
  sock_fprog fprog;
  fprog.len = static_cast<unsigned short>(insns.size());
  fprog.filter = insns.data();
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof(fprog)) < 0)
    ThrowErrno(info.Env(), errno, "socketFilterSet", "SO_ATTACH_FILTER");
  return info.Env().Undefined();
}

Napi::Value UdpMinTtlFilter(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  int domain = ArgFamily(info, 1);
  uint32_t ttl = ArgU32(info, 2);
  if (ttl > 255) throw Napi::TypeError::New(info.Env(), "minTtl must be 0..255");
  // SKF_NET_OFF reaches the IP header from a UDP socket's filter: the IPv4 TTL is
  // octet 8 of its header, the IPv6 hop limit octet 7.
  uint32_t at = static_cast<uint32_t>(SKF_NET_OFF) + (domain == AF_INET ? 8 : 7);
  sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, at),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, ttl, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
      BPF_STMT(BPF_RET | BPF_K, 0),
  };
  sock_fprog prog;
  prog.len = sizeof(code) / sizeof(code[0]);
  prog.filter = code;
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
    ThrowErrno(info.Env(), errno, "udpMinTtlFilter", "SO_ATTACH_FILTER");
  return info.Env().Undefined();
}

}  // namespace tabby
