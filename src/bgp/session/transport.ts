// What a session needs from a connection: the subset of net.Socket it uses, so a real
// socket and the in-memory one of the tests are interchangeable.

export interface Connection {
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  /** False when the data was buffered beyond the high-water mark: wait for 'drain'. */
  write(data: Buffer): boolean;
  /** Flushes what was written, then closes. */
  end(): void;
  /** Closes at once, dropping unsent data. */
  destroy(): void;
  /** Stops 'data' events (the peer sees TCP backpressure) until resume(). */
  pause?(): void;
  resume?(): void;
  on(event: 'data', fn: (chunk: Buffer) => void): this;
  on(event: 'connect' | 'drain' | 'end' | 'close', fn: () => void): this;
  on(event: 'error', fn: (err: Error) => void): this;
  once(event: 'close', fn: () => void): this;
  removeAllListeners(): this;
}

export interface DialTarget {
  remoteAddress: string;
  remotePort: number;
  /** Source address of the connection (bound before connect). */
  localAddress?: string;
  /** Source port; ephemeral when absent. */
  localPort?: number;
  /** TCP MD5 signature key (RFC 2385), set before the SYN goes out. */
  md5Key?: string;
  /** GTSM (RFC 5082): the peer is this many hops away; we send with TTL 255 and accept >= 256 - hops. */
  ttlSecurity?: number;
}

/** Starts outgoing connections; the connection emits 'connect' or 'error'/'close'. */
export interface Dialer {
  dial(target: DialTarget): Connection;
}
