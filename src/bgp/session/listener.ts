// Accepts BGP connections on one address/port and hands each to the session
// configured for the remote address. Anything else is closed at once, counted and
// logged. MD5 keys are set per peer address on the listening socket (accepted sockets
// inherit them); GTSM is checked per peer by a socket filter from the first SYN on,
// and applied to each accepted socket as well.

import net from 'node:net';
import { silentLogger, type Logger } from '../../util/log.js';
import { parseIP } from '../../api/net.js';
import { closeSync } from 'node:fs';
import { bindAddress, ipMinTtlSet, ipTtlSet, socketFilterSet, type SocketFamily, tcpMd5Set, tcpSocket } from '../../native/sockopts.js';
import { BGP_PORT } from '../wire/index.js';
import { encodeFilter, gtsmFilterProgram } from './gtsm-filter.js';
import { addressFamily, applyTtlSecurity, GTSM_TTL, socketFd } from './tcp.js';
import type { Connection } from './transport.js';

/** What the listener needs of a session (BgpSession has it). */
export interface ListenerPeer {
  readonly remoteAddress: string;
  readonly md5Key?: string | undefined;
  readonly ttlSecurity?: number | undefined;
  incoming(conn: Connection): void;
}

export interface ListenerOptions {
  /** Default "::" (IPv4 and IPv6). */
  address?: string;
  /** Default 179. */
  port?: number;
  backlog?: number;
  logger?: Logger;
}

export interface ListenerStats {
  accepted: number;
  refused: number;
  /** Refusals per remote address (at most 256 addresses are tracked). */
  refusedFrom: Record<string, number>;
}

const MAX_TRACKED = 256;

/** Canonical form of an address as a socket reports it ("::ffff:10.0.0.1" is 10.0.0.1). */
export function canonicalAddress(address: string): string {
  const plain = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '').replace(/%.*$/, '');
  return parseIP(plain)?.address ?? plain;
}

export class BgpListener {
  private server: net.Server | undefined;
  /** The listening socket, from bind until close. */
  private fd: number | undefined;
  private family: SocketFamily = 6;
  private readonly peers = new Map<string, ListenerPeer>();
  private readonly keyed = new Set<string>();
  private readonly stats_: ListenerStats = { accepted: 0, refused: 0, refusedFrom: {} };
  private readonly log: Logger;
  private ttl = 0;
  private minTtl = 0;
  /** The GTSM filter attached to the listening socket, as a comparable key ('' = none). */
  private filterKey = '';

  constructor(private readonly opts: ListenerOptions = {}) {
    this.log = (opts.logger ?? silentLogger).child({ component: 'bgp', listener: `${opts.address ?? '::'}:${opts.port ?? BGP_PORT}` });
  }

  /**
   * The socket comes from the addon and gets every peer's MD5 key and the TTL options
   * before listen(), so not one unsigned SYN is accepted in between.
   */
  async listen(): Promise<void> {
    if (this.server) return;
    const host = this.opts.address ?? '::';
    this.family = addressFamily(host);
    const fd = tcpSocket(this.family);
    try {
      bindAddress(fd, this.family, host, this.opts.port ?? BGP_PORT);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    this.fd = fd;
    for (const peer of this.peers.values()) this.configure(peer);
    const server = net.createServer({ noDelay: true }, (s) => this.accept(s));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ fd, backlog: this.opts.backlog ?? 64 }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      this.fd = undefined;
      server.close();
      throw err;
    }
    server.on('error', (err) => this.log.error({ err }, 'BGP listener error'));
    this.server = server;
    const addr = server.address() as net.AddressInfo;
    this.log.info({ address: addr.address, port: addr.port }, 'BGP listening');
  }

  /** Stops accepting; sessions keep the connections they have. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.fd = undefined;
    this.keyed.clear();
    this.ttl = 0;
    this.minTtl = 0;
    this.filterKey = '';
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The bound address, once listening (port 0 in the options picks a free one). */
  address(): { address: string; port: number } | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? { address: a.address, port: a.port } : undefined;
  }

  addPeer(peer: ListenerPeer): void {
    const key = canonicalAddress(peer.remoteAddress);
    const old = this.peers.get(key);
    this.peers.set(key, peer);
    if (old?.md5Key && !peer.md5Key) this.setKey(key, '');
    this.configure(peer);
  }

  removePeer(peerOrAddress: ListenerPeer | string): void {
    const key = canonicalAddress(typeof peerOrAddress === 'string' ? peerOrAddress : peerOrAddress.remoteAddress);
    const peer = this.peers.get(key);
    if (!peer || (typeof peerOrAddress !== 'string' && peer !== peerOrAddress)) return;
    this.peers.delete(key);
    if (this.keyed.has(key)) this.setKey(key, '');
    this.applyTtl();
  }

  stats(): ListenerStats {
    return { accepted: this.stats_.accepted, refused: this.stats_.refused, refusedFrom: { ...this.stats_.refusedFrom } };
  }

  private configure(peer: ListenerPeer): void {
    if (this.fd === undefined) return;
    const key = canonicalAddress(peer.remoteAddress);
    if (peer.md5Key) this.setKey(key, peer.md5Key);
    this.applyTtl();
  }

  /**
   * GTSM on the listening socket. The SYN-ACK leaves from it, so it must carry TTL 255
   * for any GTSM peer. A minimum TTL there is shared by all peers, so it is set only
   * while every peer uses GTSM; the per-peer check is a socket filter (gtsm-filter.ts),
   * which also covers the handshake and what arrives before accept() returns when the
   * listener is shared with peers that do not use GTSM.
   */
  private applyTtl(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    const peers = [...this.peers.values()];
    const gtsm = peers.length > 0 && peers.every((p) => p.ttlSecurity);
    const minTtl = gtsm ? Math.min(...peers.map((p) => GTSM_TTL + 1 - p.ttlSecurity!)) : 0;
    const ttl = peers.some((p) => p.ttlSecurity) ? GTSM_TTL : 0;
    try {
      for (const family of this.family === 6 ? ([4, 6] as const) : ([4] as const)) {
        if (ttl && !this.ttl) ipTtlSet(fd, family, ttl); // once raised it stays: 255 harms no one
        if (minTtl !== this.minTtl) ipMinTtlSet(fd, family, minTtl);
      }
      this.ttl ||= ttl;
      this.minTtl = minTtl;
    } catch (err) {
      this.log.error({ err }, 'cannot set TTL options on the listening socket');
    }
    const gtsmPeers = peers.filter((p) => p.ttlSecurity).map((p) => ({ address: canonicalAddress(p.remoteAddress), minTtl: GTSM_TTL + 1 - p.ttlSecurity! }));
    const key = gtsmPeers.length > 0 ? JSON.stringify(gtsmPeers) : '';
    if (key === this.filterKey) return;
    try {
      socketFilterSet(fd, key ? encodeFilter(gtsmFilterProgram(gtsmPeers)) : Buffer.alloc(0));
      this.filterKey = key;
    } catch (err) {
      this.log.error({ err, peers: gtsmPeers.length }, 'cannot attach the GTSM filter to the listening socket: the handshake is checked only after accept');
    }
  }

  private setKey(address: string, key: string): void {
    const fd = this.fd;
    if (fd === undefined) return;
    if (this.family === 4 && addressFamily(address) === 6) {
      this.log.error({ peer: address }, 'an IPv4 listener cannot take an MD5 key for an IPv6 peer');
      return;
    }
    try {
      tcpMd5Set(fd, this.family, address, key);
      if (key) this.keyed.add(address);
      else this.keyed.delete(address);
    } catch (err) {
      this.log.error({ err, peer: address }, 'cannot set the TCP MD5 key on the listening socket');
    }
  }

  private accept(sock: net.Socket): void {
    const remote = canonicalAddress(sock.remoteAddress ?? '');
    const peer = this.peers.get(remote);
    if (!peer) {
      this.stats_.refused++;
      const seen = this.stats_.refusedFrom[remote];
      if (seen !== undefined || Object.keys(this.stats_.refusedFrom).length < MAX_TRACKED) this.stats_.refusedFrom[remote] = (seen ?? 0) + 1;
      // The first refusal from an address is worth a warning; repeats would flood the log.
      if (seen === undefined) this.log.warn({ remoteAddress: remote, remotePort: sock.remotePort }, 'BGP connection from an unknown address refused');
      else this.log.debug({ remoteAddress: remote, remotePort: sock.remotePort }, 'BGP connection from an unknown address refused');
      sock.on('error', () => {});
      sock.destroy();
      return;
    }
    this.stats_.accepted++;
    sock.on('error', () => {}); // until the session attaches its own handlers
    if (peer.ttlSecurity) {
      const fd = socketFd(sock);
      try {
        if (fd !== undefined) applyTtlSecurity(fd, addressFamily(remote), peer.ttlSecurity);
      } catch (err) {
        this.log.error({ err, peer: remote }, 'cannot apply TTL security to an accepted connection');
        sock.destroy();
        return;
      }
    }
    this.log.debug({ remoteAddress: remote, remotePort: sock.remotePort }, 'BGP connection accepted');
    peer.incoming(sock);
  }
}
