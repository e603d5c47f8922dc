// Real TCP for sessions. Node's net cannot set TCP_MD5SIG or IP_MINTTL, so when a
// session needs them the socket comes from the addon, gets its options, and only then
// is wrapped in a net.Socket and connected.

import net from 'node:net';
import { closeSync } from 'node:fs';
import { bindAddress, ipMinTtlSet, ipTtlSet, type SocketFamily, tcpMd5Set, tcpSocket } from '../../native/sockopts.js';
import type { Connection, DialTarget, Dialer } from './transport.js';

/** GTSM (RFC 5082): send with TTL 255, accept only what arrives with at least 256 - hops. */
export const GTSM_TTL = 255;

export function addressFamily(address: string): SocketFamily {
  return net.isIPv6(address) && !/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? 6 : 4;
}

/** The file descriptor under a net.Socket or net.Server (undefined before it has one). */
export function socketFd(s: net.Socket | net.Server): number | undefined {
  const fd = (s as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** GTSM on one socket; `family` is the peer address's family. */
export function applyTtlSecurity(fd: number, family: SocketFamily, hops: number): void {
  ipTtlSet(fd, family, GTSM_TTL);
  ipMinTtlSet(fd, family, GTSM_TTL + 1 - hops);
}

export class TcpDialer implements Dialer {
  dial(t: DialTarget): Connection {
    const family = addressFamily(t.remoteAddress);
    if (t.md5Key === undefined && t.ttlSecurity === undefined) {
      const opts: net.TcpNetConnectOpts = { host: t.remoteAddress, port: t.remotePort, noDelay: true };
      if (t.localAddress) opts.localAddress = t.localAddress;
      if (t.localPort) opts.localPort = t.localPort;
      return net.connect(opts);
    }
    const fd = tcpSocket(family);
    try {
      if (t.md5Key !== undefined) tcpMd5Set(fd, family, t.remoteAddress, t.md5Key);
      if (t.ttlSecurity !== undefined) applyTtlSecurity(fd, family, t.ttlSecurity);
      if (t.localAddress || t.localPort) bindAddress(fd, family, t.localAddress ?? (family === 4 ? '0.0.0.0' : '::'), t.localPort ?? 0);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    const sock = new net.Socket({ fd, readable: true, writable: true });
    sock.setNoDelay(true);
    sock.connect({ host: t.remoteAddress, port: t.remotePort });
    return sock;
  }
}
