// In-memory connections for tests: a pair of ends where what one writes the other
// receives on a later microtask, with write() backpressure and 'drain' like a socket.

import { EventEmitter } from 'node:events';
import type { Connection, DialTarget, Dialer } from '../../src/bgp/session/transport.js';

export interface Endpoint {
  address: string;
  port: number;
}

function errnoError(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

export class MemoryConnection extends EventEmitter implements Connection {
  peer!: MemoryConnection;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** Octets written and not yet taken by the peer above which write() returns false. */
  highWaterMark = 64 * 1024;
  /** Everything written, for assertions. */
  readonly written: Buffer[] = [];
  private inFlight = 0;
  private needDrain = false;
  private paused = false;
  private inbox: Buffer[] = [];
  private ended = false;
  closed = false;

  constructor(local: Endpoint, remote: Endpoint) {
    super();
    this.localAddress = local.address;
    this.localPort = local.port;
    this.remoteAddress = remote.address;
    this.remotePort = remote.port;
  }

  write(data: Buffer): boolean {
    if (this.ended || this.closed) return false;
    const copy = Buffer.from(data);
    this.written.push(copy);
    this.inFlight += copy.length;
    queueMicrotask(() => this.peer.receive(copy));
    const ok = this.inFlight < this.highWaterMark;
    if (!ok) this.needDrain = true;
    return ok;
  }

  end(): void {
    if (this.ended || this.closed) return;
    this.ended = true;
    queueMicrotask(() => {
      this.peer.receiveEnd();
      this.finish();
    });
  }

  destroy(): void {
    if (this.closed) return;
    this.finish();
    queueMicrotask(() => this.peer.receiveEnd());
  }

  /** Simulates a TCP reset seen by the other end. */
  reset(): void {
    if (this.closed) return;
    this.finish();
    queueMicrotask(() => this.peer.fail(errnoError('ECONNRESET', 'read ECONNRESET')));
  }

  /** Stops taking data (it piles up, so the writer sees backpressure) until resume(). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    const queued = this.inbox;
    this.inbox = [];
    for (const b of queued) this.deliver(b);
  }

  private receive(b: Buffer): void {
    if (this.closed) return;
    if (this.paused) this.inbox.push(b);
    else this.deliver(b);
  }

  private deliver(b: Buffer): void {
    this.emit('data', b);
    this.peer.consumed(b.length);
  }

  private consumed(n: number): void {
    this.inFlight -= n;
    if (this.needDrain && this.inFlight < this.highWaterMark && !this.closed) {
      this.needDrain = false;
      this.emit('drain');
    }
  }

  private receiveEnd(): void {
    if (this.closed) return;
    this.emit('end');
    this.finish();
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.emit('error', err);
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.ended = true;
    queueMicrotask(() => this.emit('close'));
  }
}

export function memoryPair(a: Endpoint, b: Endpoint): [MemoryConnection, MemoryConnection] {
  const x = new MemoryConnection(a, b);
  const y = new MemoryConnection(b, a);
  x.peer = y;
  y.peer = x;
  return [x, y];
}

export interface DialAttempt {
  target: DialTarget;
  /** The session's end. */
  conn: MemoryConnection;
  /** Completes the connection; returns the far end. */
  accept(): MemoryConnection;
  /** Fails the attempt with an errno code such as ECONNREFUSED. */
  refuse(code?: string): void;
}

/** A Dialer whose attempts the test completes or fails by hand. */
export class MemoryDialer implements Dialer {
  readonly attempts: DialAttempt[] = [];
  /** Called for each attempt, e.g. to accept it at once. */
  onDial?: (attempt: DialAttempt) => void;

  constructor(private readonly localAddress = '192.0.2.1') {}

  dial(target: DialTarget): MemoryConnection {
    const [mine, far] = memoryPair(
      { address: target.localAddress ?? this.localAddress, port: target.localPort ?? 40000 + this.attempts.length },
      { address: target.remoteAddress, port: target.remotePort },
    );
    const attempt: DialAttempt = {
      target,
      conn: mine,
      accept: () => {
        queueMicrotask(() => mine.emit('connect'));
        return far;
      },
      refuse: (code = 'ECONNREFUSED') => {
        queueMicrotask(() => {
          mine.emit('error', errnoError(code, `connect ${code}`));
          mine.closed = true;
          mine.emit('close');
        });
      },
    };
    this.attempts.push(attempt);
    this.onDial?.(attempt);
    return mine;
  }

  get last(): DialAttempt | undefined {
    return this.attempts[this.attempts.length - 1];
  }
}
