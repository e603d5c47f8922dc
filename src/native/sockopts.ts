// Socket options for BGP and BFD transports: TCP MD5 (RFC 2385) and GTSM/TTL (RFC 5082).
// Single setsockopt calls, so these are synchronous; failures throw NativeError with
// errno and op. `family` is the family of the peer address (an IPv4 peer on a
// dual-stack AF_INET6 socket is family 4 for TTL options; tcpMd5Set maps it itself).

import { constants } from 'node:os';
import { NativeError, ValidationError } from '../errors.js';
import { callSync } from './binding.js';
import { checkIp, checkU32, toBuffer } from './checks.js';

/** RFC 2385 keys are at most 80 octets (TCP_MD5SIG_MAXKEYLEN in linux/tcp.h). */
export const TCP_MD5_MAX_KEY_LENGTH = 80;

export type SocketFamily = 4 | 6;

function checkSocketFamily(family: unknown): void {
  if (family !== 4 && family !== 6) throw new ValidationError('family', 'must be 4 or 6');
}

function checkSocket(fd: unknown, family: unknown): void {
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw new ValidationError('fd', 'must be a file descriptor');
  checkSocketFamily(family);
}

/** A new non-blocking TCP socket, so options can be set before connect(); wrap it with `new net.Socket({fd})`. */
export function tcpSocket(family: SocketFamily): number {
  checkSocketFamily(family);
  return callSync((n) => n.tcpSocket(family));
}

/** bind() to a local address (an IPv4 address on a family-6 socket is bound v4-mapped). */
export function bindAddress(fd: number, family: SocketFamily, address: string, port = 0): void {
  checkSocket(fd, family);
  const a = checkIp('address', address);
  checkU32('port', port, 0xffff);
  callSync((n) => n.bindAddress(fd, family, a, port));
}

/**
 * Sets (or with an empty key removes) the TCP MD5 key for one peer address, on a
 * listening socket (inherited by accepted connections) or on a socket before connect.
 * `family` is the socket's own family. Removing a key that is not set is not an error.
 */
export function tcpMd5Set(fd: number, family: SocketFamily, peerAddress: string, key: string | Buffer): void {
  checkSocket(fd, family);
  const a = checkIp('peerAddress', peerAddress);
  if (family === 4 && !a.includes('.')) throw new ValidationError('peerAddress', 'an IPv6 peer needs a family 6 socket');
  const k = typeof key === 'string' ? Buffer.from(key, 'utf8') : toBuffer('key', key);
  if (k.length > TCP_MD5_MAX_KEY_LENGTH) throw new ValidationError('key', `must be at most ${TCP_MD5_MAX_KEY_LENGTH} octets`);
  try {
    callSync((n) => n.tcpMd5Set(fd, family, a, k));
  } catch (err) {
    if (k.length === 0 && err instanceof NativeError && err.errno === constants.errno.ENOENT) return;
    throw err;
  }
}

/** GTSM (RFC 5082): drop segments that arrive with a TTL / hop limit below `minTtl` (0 turns it off). */
export function ipMinTtlSet(fd: number, family: SocketFamily, minTtl: number): void {
  checkSocket(fd, family);
  checkU32('minTtl', minTtl, 255);
  callSync((n) => n.ipMinTtlSet(fd, family, minTtl));
}

/** The TTL / unicast hop limit of segments sent (GTSM peers expect 255). */
export function ipTtlSet(fd: number, family: SocketFamily, ttl: number): void {
  checkSocket(fd, family);
  if (ttl === 0) throw new ValidationError('ttl', 'must be from 1 to 255');
  checkU32('ttl', ttl, 255);
  callSync((n) => n.ipTtlSet(fd, family, ttl));
}

/**
 * Drops datagrams arriving on a UDP socket with a TTL / hop limit below `minTtl`, by a
 * socket filter (Linux honours IP_MINTTL for TCP only). `family` is the socket's own;
 * an IPv6 socket must be IPv6-only, as the filter reads an IPv6 header.
 */
export function udpMinTtlFilter(fd: number, family: SocketFamily, minTtl: number): void {
  checkSocket(fd, family);
  checkU32('minTtl', minTtl, 255);
  callSync((n) => n.udpMinTtlFilter(fd, family, minTtl));
}

/**
 * Attaches a classic BPF socket filter (8-octet struct sock_filter instructions in host
 * byte order), or detaches it with an empty program. On a listening TCP socket it sees
 * the SYN and the handshake's last ACK, and accepted sockets inherit it.
 */
export function socketFilterSet(fd: number, program: Buffer): void {
  checkU32('fd', fd, 0x7fffffff);
  const p = toBuffer('program', program);
  if (p.length % 8 !== 0 || p.length > 4096 * 8) throw new ValidationError('program', 'must be up to 4096 instructions of 8 octets');
  callSync((n) => n.socketFilterSet(fd, p));
}
