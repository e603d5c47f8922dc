// The BFD sessions of this process, one per peer that asks for one. The caller declares
// the peers (setPeers) and hears about state changes (onChange); the manager owns the
// receive sockets, gives every session its own sender and a unique discriminator, and
// hands each received packet to its session (RFC 5880 §6.8.6: by Your Discriminator,
// or by the source address while that is still zero).

import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import { parseIP } from '../api/net.js';
import { silentLogger, type Logger } from '../util/log.js';
import { decodeControl } from './codec.js';
import { STATE_NAMES, diagName, type BfdStateName } from './constants.js';
import { BfdPacketError } from './errors.js';
import { systemClock, type Clock } from '../util/clock.js';
import { BfdSession, type BfdSessionStatus } from './session.js';
import { UdpTransport, type BfdSender, type BfdTransport } from './udp-transport.js';

export interface BfdPeer {
  /** The caller's key (the BGP peer's name). */
  id: string;
  address: string;
  /** Our address on the link to the peer: the source of our packets. */
  local?: string;
  /** bfd.DesiredMinTxInterval and bfd.RequiredMinRxInterval in milliseconds; bfd.DetectMult. */
  minTxMs: number;
  minRxMs: number;
  multiplier: number;
}

export interface BfdPeerStatus extends BfdSessionStatus {
  id: string;
  address: string;
  local?: string;
  localPort?: number;
  /** Why the session cannot run (no receive socket, no sender). */
  error?: string;
}

export interface BfdChange {
  id: string;
  from: BfdStateName;
  to: BfdStateName;
  diag: string;
}

export type DropReason = 'short' | 'version' | 'length' | 'detect-mult' | 'multipoint' | 'my-discriminator' | 'no-session' | 'wrong-source';

export interface BfdManagerOptions {
  transport?: BfdTransport;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
}

interface Entry {
  peer: BfdPeer;
  session: BfdSession;
  sender?: BfdSender;
  error?: string;
}

/** After removal a session says AdminDown for a while (RFC 5880 §6.8.16), at most this long. */
const LINGER_MAX_MS = 3000;

const canonical = (a: string): string => parseIP(a)?.address ?? a;
const toUs = (ms: number) => Math.round(ms * 1000);
const sameTimers = (a: BfdPeer, b: BfdPeer) => a.minTxMs === b.minTxMs && a.minRxMs === b.minRxMs && a.multiplier === b.multiplier;

export class BfdManager {
  private readonly transport: BfdTransport;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly entries = new Map<string, Entry>();
  private readonly byDiscr = new Map<number, Entry>();
  private readonly listening = new Map<4 | 6, Promise<void>>();
  private readonly listenErrors = new Map<4 | 6, string>();
  private readonly lingering = new Set<{ entry: Entry; timer: unknown }>();
  private readonly listeners: Array<(c: BfdChange) => void> = [];
  private readonly drops: Partial<Record<DropReason, number>> = {};
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(opts: BfdManagerOptions = {}) {
    this.log = (opts.logger ?? silentLogger).child({ component: 'bfd' });
    this.transport = opts.transport ?? new UdpTransport({ onSendError: (err) => this.log.debug({ err }, 'BFD send failed') });
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
  }

  onChange(cb: (c: BfdChange) => void): void {
    this.listeners.push(cb);
  }

  /**
   * The wanted sessions. New ones start (Down, slow rate), missing ones say AdminDown
   * and go, changed timers are negotiated again with a Poll Sequence, a changed address
   * is a new session. Calls are applied one after the other.
   */
  setPeers(peers: readonly BfdPeer[]): Promise<void> {
    const next = this.chain.then(() => this.apply(peers.map((p) => ({ ...p, address: canonical(p.address), ...(p.local ? { local: canonical(p.local) } : {}) }))));
    this.chain = next.catch(() => undefined);
    return next;
  }

  status(): BfdPeerStatus[] {
    return [...this.entries.values()].map((e) => this.statusOf(e));
  }

  /** One peer's session, if it has one. */
  peer(id: string): BfdPeerStatus | undefined {
    const e = this.entries.get(id);
    return e ? this.statusOf(e) : undefined;
  }

  /** Received packets dropped before reaching a session, by reason. */
  dropped(): Partial<Record<DropReason, number>> {
    return { ...this.drops };
  }

  /** Every session says AdminDown once and stops; the sockets close. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.chain;
    for (const l of this.lingering) {
      this.clock.clearTimeout(l.timer);
      this.close(l.entry);
    }
    this.lingering.clear();
    for (const e of this.entries.values()) {
      e.session.setAdminDown(true);
      this.close(e);
    }
    this.entries.clear();
    this.byDiscr.clear();
    await this.transport.close();
  }

  // ---- reconciling ----

  private async apply(peers: BfdPeer[]): Promise<void> {
    if (this.stopped) return;
    const want = new Map(peers.map((p) => [p.id, p]));
    for (const [id, e] of this.entries) {
      const p = want.get(id);
      if (!p || p.address !== e.peer.address || p.local !== e.peer.local) this.remove(id, e);
    }
    for (const p of peers) {
      const family = isIP(p.address) === 4 ? 4 : 6;
      await this.listen(family);
      let e = this.entries.get(p.id);
      if (e?.error !== undefined) {
        // It never ran (no socket): start over now that one may be there.
        this.entries.delete(p.id);
        this.close(e);
        e = undefined;
      }
      if (!e) {
        await this.add(p, family);
      } else if (!sameTimers(e.peer, p)) {
        this.log.info({ peer: p.id, minTxMs: p.minTxMs, minRxMs: p.minRxMs, multiplier: p.multiplier }, 'BFD timers changed');
        e.peer = p;
        e.session.configure({ desiredMinTxUs: toUs(p.minTxMs), requiredMinRxUs: toUs(p.minRxMs), detectMult: p.multiplier });
      }
    }
  }

  /** The receive socket of a family, once; a failure is kept for status and tried again next time. */
  private async listen(family: 4 | 6): Promise<void> {
    let p = this.listening.get(family);
    if (!p) {
      p = this.transport.listen(family, (payload, from) => this.received(payload, from));
      this.listening.set(family, p);
    }
    try {
      await p;
      this.listenErrors.delete(family);
    } catch (err) {
      this.listening.delete(family);
      const msg = `cannot receive BFD on UDP ${family === 4 ? '0.0.0.0' : '[::]'}:3784: ${(err as Error).message}`;
      if (this.listenErrors.get(family) !== msg) this.log.error({ family, err }, msg);
      this.listenErrors.set(family, msg);
    }
  }

  private async add(p: BfdPeer, family: 4 | 6): Promise<void> {
    let discr = 0;
    while (discr === 0 || this.byDiscr.has(discr)) discr = randomInt(1, 2 ** 32);
    let entry!: Entry;
    const session = new BfdSession({
      localDiscr: discr,
      params: { desiredMinTxUs: toUs(p.minTxMs), requiredMinRxUs: toUs(p.minRxMs), detectMult: p.multiplier },
      clock: this.clock,
      random: this.random,
      send: (packet) => entry.sender?.send(packet),
      onChange: (c) => this.changed(entry, STATE_NAMES[c.from], STATE_NAMES[c.to], c.diag),
    });
    entry = { peer: p, session };
    this.entries.set(p.id, entry);
    this.byDiscr.set(discr, entry);
    const listenError = this.listenErrors.get(family);
    if (listenError) {
      entry.error = listenError;
      return;
    }
    try {
      entry.sender = await this.transport.sender(p.address, p.local);
    } catch (err) {
      entry.error = `cannot send BFD to ${p.address}: ${(err as Error).message}`;
      this.log.error({ peer: p.id, err }, entry.error);
      return;
    }
    if (this.entries.get(p.id) !== entry || this.stopped) {
      entry.sender.close();
      return;
    }
    this.log.info({ peer: p.id, address: p.address, local: p.local, localPort: entry.sender.localPort, minTxMs: p.minTxMs, minRxMs: p.minRxMs, multiplier: p.multiplier }, 'BFD session added');
    entry.session.start();
  }

  /** AdminDown for a Detection Time (at most LINGER_MAX_MS), then gone. */
  private remove(id: string, e: Entry): void {
    this.entries.delete(id);
    this.log.info({ peer: id }, 'BFD session removed');
    e.session.setAdminDown(true);
    const linger = Math.min(e.session.status().detectionTimeMs ?? 1000, LINGER_MAX_MS);
    const l = { entry: e, timer: undefined as unknown };
    l.timer = this.clock.setTimeout(() => {
      this.lingering.delete(l);
      this.close(e);
    }, linger);
    this.lingering.add(l);
  }

  private close(e: Entry): void {
    e.session.stop();
    e.sender?.close();
    if (this.byDiscr.get(e.session.localDiscr) === e) this.byDiscr.delete(e.session.localDiscr);
  }

  // ---- receiving ----

  private received(payload: Buffer, from: string): void {
    let p;
    try {
      p = decodeControl(payload);
    } catch (err) {
      if (err instanceof BfdPacketError) return this.drop(err.reason);
      throw err;
    }
    const source = canonical(from);
    let e: Entry | undefined;
    if (p.yourDiscriminator !== 0) {
      e = this.byDiscr.get(p.yourDiscriminator);
    } else {
      // Still zero: the remote does not know us yet; find the session by its address.
      for (const x of this.entries.values()) if (x.peer.address === source) e = x;
    }
    if (!e) return this.drop('no-session');
    // Single hop: the packet comes from the neighbour itself.
    if (e.peer.address !== source) return this.drop('wrong-source');
    e.session.receive(p);
  }

  private drop(reason: DropReason): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }

  private changed(e: Entry, from: BfdStateName, to: BfdStateName, diag: number): void {
    const c: BfdChange = { id: e.peer.id, from, to, diag: diagName(diag) };
    const fields = { peer: e.peer.id, address: e.peer.address, from, to, diag: c.diag };
    if (from === 'Up') {
      const st = e.session.status();
      this.log.warn({ ...fields, remoteDiscriminator: st.remoteDiscriminator, remoteRestarted: st.remoteRestarted }, 'BFD session down');
    }
    else this.log.info(fields, 'BFD state change');
    if (this.entries.get(e.peer.id) !== e) return;
    for (const cb of this.listeners) {
      try {
        cb(c);
      } catch (err) {
        this.log.error({ err }, 'BFD change callback failed');
      }
    }
  }

  private statusOf(e: Entry): BfdPeerStatus {
    const s: BfdPeerStatus = { id: e.peer.id, address: e.peer.address, ...e.session.status() };
    if (e.peer.local) s.local = e.peer.local;
    if (e.sender) s.localPort = e.sender.localPort;
    if (e.error) s.error = e.error;
    return s;
  }
}
