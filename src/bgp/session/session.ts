// One BGP peer: runs the state functions of fsm.ts over a connection and carries out
// what they return (writes, timers, dials), decodes what arrives, delivers routes to
// the owner as plain events. During a connection collision it has two connections,
// each with its own state, until one of them wins.

import { performance } from 'node:perf_hooks';
import {
  CeaseSubcode,
  decodeMessage,
  encodeMessage,
  encodeNotification,
  encodeUpdate,
  endOfRib,
  ErrorCode,
  familyOf,
  INITIAL_OPTIONS,
  isEndOfRib,
  MessageReader,
  routeRefresh,
  RouteRefreshSubtype,
  shutdownCommunication,
  shutdownNotification,
  BgpMessageError,
  type BgpMessage,
  type CodecOptions,
  type DecodedUpdate,
  type Family,
  type Notification,
  type Open,
  type RouteRefresh,
  type Update,
} from '../wire/index.js';
import { silentLogger, type Logger } from '../../util/log.js';
import { incomingDecision } from './collision.js';
import { updateEvent, type DownEvent, type SessionHandlers } from './delivery.js';
import { resolveConfig, type GracefulRestartOptions, type ResolvedConfig, type SessionConfig } from './config.js';
import { STATE_FUNCTIONS, type Action, type FsmContext, type FsmEvent, type State, type Transition } from './fsm.js';
import { localOpen, negotiatedInfo, type Negotiated } from './negotiate.js';
import {
  countMessage,
  emptyCounters,
  notificationName,
  SOCKET_CLOSED,
  socketError,
  type LastNotification,
  type NegotiatedInfo,
  type SessionCounters,
  type SessionStatus,
} from './status.js';
import { systemClock, type Clock } from '../../util/clock.js';
import { IdleBackoff, jitter, JITTERED, Timers, type TimerName } from './timers.js';
import { TcpDialer } from './tcp.js';
import type { Connection, Dialer } from './transport.js';

export interface SessionOptions extends SessionConfig {
  /** pino logger; the session logs through a `{component: 'bgp', peer}` child. */
  logger?: Logger;
  clock?: Clock;
  /** How outgoing connections are made (default: TcpDialer, real TCP). */
  dialer?: Dialer;
  /** Uniform in [0, 1) for timer jitter (RFC 4271 §10); default Math.random. */
  random?: () => number;
  handlers?: Partial<SessionHandlers>;
}

/** Grace for a NOTIFICATION to leave before the socket is destroyed anyway. */
const CLOSE_GRACE_MS = 3000;
/**
 * Inbound work per turn of the event loop: past this the rest waits for the next turn,
 * so a 100k-prefix table never starves keepalives, timers or other sessions.
 */
const READ_BUDGET_MS = 10;
/**
 * Received but not yet worked off: past this the socket is paused (TCP backpressure).
 * Below it reading goes on, so the sender never waits for us while we yield (a BIRD
 * sender whose socket fills only wakes on its next event); a full table of a million
 * IPv4 prefixes is about 5 MB.
 */
const READ_BACKLOG_MAX = 16 << 20;

type Slot = {
  state: State;
  since: number;
  conn?: Connection | undefined;
  outgoing: boolean;
  dialing: boolean;
  reader: MessageReader;
  options: CodecOptions;
  negotiated?: Negotiated | undefined;
  timers: Timers;
  /** Encoded UPDATEs waiting for 'drain'. */
  queue: Buffer[];
  blocked: boolean;
  establishedAt?: number | undefined;
  /** Set while a transition to Idle is being applied. */
  backoff: boolean;
  /** The backlog grew past READ_BACKLOG_MAX: the socket is paused until it is worked off. */
  yielded: boolean;
  /** A read of this slot is queued or scheduled: it will take whatever arrives meanwhile. */
  readPending: boolean;
};

/** A queued continuation of reading (other work goes before it). */
type ReadJob = (() => void) & { read?: true };

function cease(subcode: number, text?: string): Notification {
  if (text !== undefined && (subcode === CeaseSubcode.ADMINISTRATIVE_SHUTDOWN || subcode === CeaseSubcode.ADMINISTRATIVE_RESET)) {
    return shutdownNotification(subcode, text);
  }
  return { code: ErrorCode.CEASE, subcode, data: Buffer.alloc(0) };
}

function prefixCount(u: Partial<Update>): number {
  return (u.nlri?.length ?? 0) + (u.attributes?.mpReach?.nlri.length ?? 0);
}

export class BgpSession {
  readonly config: ResolvedConfig;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly dialer: Dialer;
  private handlers: Partial<SessionHandlers>;
  private open: Open;
  private readonly random: () => number;
  private primary: Slot;
  private secondary: Slot | undefined;
  private enabled = false;
  private readonly backoff: IdleBackoff;
  private readonly counters: SessionCounters = emptyCounters();
  private lastError: string | undefined;
  private lastNotification: LastNotification | undefined;
  /** The NOTIFICATION of the transition being applied, for onDown. */
  private transitionNotification: LastNotification | undefined;
  private idleHoldUntil: number | undefined;
  /** The idle hold follows a connection lost without a NOTIFICATION: the peer's own connection is taken. */
  private holdAfterLoss = false;
  private dispatchFrom: State = 'Idle';
  private readonly work: Array<() => void> = [];
  private running = false;
  private writableWaiters: Array<(ok: boolean) => void> = [];
  private readonly closing = new Set<Promise<void>>();

  constructor(opts: SessionOptions) {
    this.config = resolveConfig(opts);
    this.clock = opts.clock ?? systemClock;
    this.dialer = opts.dialer ?? new TcpDialer();
    this.handlers = opts.handlers ?? {};
    this.log = (opts.logger ?? silentLogger).child({ component: 'bgp', peer: this.config.name });
    this.random = opts.random ?? Math.random;
    this.open = localOpen(this.config);
    this.backoff = new IdleBackoff(this.config.idleHold);
    this.primary = this.newSlot('Idle');
  }

  // ---- what the listener reads ----

  get name(): string {
    return this.config.name;
  }
  get remoteAddress(): string {
    return this.config.remoteAddress;
  }
  get md5Key(): string | undefined {
    return this.config.md5Key;
  }
  get ttlSecurity(): number | undefined {
    return this.config.ttlSecurity;
  }

  get state(): State {
    return this.primary.state;
  }

  /** What the OPEN exchange settled, while OpenConfirm or Established. */
  get negotiated(): NegotiatedInfo | undefined {
    const n = this.primary.negotiated;
    return n ? negotiatedInfo(n) : undefined;
  }

  /** Codec options of the current session, for encoding UPDATEs elsewhere. */
  get codecOptions(): CodecOptions {
    return this.primary.options;
  }

  setHandlers(handlers: Partial<SessionHandlers>): void {
    this.handlers = handlers;
  }

  /**
   * New graceful-restart flags for the OPENs from now on (the R and F bits end with the
   * speaker's restart, RFC 4724 §4.1); the running connection keeps what it negotiated.
   */
  setGracefulRestart(gr: GracefulRestartOptions): void {
    this.config.gracefulRestart = gr;
    this.open = localOpen(this.config);
  }

  // ---- control ----

  start(): void {
    this.enabled = true;
    this.post(this.primary, { type: 'Start' });
  }

  /**
   * Sends Cease with `subcode` (and for administrative shutdown/reset the RFC 8203
   * message) if a BGP conversation is under way, closes, and stays Idle until start().
   * Resolves once the connections are closed.
   */
  async stop(subcode: number = CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, text?: string): Promise<void> {
    return this.stopWith(cease(subcode, text));
  }

  /** stop() with a NOTIFICATION built by the caller (a Cease/Hard Reset with its data, RFC 8538). */
  async stopWith(notification: Notification): Promise<void> {
    this.enabled = false;
    const second = this.secondary;
    if (second) this.post(second, { type: 'Stop', notification });
    this.post(this.primary, { type: 'Stop', notification });
    await Promise.resolve(); // called from a handler, the stop runs once that handler returns
    await Promise.all([...this.closing]);
  }

  /**
   * Drops the connections without a NOTIFICATION and stays Idle until start(). A peer
   * that negotiated graceful restart then keeps our routes (RFC 4724 §4.2), which a
   * Cease without the N bit (RFC 8538) would not let it do.
   */
  async close(): Promise<void> {
    this.enabled = false;
    const second = this.secondary;
    if (second) this.post(second, { type: 'Stop' });
    this.post(this.primary, { type: 'Stop' });
    await Promise.resolve();
    await Promise.all([...this.closing]);
  }

  /** Cease (administrative reset by default), then start again. */
  async restart(subcode: number = CeaseSubcode.ADMINISTRATIVE_RESET, text?: string): Promise<void> {
    await this.stop(subcode, text);
    this.start();
  }

  /** A connection the listener accepted from this peer's address. */
  incoming(conn: Connection): void {
    this.enqueue(() => this.accept(conn));
  }

  // ---- sending ----

  /** True when an UPDATE can be written now without queueing. */
  get writable(): boolean {
    const p = this.primary;
    return p.state === 'Established' && !p.blocked && p.queue.length === 0;
  }

  /** Resolves true once writable, false if the session goes down first. */
  whenWritable(): Promise<boolean> {
    if (this.writable) return Promise.resolve(true);
    if (this.primary.state !== 'Established') return Promise.resolve(false);
    return new Promise((resolve) => this.writableWaiters.push(resolve));
  }

  /**
   * Encodes with the negotiated options and writes, or queues behind earlier UPDATEs
   * while the socket is full. False when not Established (nothing is sent).
   */
  sendUpdate(update: Partial<Update>): boolean {
    const p = this.primary;
    if (p.state !== 'Established' || !p.conn) return false;
    const buf = encodeUpdate(update, p.options);
    this.counters.messagesOut.update++;
    this.counters.prefixesSent += prefixCount(update);
    this.log.debug({ dir: 'out', type: 'update', length: buf.length, announced: prefixCount(update) }, 'UPDATE');
    if (p.blocked || p.queue.length > 0) p.queue.push(buf);
    else if (!p.conn.write(buf)) p.blocked = true;
    return true;
  }

  /** Writes UPDATEs in order, waiting for the socket to drain; false if the session went down. */
  async sendUpdates(updates: Iterable<Partial<Update>>): Promise<boolean> {
    for (const u of updates) {
      if (!this.writable && !(await this.whenWritable())) return false;
      if (!this.sendUpdate(u)) return false;
    }
    return true;
  }

  sendEndOfRib(family: Family): boolean {
    return this.sendUpdate(endOfRib(family));
  }

  /** Asks the peer to resend its routes; false unless Established with route refresh and the family. */
  sendRouteRefresh(family: Family): boolean {
    const p = this.primary;
    const n = p.negotiated;
    if (p.state !== 'Established' || !n || !n.routeRefresh || !n.families.includes(family)) return false;
    this.send(p, { type: 'route-refresh', routeRefresh: routeRefresh(family) });
    return true;
  }

  // ---- status ----

  status(): SessionStatus {
    const p = this.primary;
    const cfg = this.config;
    const shown = p.state === 'Active' && cfg.passive ? 'Passive' : p.state;
    const s: SessionStatus = {
      name: cfg.name,
      state: p.state,
      since: new Date(p.since),
      info: this.lastError && p.state !== 'Established' ? `${shown} ${this.lastError}` : shown,
      passive: cfg.passive,
      localAs: cfg.localAs,
      remoteAs: cfg.remoteAs,
      routerId: cfg.routerId,
      remoteAddress: cfg.remoteAddress,
      remotePort: cfg.remotePort,
      counters: structuredClone(this.counters),
    };
    if (this.lastError) s.lastError = this.lastError;
    if (this.lastNotification) s.lastNotification = { ...this.lastNotification };
    const conn = p.dialing ? undefined : p.conn;
    const local = conn?.localAddress ?? cfg.localAddress;
    if (local) s.localAddress = local.replace(/^::ffff:(?=\d+\.)/, '');
    if (conn?.localPort) s.localPort = conn.localPort;
    if (conn?.remotePort) s.remotePort = conn.remotePort;
    if (p.negotiated) s.negotiated = negotiatedInfo(p.negotiated);
    if (this.idleHoldUntil !== undefined && p.timers.isRunning('idleHold')) {
      s.idleHoldSeconds = Math.max(0, (this.idleHoldUntil - this.clock.now()) / 1000);
    }
    return s;
  }

  // ---- the event loop: one event at a time, in order, also when handlers call back in ----

  private enqueue(fn: () => void): void {
    this.work.push(fn);
    if (this.running) return;
    this.running = true;
    try {
      for (let job = this.work.shift(); job; job = this.work.shift()) {
        try {
          job();
        } catch (err) {
          this.log.error({ err }, 'BGP session: unexpected error');
        }
      }
    } finally {
      this.running = false;
    }
  }

  private post(slot: Slot, ev: FsmEvent): void {
    this.enqueue(() => this.dispatch(slot, ev));
  }

  private live(slot: Slot): boolean {
    return slot === this.primary || slot === this.secondary;
  }

  private context(slot: Slot): FsmContext {
    const other = slot === this.primary ? this.secondary : this.primary;
    return {
      cfg: this.config,
      localOpen: this.open,
      outgoing: slot.outgoing,
      dialing: slot.dialing,
      negotiated: slot.negotiated,
      other: other && other !== slot ? { state: other.state, outgoing: other.outgoing } : undefined,
    };
  }

  private dispatch(slot: Slot, ev: FsmEvent): void {
    if (!this.live(slot)) return;
    const from = slot.state;
    const wasPrimary = slot === this.primary;
    this.dispatchFrom = from;
    const t = STATE_FUNCTIONS[from](this.context(slot), ev);
    this.transitionNotification = ev.type === 'Notification' ? this.lastNotification : undefined;
    slot.state = t.next;
    if (t.next !== from) slot.since = this.clock.now();
    if (t.error && wasPrimary) this.lastError = t.error;
    for (const a of t.actions) this.act(slot, a);
    if (t.next === from) {
      if (t.error) this.log.info({ state: from, reason: t.reason, error: t.error }, 'BGP session');
      else if (ev.type !== 'Update' && ev.type !== 'Keepalive' && ev.type !== 'KeepaliveTimerExpires') this.log.debug({ state: from, event: ev.type, reason: t.reason }, 'BGP event');
      return;
    }
    const isPrimary = slot === this.primary;
    const fields = { from, to: t.next, reason: t.reason, ...(t.error ? { error: t.error } : {}) };
    if (wasPrimary && isPrimary) {
      this.log.info(fields, 'BGP state change');
      this.handlers.onStateChange?.({ from, to: t.next, reason: t.reason });
    } else if (!isPrimary) {
      // The second connection of a collision, or the one that lost it.
      this.log.info({ ...fields, connection: slot.outgoing ? 'outgoing' : 'incoming' }, 'BGP connection state change');
    } // else: promoted during this event; promote() reported it
    if (t.next === 'Idle') this.afterIdle(slot, from, t);
    else if (t.next === 'Active' || t.next === 'Connect') this.connectionLost(slot, t);
  }

  /** A connection went back to waiting (a lost collision): the other one, if any, carries on. */
  private connectionLost(slot: Slot, t: Transition): void {
    if (slot === this.secondary) {
      this.discard(slot, t.reason);
      this.reset(slot);
    } else if (slot === this.primary && this.secondary) {
      this.reset(slot);
      this.promote(t.reason);
    }
  }

  private act(slot: Slot, a: Action): void {
    switch (a.kind) {
      case 'dial':
        return this.dial(slot);
      case 'close':
        return this.release(slot, false);
      case 'send':
        return this.send(slot, a.message);
      case 'notify':
        return this.notify(slot, a.notification);
      case 'startTimer': {
        const ms = JITTERED.has(a.timer) ? jitter(a.ms, this.random) : a.ms;
        if (a.timer === 'idleHold') this.idleHoldUntil = this.clock.now() + ms;
        return slot.timers.start(a.timer, ms);
      }
      case 'stopTimer':
        return slot.timers.stop(a.timer);
      case 'negotiated':
        slot.negotiated = a.negotiated;
        slot.options = a.negotiated.options;
        slot.reader.extendedMessage = a.negotiated.extendedMessage;
        this.log.debug({ peerId: a.open.bgpId, peerAs: a.open.asn, holdTime: a.negotiated.holdTime, families: a.negotiated.families }, 'OPEN accepted');
        return;
      case 'established':
        return this.established(slot);
      case 'update':
        return this.deliverUpdate(slot, a.update);
      case 'routeRefresh':
        return this.deliverRouteRefresh(slot, a.routeRefresh);
      case 'backoff':
        slot.backoff = true;
        return;
      case 'dropOther': {
        const other = slot === this.primary ? this.secondary : this.primary;
        if (other) this.discard(other, 'connection collision');
        if (slot === this.secondary) this.promote('connection collision: kept the incoming connection');
        return;
      }
      case 'yield':
        if (slot === this.primary) this.promote(`connection collision: kept the ${slot.outgoing ? 'incoming' : 'outgoing'} connection`, this.dispatchFrom);
        return;
    }
  }

  // ---- connections ----

  private newSlot(state: State): Slot {
    const slot: Slot = {
      state,
      since: this.clock.now(),
      outgoing: false,
      dialing: false,
      reader: new MessageReader(),
      options: INITIAL_OPTIONS,
      timers: undefined as unknown as Timers,
      queue: [],
      blocked: false,
      backoff: false,
      yielded: false,
      readPending: false,
    };
    slot.timers = new Timers(this.clock, (name) => this.timerFired(slot, name));
    return slot;
  }

  private timerFired(slot: Slot, name: TimerName): void {
    const ev: Record<TimerName, FsmEvent> = {
      connectRetry: { type: 'ConnectRetryTimerExpires' },
      hold: { type: 'HoldTimerExpires' },
      keepalive: { type: 'KeepaliveTimerExpires' },
      idleHold: { type: 'IdleHoldTimerExpires' },
    };
    this.post(slot, ev[name]);
  }

  private dial(slot: Slot): void {
    this.release(slot, false);
    const cfg = this.config;
    let conn: Connection;
    try {
      const target: Parameters<Dialer['dial']>[0] = { remoteAddress: cfg.remoteAddress, remotePort: cfg.remotePort };
      if (cfg.localAddress) target.localAddress = cfg.localAddress;
      if (cfg.localPort) target.localPort = cfg.localPort;
      if (cfg.md5Key) target.md5Key = cfg.md5Key;
      if (cfg.ttlSecurity) target.ttlSecurity = cfg.ttlSecurity;
      conn = this.dialer.dial(target);
    } catch (err) {
      this.log.warn({ err }, 'cannot start a connection');
      this.post(slot, { type: 'TcpFails', error: socketError(err) });
      return;
    }
    slot.outgoing = true;
    slot.dialing = true;
    this.attach(slot, conn);
    conn.on('connect', () =>
      this.enqueue(() => {
        if (slot.conn !== conn) return;
        slot.dialing = false;
        this.dispatch(slot, { type: 'TcpConnected' });
      }),
    );
  }

  private attach(slot: Slot, conn: Connection): void {
    slot.conn = conn;
    let failed = false;
    let error: string | undefined;
    const fail = (text: string): void => {
      if (failed) return;
      failed = true;
      this.enqueue(() => {
        if (slot.conn === conn) this.dispatch(slot, { type: 'TcpFails', error: text });
      });
    };
    conn.on('data', (chunk) => this.enqueue(() => this.receive(slot, conn, chunk)));
    conn.on('drain', () => this.enqueue(() => this.drained(slot, conn)));
    conn.on('error', (err) => {
      error = socketError(err);
      this.log.debug({ err }, 'socket error');
      fail(error);
    });
    conn.on('end', () => fail(error ?? SOCKET_CLOSED));
    conn.on('close', () => fail(error ?? SOCKET_CLOSED));
  }

  /** Forgets the slot's connection: destroyed at once, or ended after what was written (a NOTIFICATION) left. */
  private release(slot: Slot, graceful: boolean): void {
    const conn = slot.conn;
    slot.conn = undefined;
    slot.dialing = false;
    slot.queue = [];
    slot.blocked = false;
    if (!conn) return;
    conn.removeAllListeners();
    conn.on('error', () => {}); // late errors of a socket we let go of are of no interest
    const closed = new Promise<void>((resolve) => {
      const timer = this.clock.setTimeout(() => {
        conn.destroy();
        resolve();
      }, graceful ? CLOSE_GRACE_MS : 0);
      conn.once('close', () => {
        this.clock.clearTimeout(timer);
        resolve();
      });
    });
    this.closing.add(closed);
    void closed.then(() => this.closing.delete(closed));
    if (graceful) conn.end();
    else conn.destroy();
  }

  private accept(conn: Connection): void {
    const p = this.primary;
    // BIRD's gr_ready: both sides offered graceful restart on the Established session.
    const gracefulRestart = this.config.gracefulRestart !== undefined && p.negotiated?.gracefulRestart !== undefined;
    const holdAfterLoss = this.holdAfterLoss && p.timers.isRunning('idleHold');
    const decision = this.enabled ? incomingDecision(p.state, { outgoing: p.outgoing, hasSecond: this.secondary !== undefined, gracefulRestart, holdAfterLoss }) : 'refuse';
    const from = { remoteAddress: conn.remoteAddress, remotePort: conn.remotePort, state: p.state };
    switch (decision) {
      case 'refuse':
      case 'reject': {
        this.counters.connectionsRejected++;
        this.log.info({ ...from, decision }, 'incoming connection not taken');
        const slot = this.newSlot('Idle');
        slot.conn = conn;
        if (decision === 'reject') this.writeNotification(slot, cease(CeaseSubcode.CONNECTION_REJECTED), false);
        this.release(slot, decision === 'reject');
        return;
      }
      case 'restarted':
        this.log.info(from, 'the peer connected again while Established: it restarted (RFC 4724 §4.2)');
        this.dispatch(p, { type: 'PeerRestarted' });
        // onDown ran; the owner may have stopped or replaced us meanwhile.
        if (!this.enabled || this.primary !== p || p.state !== 'Idle') {
          conn.destroy();
          return;
        }
        this.adopt(p, conn);
        return;
      case 'resume':
        this.log.info(from, 'the peer connected again during our idle hold after the lost connection: taken');
        p.timers.stop('idleHold');
        this.holdAfterLoss = false;
        this.adopt(p, conn);
        return;
      case 'adopt':
        this.adopt(p, conn);
        return;
      case 'second': {
        this.log.info(from, 'incoming connection while our own is opening: both run until the OPENs settle it');
        const s = this.newSlot('Active');
        this.secondary = s;
        this.attach(s, conn);
        this.dispatch(s, { type: 'TcpIncoming' });
        return;
      }
    }
  }

  private adopt(p: Slot, conn: Connection): void {
    this.release(p, false);
    p.outgoing = false;
    this.attach(p, conn);
    this.dispatch(p, { type: 'TcpIncoming' });
  }

  /** The other connection lost: Cease/Connection Collision Resolution on it, then it goes. */
  private discard(slot: Slot, reason: string): void {
    this.log.info({ state: slot.state, reason, outgoing: slot.outgoing }, 'closing the losing connection');
    if (slot.conn && !slot.dialing) this.writeNotification(slot, cease(CeaseSubcode.CONNECTION_COLLISION_RESOLUTION), false);
    this.release(slot, true);
    slot.timers.stopAll();
    if (slot === this.secondary) this.secondary = undefined;
  }

  /** The second connection takes over from the first. */
  private promote(reason: string, oldState?: State): void {
    const s = this.secondary;
    if (!s) return;
    const old = this.primary;
    const from = oldState ?? old.state;
    old.timers.stopAll();
    if (old.conn) this.release(old, false);
    this.primary = s;
    this.secondary = undefined;
    this.log.info({ from, to: s.state, reason }, 'BGP state change');
    if (from !== s.state) this.handlers.onStateChange?.({ from, to: s.state, reason });
  }

  private afterIdle(slot: Slot, from: State, t: Transition): void {
    const backoff = slot.backoff;
    slot.backoff = false;
    const establishedAt = slot.establishedAt;
    this.reset(slot);
    if (slot === this.secondary) {
      this.secondary = undefined;
      return;
    }
    if (slot !== this.primary) return;
    if (backoff && this.secondary) {
      // The peer carries on over the other connection.
      this.promote(`first connection failed: ${t.reason}`);
      return;
    }
    const wasEstablished = from === 'Established';
    const down: DownEvent = { reason: t.reason, wasEstablished };
    if (t.error) down.error = t.error;
    if (this.transitionNotification) down.notification = this.transitionNotification;
    this.holdAfterLoss = false;
    if (backoff && this.enabled) {
      this.holdAfterLoss = this.transitionNotification === undefined;
      const now = this.clock.now();
      const wait = this.backoff.next(now, wasEstablished && establishedAt !== undefined ? now - establishedAt : 0);
      this.idleHoldUntil = now + wait;
      slot.timers.start('idleHold', wait);
      this.log.info({ seconds: wait / 1000 }, 'waiting before the next start');
    }
    this.handlers.onDown?.(down);
  }

  /** Per-connection state goes with the connection. */
  private reset(slot: Slot): void {
    slot.reader = new MessageReader();
    slot.yielded = false;
    slot.readPending = false;
    slot.options = INITIAL_OPTIONS;
    slot.negotiated = undefined;
    slot.establishedAt = undefined;
    slot.outgoing = false;
    slot.queue = [];
    slot.blocked = false;
    if (slot === this.primary) {
      const waiters = this.writableWaiters;
      this.writableWaiters = [];
      for (const w of waiters) w(false);
    }
  }

  private established(slot: Slot): void {
    slot.establishedAt = this.clock.now();
    if (slot === this.secondary) {
      this.discard(this.primary, 'the other connection reached Established');
      this.promote('connection collision: kept the incoming connection');
    } else if (this.secondary) {
      this.discard(this.secondary, 'the other connection reached Established');
    }
    this.counters.established++;
    this.handlers.onEstablished?.(negotiatedInfo(slot.negotiated!));
  }

  // ---- I/O ----

  private receive(slot: Slot, conn: Connection, chunk: Buffer): void {
    if (slot.conn !== conn) return;
    slot.reader.push(chunk);
    if (!slot.readPending) this.readMessages(slot, conn);
  }

  /** When this turn of the event loop started reading (reads of one turn share the budget). */
  private turnStarted = -1;

  private readMessages(slot: Slot, conn: Connection): void {
    slot.readPending = false;
    if (this.turnStarted < 0) {
      this.turnStarted = performance.now();
      setImmediate(() => (this.turnStarted = -1));
    }
    for (;;) {
      if (slot.conn !== conn || !this.live(slot)) return;
      // Let what a handler queued (a stop, say) go first; other reads wait their turn anyway.
      if (this.work.some((job) => !(job as ReadJob).read)) {
        slot.readPending = true;
        this.work.push(Object.assign(() => this.readMessages(slot, conn), { read: true }));
        return;
      }
      let msg: Buffer | undefined;
      try {
        msg = slot.reader.next();
      } catch (err) {
        this.dispatch(slot, { type: 'DecodeError', error: err as BgpMessageError });
        return;
      }
      if (!msg) {
        if (slot.yielded) {
          slot.yielded = false;
          conn.resume?.();
        }
        return;
      }
      countMessage(this.counters.messagesIn, msg);
      this.dispatch(slot, this.decode(slot, msg));
      if (performance.now() - this.turnStarted > READ_BUDGET_MS) {
        if (!slot.yielded && slot.reader.bufferedLength > READ_BACKLOG_MAX) {
          slot.yielded = true;
          conn.pause?.();
        }
        // Continued after this turn's I/O; from then on every continuation has a turn of
        // the loop (timers, keepalives, other sockets) between it and the next.
        slot.readPending = true;
        setImmediate(() => this.enqueue(Object.assign(() => this.readMessages(slot, conn), { read: true })));
        return;
      }
    }
  }

  private decode(slot: Slot, msg: Buffer): FsmEvent {
    let m;
    try {
      m = decodeMessage(msg, slot.options);
    } catch (err) {
      if (err instanceof BgpMessageError) {
        this.log.warn({ err, length: msg.length, type: msg[18] }, 'malformed message');
        return { type: 'DecodeError', error: err };
      }
      throw err;
    }
    if (m.type !== 'update' && m.type !== 'keepalive') this.log.debug({ dir: 'in', type: m.type, length: msg.length }, 'message');
    switch (m.type) {
      case 'open':
        return { type: 'Open', open: m.open };
      case 'update':
        return { type: 'Update', update: m.update };
      case 'keepalive':
        return { type: 'Keepalive' };
      case 'route-refresh':
        return { type: 'RouteRefresh', routeRefresh: m.routeRefresh };
      case 'notification': {
        const n = m.notification;
        this.counters.notificationsIn[n.code] = (this.counters.notificationsIn[n.code] ?? 0) + 1;
        const last: LastNotification = { direction: 'received', code: n.code, subcode: n.subcode, name: notificationName(n), at: new Date(this.clock.now()) };
        const text = shutdownCommunication(n);
        if (text !== undefined) last.text = text;
        this.lastNotification = last;
        this.log.info({ code: n.code, subcode: n.subcode, name: last.name, ...(text ? { text } : {}) }, 'NOTIFICATION received');
        return { type: 'Notification', notification: n };
      }
    }
  }

  private send(slot: Slot, m: BgpMessage): void {
    if (!slot.conn) return;
    const buf = m.type === 'open' ? encodeMessage(m, INITIAL_OPTIONS) : encodeMessage(m, slot.options);
    countMessage(this.counters.messagesOut, buf);
    if (m.type !== 'keepalive') this.log.debug({ dir: 'out', type: m.type, length: buf.length }, 'message');
    // KEEPALIVEs and OPEN bypass the UPDATE queue: the socket buffers them in order anyway.
    slot.conn.write(buf);
  }

  private writeNotification(slot: Slot, n: Notification, record: boolean): void {
    if (!slot.conn) return;
    slot.conn.write(encodeNotification(n, slot.options));
    this.counters.messagesOut.notification++;
    this.counters.notificationsOut[n.code] = (this.counters.notificationsOut[n.code] ?? 0) + 1;
    const last: LastNotification = { direction: 'sent', code: n.code, subcode: n.subcode, name: notificationName(n), at: new Date(this.clock.now()) };
    const text = shutdownCommunication(n);
    if (text !== undefined) last.text = text;
    this.log.info({ code: n.code, subcode: n.subcode, name: last.name, ...(text ? { text } : {}) }, 'NOTIFICATION sent');
    if (record) {
      this.lastNotification = last;
      this.transitionNotification = last;
    }
  }

  private notify(slot: Slot, n: Notification): void {
    if (slot.conn && !slot.dialing) this.writeNotification(slot, n, slot === this.primary);
    this.release(slot, true);
  }

  private drained(slot: Slot, conn: Connection): void {
    if (slot.conn !== conn) return;
    slot.blocked = false;
    while (slot.queue.length > 0 && !slot.blocked) {
      if (!conn.write(slot.queue.shift()!)) slot.blocked = true;
    }
    if (slot === this.primary && this.writable) {
      const waiters = this.writableWaiters;
      this.writableWaiters = [];
      for (const w of waiters) w(true);
    }
  }

  // ---- delivery ----

  private deliverUpdate(slot: Slot, u: DecodedUpdate): void {
    const families = slot.negotiated?.families ?? [];
    const eor = isEndOfRib(u);
    if (eor) {
      this.log.debug({ family: eor }, 'End-of-RIB received');
      if (families.includes(eor)) this.handlers.onEndOfRib?.(eor);
      return;
    }
    const built = updateEvent(u, families);
    const c = this.counters;
    c.prefixesReceived += built.announced;
    c.prefixesWithdrawn += built.withdrawn;
    if (u.treatAsWithdraw) {
      c.treatAsWithdraw++;
      this.log.warn({ err: u.treatAsWithdraw }, 'UPDATE error: its routes are treated as withdrawn (RFC 7606)');
    }
    if (u.discarded.length > 0) {
      c.attributesDiscarded += u.discarded.length;
      this.log.warn({ discarded: u.discarded.map((e) => e.message) }, 'UPDATE error: attributes discarded (RFC 7606)');
    }
    if (built.ignored.length > 0) this.log.debug({ families: built.ignored }, 'UPDATE for a family not negotiated: ignored');
    this.log.debug({ dir: 'in', type: 'update', announced: built.announced, withdrawn: built.withdrawn }, 'UPDATE');
    if (built.event) this.handlers.onUpdate?.(built.event);
  }

  private deliverRouteRefresh(slot: Slot, rr: RouteRefresh): void {
    const family = familyOf(rr.afi, rr.safi);
    if (!family || !slot.negotiated?.families.includes(family) || !this.config.routeRefresh) {
      this.log.debug({ afi: rr.afi, safi: rr.safi }, 'ROUTE-REFRESH for a family not negotiated: ignored');
      return;
    }
    // Only plain requests; the enhanced subtypes (RFC 7313) mark the peer's own refresh.
    if (rr.subtype !== RouteRefreshSubtype.NORMAL) return;
    this.handlers.onRouteRefresh?.(family);
  }
}
