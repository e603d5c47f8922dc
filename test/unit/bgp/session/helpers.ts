// A session under test: fake clock, in-memory dialer, recorded events, and a raw peer
// that speaks BGP messages through the codec.

import { FakeClock, settle } from '../../../helpers/fake-clock.js';
import { memoryPair, MemoryDialer, type MemoryConnection } from '../../../helpers/memory-transport.js';
import { BgpSession, type DownEvent, type SessionOptions, type State, type UpdateEvent } from '../../../../src/bgp/session/index.js';
import type { NegotiatedInfo } from '../../../../src/bgp/session/status.js';
import {
  decodeMessage,
  encodeMessage,
  INITIAL_OPTIONS,
  MessageReader,
  type BgpMessage,
  type Capability,
  type CodecOptions,
  type DecodedMessage,
  type Family,
  type Open,
} from '../../../../src/bgp/wire/index.js';

export { settle };

export const LOCAL_ID = '10.0.0.2';
export const PEER_ID = '10.0.0.1';
export const LOCAL_ADDRESS = '192.0.2.1';
export const PEER_ADDRESS = '192.0.2.2';

/** The far end of a connection, decoding everything the session writes. */
export class RawPeer {
  readonly messages: DecodedMessage[] = [];
  readonly raw: Buffer[] = [];
  options: CodecOptions = { fourOctetAs: true, addPath: { receive: new Set(), send: new Set() }, extendedMessage: false };
  closed = false;
  private readonly reader = new MessageReader({ extendedMessage: true });

  constructor(readonly conn: MemoryConnection) {
    conn.on('data', (chunk: Buffer) => {
      this.reader.push(chunk);
      for (const msg of this.reader) {
        this.raw.push(msg);
        this.messages.push(decodeMessage(msg, msg[18] === 1 ? INITIAL_OPTIONS : this.options));
      }
    });
    conn.on('close', () => (this.closed = true));
    conn.on('error', () => {});
  }

  send(m: BgpMessage): void {
    this.conn.write(encodeMessage(m, this.options));
  }

  sendRaw(b: Buffer): void {
    this.conn.write(b);
  }

  types(): string[] {
    return this.messages.map((m) => m.type);
  }

  count(type: DecodedMessage['type']): number {
    return this.messages.filter((m) => m.type === type).length;
  }

  last<T extends DecodedMessage['type']>(type: T): Extract<DecodedMessage, { type: T }> | undefined {
    for (let i = this.messages.length - 1; i >= 0; i--) if (this.messages[i]!.type === type) return this.messages[i] as Extract<DecodedMessage, { type: T }>;
    return undefined;
  }

  notification(): { code: number; subcode: number; data: Buffer } | undefined {
    return this.last('notification')?.notification;
  }
}

export function peerCapabilities(asn = 65001, families: Family[] = ['ipv4']): Capability[] {
  const caps: Capability[] = families.map((f) => ({ kind: 'multiprotocol', afi: f === 'ipv4' ? 1 : 2, safi: 1 }) as Capability);
  caps.push({ kind: 'route-refresh' }, { kind: 'four-octet-as', asn });
  return caps;
}

export function peerOpen(o: Partial<Open> = {}): BgpMessage {
  const asn = o.asn ?? 65001;
  return { type: 'open', open: { asn, holdTime: o.holdTime ?? 90, bgpId: o.bgpId ?? PEER_ID, capabilities: o.capabilities ?? peerCapabilities(asn) } };
}

export interface Recorded {
  updates: UpdateEvent[];
  endOfRib: Family[];
  refresh: Family[];
  established: NegotiatedInfo[];
  down: DownEvent[];
  states: Array<{ from: State; to: State; reason: string }>;
}

export interface Harness {
  clock: FakeClock;
  dialer: MemoryDialer;
  session: BgpSession;
  events: Recorded;
  /** Starts the session, accepts its dial, returns the peer after our OPEN arrived. */
  connect(): Promise<RawPeer>;
  /** connect() plus the peer's OPEN and KEEPALIVE: Established. */
  establish(open?: BgpMessage): Promise<RawPeer>;
  /** A connection from the peer handed over as the listener would. */
  incoming(): Promise<RawPeer>;
}

export function harness(opts: Partial<SessionOptions> = {}): Harness {
  const clock = new FakeClock();
  const dialer = new MemoryDialer(LOCAL_ADDRESS);
  const events: Recorded = { updates: [], endOfRib: [], refresh: [], established: [], down: [], states: [] };
  const session = new BgpSession({
    localAs: 65000,
    remoteAs: 65001,
    routerId: LOCAL_ID,
    remoteAddress: PEER_ADDRESS,
    connectDelayTime: 0,
    clock,
    dialer,
    // Timers at their full length (jitter's upper bound) unless a test asks otherwise.
    random: () => 1,
    handlers: {
      onUpdate: (u) => events.updates.push(u),
      onEndOfRib: (f) => events.endOfRib.push(f),
      onRouteRefresh: (f) => events.refresh.push(f),
      onEstablished: (n) => events.established.push(n),
      onDown: (d) => events.down.push(d),
      onStateChange: (s) => events.states.push(s),
    },
    ...opts,
  });
  let port = 50000;
  const h: Harness = {
    clock,
    dialer,
    session,
    events,
    async connect() {
      if (session.state === 'Idle') session.start();
      await settle();
      const attempt = dialer.last;
      if (!attempt) throw new Error('the session did not dial');
      const peer = new RawPeer(attempt.accept());
      await settle();
      return peer;
    },
    async establish(open = peerOpen()) {
      const peer = await h.connect();
      peer.send(open);
      peer.send({ type: 'keepalive' });
      await settle();
      return peer;
    },
    async incoming() {
      const [mine, far] = memoryPair({ address: LOCAL_ADDRESS, port: 179 }, { address: PEER_ADDRESS, port: port++ });
      const peer = new RawPeer(far);
      session.incoming(mine);
      await settle();
      return peer;
    },
  };
  return h;
}
