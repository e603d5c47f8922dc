// RFC 5881 over real UDP sockets: one receive socket per family on port 3784 whose
// kernel filter drops anything that arrived with a TTL / hop limit below 255 (§5), and
// one send socket per session, bound to a source port from 49152–65535 (§4) and sending
// with TTL 255.

import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { udpMinTtlFilter } from '../native/sockopts.js';
import { BFD_CONTROL_PORT, BFD_SOURCE_PORT_MAX, BFD_SOURCE_PORT_MIN, BFD_TTL } from './constants.js';
import { BfdTransportError } from './errors.js';

export interface BfdSender {
  readonly localPort: number;
  send(packet: Buffer): void;
  close(): void;
}

/** What the manager needs from the network; tests pass an in-memory one. */
export interface BfdTransport {
  /** Starts receiving single-hop Control packets of one family. */
  listen(family: 4 | 6, onPacket: (payload: Buffer, from: string) => void): Promise<void>;
  sender(peer: string, local: string | undefined): Promise<BfdSender>;
  close(): Promise<void>;
}

export interface UdpTransportOptions {
  /** Receive port (default 3784). */
  port?: number;
  /** Where packets are sent (default 3784). */
  peerPort?: number;
  /** Send errors (unreachable while a link is down) are reported here, not thrown. */
  onSendError?(err: Error): void;
}

const SOURCE_PORT_TRIES = 32;

/** The descriptor under a bound dgram socket: the one way to set a socket filter on it. */
function dgramFd(sock: dgram.Socket): number {
  const holder = sock as unknown as Record<symbol, { handle?: { fd?: number } } | undefined>;
  for (const sym of Object.getOwnPropertySymbols(sock)) {
    if (sym.description !== 'state symbol') continue;
    const fd = holder[sym]?.handle?.fd;
    if (typeof fd === 'number' && fd >= 0) return fd;
  }
  throw new BfdTransportError('cannot find the file descriptor of a UDP socket (Node internals changed)');
}

function bind(sock: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => reject(err);
    sock.once('error', fail);
    sock.bind({ port, address, exclusive: true }, () => {
      sock.off('error', fail);
      resolve();
    });
  });
}

export class UdpTransport implements BfdTransport {
  private readonly receivers: dgram.Socket[] = [];
  private readonly senders = new Set<dgram.Socket>();

  constructor(private readonly opts: UdpTransportOptions = {}) {}

  async listen(family: 4 | 6, onPacket: (payload: Buffer, from: string) => void): Promise<void> {
    const sock = dgram.createSocket(family === 4 ? { type: 'udp4' } : { type: 'udp6', ipv6Only: true });
    try {
      await bind(sock, this.opts.port ?? BFD_CONTROL_PORT, family === 4 ? '0.0.0.0' : '::');
      udpMinTtlFilter(dgramFd(sock), family, BFD_TTL);
    } catch (err) {
      sock.close();
      throw err;
    }
    sock.on('message', (msg, rinfo) => onPacket(msg, rinfo.address));
    sock.on('error', () => undefined); // a receive socket reports nothing useful here
    this.receivers.push(sock);
  }

  async sender(peer: string, local: string | undefined): Promise<BfdSender> {
    const family = isIPv4(peer) ? 4 : 6;
    let lastErr: unknown;
    for (let i = 0; i < SOURCE_PORT_TRIES; i++) {
      const sock = dgram.createSocket(family === 4 ? { type: 'udp4' } : { type: 'udp6', ipv6Only: true });
      const port = randomInt(BFD_SOURCE_PORT_MIN, BFD_SOURCE_PORT_MAX + 1);
      try {
        await bind(sock, port, local ?? (family === 4 ? '0.0.0.0' : '::'));
      } catch (err) {
        sock.close();
        lastErr = err;
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
        throw err;
      }
      sock.setTTL(BFD_TTL);
      sock.on('error', (err) => this.opts.onSendError?.(err));
      this.senders.add(sock);
      const peerPort = this.opts.peerPort ?? BFD_CONTROL_PORT;
      const onSendError = this.opts.onSendError;
      return {
        localPort: port,
        send: (packet) => sock.send(packet, peerPort, peer, (err) => err && onSendError?.(err)),
        // After what was just sent has left (a send waits a tick for its address lookup).
        close: () => {
          if (this.senders.delete(sock)) setImmediate(() => sock.close());
        },
      };
    }
    throw new BfdTransportError(`no free BFD source port in ${BFD_SOURCE_PORT_MIN}-${BFD_SOURCE_PORT_MAX} after ${SOURCE_PORT_TRIES} tries`, { cause: lastErr });
  }

  async close(): Promise<void> {
    for (const s of [...this.receivers, ...this.senders]) s.close();
    this.receivers.length = 0;
    this.senders.clear();
  }
}
