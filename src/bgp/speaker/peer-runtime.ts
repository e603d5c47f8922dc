// One configured peer inside the speaker: its session, its Adj-RIB-Out while
// Established, the graceful-restart helper state for its routes, and the sender that
// drains the Adj-RIB-Out's pending prefixes into UPDATEs as fast as the socket takes
// them (so a slow peer holds one pending entry per prefix, never a queue of every
// change). RIB changes go to the speaker (the host), which fans them out.

import type { Logger } from '../../util/log.js';
import { AdjRibOut, type BestPathChange, type ImportRejection, type Outbound, type Rib, type RibAttributes, type RibUpdate } from '../rib/index.js';
import { BgpSession, type Clock, type DownEvent, type NegotiatedInfo, type UpdateEvent } from '../session/index.js';
import type { TimerHandle } from '../../util/clock.js';
import { CeaseSubcode, endOfRib, type Family, type Notification, type Update } from '../wire/index.js';
import { ceaseNotification, flushOnEstablish, retainOnDown } from './graceful-restart.js';
import { flushLongLivedOnEstablish, longLivedOnDown } from './long-lived.js';
import { exportChanged, importChanged, peerDescriptor, peerFamily, peerLocalAsn, peerType, sessionConfig, sessionKey } from './peer-config.js';
import type { SpeakerOptions, SpeakerPeer, SpeakerPeerStatus } from './types.js';
import { packOutbound } from './update-packer.js';

const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];
const LOOPS: ReadonlySet<ImportRejection> = new Set<ImportRejection>(['as-path', 'originator-id', 'cluster-list']);
export const DEFAULT_STALE_TIME = 360;
/** Prefixes taken from the Adj-RIB-Out per round of UPDATEs (only the last message of a round may be partly full). */
const TAKE = 16384;
export const DEFAULT_MAX_PREFIX_RESTART = 30;

/** What a peer needs from the speaker that owns it. */
export interface PeerHost {
  readonly rib: Rib;
  readonly clock: Clock;
  /** The speaker's `{component: 'bgp'}` logger. */
  readonly log: Logger;
  /** The root logger, for sessions (they add their own component and peer). */
  readonly rootLog: Logger;
  readonly options: SpeakerOptions;
  /** Sessions may run (start() was called, stop() was not). */
  readonly running: boolean;
  /**
   * The initial table is complete: setLocalRoutes() was called (or we gave up waiting)
   * and, after our own restart, selection deferral is over (RFC 4724 §4.1).
   */
  readonly initialTableReady: boolean;
  /** We restarted with forwarding state kept and are still recovering: R and F bits in our OPENs. */
  readonly restarting: boolean;
  /** For selection deferral: the peer is up, it sent End-of-RIB. */
  peerEstablished(peerId: string, negotiated: NegotiatedInfo): void;
  peerEndOfRib(peerId: string, family: Family): void;
  /** RIB changes: to every peer's Adj-RIB-Out and to the best-path listeners. */
  changed(changes: readonly BestPathChange[]): void;
  /** Every other peer's Adj-RIB-Out must be brought in line (reflection rules changed). */
  resyncOthers(except: PeerRuntime): void;
  register(session: BgpSession): void;
  unregister(session: BgpSession): void;
  /** A session of this peer reached Established. */
  established(id: string): void;
}

export class PeerRuntime {
  session: BgpSession;
  private readonly log: Logger;
  /** Bumped whenever the session goes up or down: queued UPDATEs of an older epoch are dropped. */
  private epoch = 0;
  private out: AdjRibOut | undefined;
  private negotiated: NegotiatedInfo | undefined;
  private sessionLocal: string | undefined;
  /** The RIB has this peer (routes, maybe stale). */
  private inRib = false;
  /** Established, waiting for the first setLocalRoutes() before the initial table. */
  private pendingInitial = false;
  private readonly stale = new Set<Family>();
  private restartTimer: TimerHandle | undefined;
  private staleTimer: TimerHandle | undefined;
  /** Families the peer asked us to keep long-lived (RFC 9494) once the restart time is over, with their stale times. */
  private longLivedPlan = new Map<Family, number>();
  /** Families in their long-lived stale period, with the timer that ends it. */
  private readonly longLived = new Map<Family, TimerHandle>();
  private limitTimer: TimerHandle | undefined;
  /** We are taking the session down on purpose: its routes are not kept. */
  private deliberate = false;
  /** Why we took it down, shown in status until it is up again. */
  private adminError: string | undefined;
  /** The sender is draining the Adj-RIB-Out. */
  private sending = false;
  /** Families owing End-of-RIB after the initial table: how many pending prefixes belong to it. */
  private readonly initialLeft = new Map<Family, number>();
  private initialStarted = 0;
  private initialSent = 0;
  /** The forwarding path is usable as far as anything outside BGP (BFD) knows. */
  private live = true;
  /** New prefixes ignored for being over maxPrefixes with the 'reject' action. */
  private overLimit = 0;
  /** Announcements refused by the import checks, per reason (RFC 7606 treat-as-withdraw). */
  private readonly rejected: Partial<Record<ImportRejection, number>> = {};
  private readonly onRejected = (reason: ImportRejection, prefixes: number): void => {
    const before = this.rejected[reason] ?? 0;
    this.rejected[reason] = before + prefixes;
    // RFC 4271 §6.3 / RFC 7606: log it. The first of each kind as a warning, the flood at
    // debug; loops are routine (a reflector sends a client its own routes back).
    const fields = { reason, prefixes, total: before + prefixes };
    if (before === 0 && !LOOPS.has(reason)) this.log.warn(fields, 'UPDATE refused by import checks: treated as withdrawn');
    else this.log.debug(fields, 'UPDATE refused by import checks: treated as withdrawn');
  };

  constructor(
    private readonly host: PeerHost,
    public cfg: SpeakerPeer,
  ) {
    this.log = host.log.child({ peer: cfg.id });
    this.session = this.build();
  }

  get id(): string {
    return this.cfg.id;
  }

  start(): void {
    if (this.live) this.session.start();
  }

  /**
   * Liveness of the path to the peer from outside BGP (a BFD session). Down: the session
   * goes at once with Cease/BFD Down (RFC 9384) and the peer's routes are withdrawn, no
   * graceful restart (BIRD's `bfd on`); it stays Idle until the path is back.
   */
  setLive(live: boolean, reason: string): void {
    if (live === this.live) return;
    this.live = live;
    if (live) {
      this.log.info({ reason }, 'path to the peer is back: session may start');
      this.deliberate = false;
      this.startSession();
      return;
    }
    this.log.warn({ reason, state: this.session.state }, 'path to the peer is down: session down');
    this.deliberate = true;
    this.adminError = reason;
    if (this.limitTimer !== undefined) this.host.clock.clearTimeout(this.limitTimer);
    this.limitTimer = undefined;
    void this.session.stopWith(this.cease(CeaseSubcode.BFD_DOWN));
    this.dropRoutes();
  }

  // ---- configuration ----

  /** A new desired configuration for this peer; restarts the session only when it must. */
  reconfigure(next: SpeakerPeer): void {
    const old = this.cfg;
    this.cfg = next;
    const opts = this.host.options;
    if (sessionKey(old, opts) !== sessionKey(next, opts)) {
      this.log.info('session settings changed: new session');
      this.replace(CeaseSubcode.OTHER_CONFIGURATION_CHANGE);
      return;
    }
    const n = this.negotiated;
    if (this.out && n && (exportChanged(old, next) || importChanged(old, next))) {
      const desc = peerDescriptor(next, opts, n.peerId, this.sessionLocal, longLivedAware(n));
      this.host.changed(this.host.rib.setPeer(desc, next.importPolicy));
      if (exportChanged(old, next)) {
        this.out.setTarget(desc, next.exportFilter);
        if (!this.pendingInitial) this.resync();
      }
      if (old.rrClient !== next.rrClient) this.host.resyncOthers(this);
      if (importChanged(old, next)) {
        // The peer must send its routes again for the new policy to see them.
        const refreshed = n.families.every((f) => this.session.sendRouteRefresh(f));
        if (!refreshed) {
          this.log.info('import policy changed and the peer has no route refresh: new session');
          this.replace(CeaseSubcode.ADMINISTRATIVE_RESET);
          return;
        }
      }
    }
    if (next.maxPrefixes !== old.maxPrefixes || next.maxPrefixesAction !== old.maxPrefixesAction) this.checkLimit();
  }

  /** The peer is no longer configured: Cease/Peer De-configured, its routes go. */
  remove(): Promise<void> {
    this.clearTimers();
    const s = this.session;
    s.setHandlers({});
    this.host.unregister(s);
    const stopped = s.stopWith(this.cease(CeaseSubcode.PEER_DE_CONFIGURED));
    this.dropAll();
    return stopped;
  }

  /** The speaker stops. graceful: the peer keeps our routes (RFC 4724 / RFC 8538). */
  shutdown(graceful: boolean): Promise<void> {
    this.clearTimers();
    const s = this.session;
    s.setHandlers({});
    this.epoch++;
    if (!graceful) return s.stopWith(this.cease(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN));
    // With the N bit a Cease other than Hard Reset still means "keep my routes"; without
    // it only a connection closed without a NOTIFICATION does.
    if (s.state === 'Established' && this.negotiated?.gracefulRestart?.notification) return s.stop(CeaseSubcode.ADMINISTRATIVE_RESET, 'graceful restart');
    return s.close();
  }

  // ---- what the speaker sends ----

  /** RIB changes, to the peer if it is past its initial table (coalesced per prefix). */
  advertise(changes: readonly BestPathChange[]): void {
    if (!this.out || this.pendingInitial) return;
    this.out.mark(changes);
    this.kick();
  }

  /** Local routes are known and selection deferral is over: the table can go out. */
  sendInitialTable(): void {
    if (this.pendingInitial) this.initialTable();
  }

  /** Our restart is over: OPENs from now on carry neither the R nor the F bits (RFC 4724 §3). */
  recovered(): void {
    const gr = sessionConfig(this.cfg, this.host.options, false).gracefulRestart;
    if (gr) this.session.setGracefulRestart(gr);
  }

  /** Re-computes everything advertised to the peer (export rules changed). */
  resync(): void {
    const out = this.out;
    const n = this.negotiated;
    if (!out || !n || this.pendingInitial) return;
    for (const f of n.families) out.markAll(f, this.host.rib.bestPaths(f));
    this.kick();
  }

  private initialTable(): void {
    const out = this.out;
    const n = this.negotiated;
    if (!out || !n) return;
    this.pendingInitial = false;
    // The table is read as it goes out; later changes join the same pending set, and
    // End-of-RIB follows the last prefix of the initial table.
    for (const f of n.families) {
      out.markAll(f, this.host.rib.bestPaths(f));
      this.initialLeft.set(f, out.pendingCount(f));
    }
    this.initialStarted = this.host.clock.now();
    this.kick();
  }


  /** Starts the sender unless it runs: it drains the pending prefixes while the session lasts. */
  private kick(): void {
    if (this.sending) return;
    const out = this.out;
    if (!out || (out.pendingCount() === 0 && this.initialLeft.size === 0)) return;
    this.sending = true;
    void this.drain(out, this.epoch, this.session).catch((err: unknown) => this.log.error({ err }, 'cannot send UPDATEs')).finally(() => {
      this.sending = false;
      // Marked while the last round was finishing: go again (kick() checks there is something).
      if (this.out === out) this.kick();
    });
  }

  private async drain(out: AdjRibOut, epoch: number, session: BgpSession): Promise<void> {
    const live = (): boolean => this.epoch === epoch && this.session === session && this.out === out;
    const opts = session.codecOptions;
    const families = this.negotiated?.families ?? [];
    const bestOf = (f: Family, prefix: string) => this.host.rib.best(f, prefix);
    while (live()) {
      let sentSomething = false;
      for (const f of families) {
        const owed = this.initialLeft.get(f);
        if (out.pendingCount(f) === 0 && owed === undefined) continue;
        const take = owed !== undefined && owed > 0 ? Math.min(TAKE, owed) : TAKE;
        const o = out.take(f, bestOf, take);
        const updates: Partial<Update>[] = [...packOutbound(o, opts)];
        if (owed !== undefined) {
          const left = Math.max(0, owed - take);
          this.initialSent += o.announced.reduce((t, g) => t + g.prefixes.length, 0);
          // Always: BIRD waits for it, and a helper of ours sweeps what it did not get.
          if (left === 0) {
            updates.push(endOfRib(f));
            this.initialLeft.delete(f);
            if (this.initialLeft.size === 0) this.log.info({ prefixes: this.initialSent, ms: this.host.clock.now() - this.initialStarted }, 'initial table and End-of-RIB sent');
          } else {
            this.initialLeft.set(f, left);
          }
        }
        if (updates.length === 0) continue;
        sentSomething = true;
        if (!(await session.sendUpdates(updates)) || !live()) return;
      }
      if (!sentSomething) return;
    }
  }

  // ---- session events ----

  private build(): BgpSession {
    const opts = this.host.options;
    const cfg = sessionConfig(this.cfg, opts, this.host.restarting);
    const session = new BgpSession({
      ...cfg,
      logger: this.host.rootLog,
      clock: this.host.clock,
      ...(opts.dialer ? { dialer: opts.dialer } : {}),
      ...(opts.random ? { random: opts.random } : {}),
    });
    session.setHandlers({
      onEstablished: (n) => this.established(session, n),
      onUpdate: (u) => this.update(u),
      onEndOfRib: (f) => this.endOfRib(f),
      onRouteRefresh: (f) => this.routeRefresh(f),
      onDown: (d) => this.down(d),
    });
    return session;
  }

  /** A new session in place of the running one (its routes go, the peer is told why). */
  private replace(subcode: number): void {
    const old = this.session;
    old.setHandlers({});
    this.host.unregister(old);
    void old.stopWith(this.cease(subcode));
    this.clearTimers();
    this.dropAll();
    this.session = this.build();
    this.host.register(this.session);
    this.startSession();
  }

  /** Starts the session unless the speaker is not running or the path is down. */
  private startSession(): void {
    if (this.host.running && this.live) this.session.start();
  }

  private established(session: BgpSession, n: NegotiatedInfo): void {
    this.host.established(this.id);
    this.epoch++;
    this.negotiated = n;
    this.adminError = undefined;
    this.deliberate = false;
    this.sessionLocal = session.status().localAddress;
    const rib = this.host.rib;
    const desc = peerDescriptor(this.cfg, this.host.options, n.peerId, this.sessionLocal, longLivedAware(n));
    const changes = rib.setPeer(desc, this.cfg.importPolicy);
    this.inRib = true;
    if (this.restartTimer !== undefined) {
      this.host.clock.clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
    }
    this.longLivedPlan.clear();
    if (this.stale.size > 0) {
      // Families in their long-lived period answer to the new LLGR capability; their timer
      // runs on until End-of-RIB (RFC 9494 §4.2).
      const shortLived = [...this.stale].filter((f) => !this.longLived.has(f));
      const flush = [...flushOnEstablish(shortLived, n), ...flushLongLivedOnEstablish([...this.longLived.keys()], n)];
      for (const f of flush) {
        this.stale.delete(f);
        this.endLongLived(f);
        changes.push(...rib.sweepStale(this.id, f));
      }
      if (this.stale.size > 0) {
        this.log.info({ families: [...this.stale] }, 'peer is back: its stale routes stay until End-of-RIB');
        const secs = this.host.options.timers?.staleTime ?? DEFAULT_STALE_TIME;
        this.staleTimer = this.host.clock.setTimeout(() => this.staleExpired(), secs * 1000);
      }
    }
    for (const f of n.families) {
      if ((f === 'ipv4' ? desc.localAddress4 : desc.localAddress6) === undefined) {
        this.log.info({ family: f }, `no ${f} next-hop-self address for this session (set localAddress${f === 'ipv4' ? '4' : '6'}): such routes that need one are not advertised`);
      }
    }
    // The new Adj-RIB-Out starts after these changes: its initial sync covers them.
    this.host.changed(changes);
    this.out = new AdjRibOut(desc, rib.options, this.cfg.exportFilter);
    this.initialLeft.clear();
    this.initialSent = 0;
    this.pendingInitial = true;
    // May end selection deferral, which sends every pending initial table, ours too.
    this.host.peerEstablished(this.id, n);
    if (!this.pendingInitial) return;
    if (this.host.initialTableReady) this.initialTable();
    else if (this.host.restarting) this.log.info('Established: the initial table waits for End-of-RIB from the other peers (selection deferral)');
    else this.log.info('Established: the initial table waits for the local routes');
  }

  private update(ev: UpdateEvent): void {
    if (!this.inRib) return;
    const rib = this.host.rib;
    const changes: BestPathChange[] = [];
    for (const family of FAMILIES) {
      const p = ev.prefixes[family];
      if (!p) continue;
      const nh = ev.nextHops[family];
      const u: { -readonly [K in keyof RibUpdate]: RibUpdate[K] } = { family, announced: p.announced, withdrawn: p.withdrawn, attributes: ev.attributes };
      if (p.announcedPathIds) u.announcedPathIds = p.announcedPathIds;
      if (p.announced.length > 0 && this.rejectsOverLimit()) this.keepWithinLimit(u);
      if (p.withdrawnPathIds) u.withdrawnPathIds = p.withdrawnPathIds;
      if (nh) {
        u.nextHop = nh.nextHop;
        if (nh.linkLocalNextHop !== undefined) u.linkLocalNextHop = nh.linkLocalNextHop;
      }
      for (const c of rib.update(this.id, u, this.onRejected)) changes.push(c);
    }
    this.host.changed(changes);
    this.checkLimit();
  }

  private endOfRib(family: Family): void {
    this.log.info({ family }, 'End-of-RIB received');
    this.sweepAfterEndOfRib(family);
    this.host.peerEndOfRib(this.id, family);
  }

  private sweepAfterEndOfRib(family: Family): void {
    if (!this.stale.delete(family)) return;
    this.endLongLived(family);
    const changes = this.host.rib.sweepStale(this.id, family);
    if (this.stale.size === 0 && this.staleTimer !== undefined) {
      this.host.clock.clearTimeout(this.staleTimer);
      this.staleTimer = undefined;
    }
    this.log.info({ family, changed: changes.length }, 'stale routes swept after End-of-RIB');
    this.host.changed(changes);
  }

  private routeRefresh(family: Family): void {
    const out = this.out;
    if (!out || this.pendingInitial) return;
    // Everything we advertise for the family again, as it stands; nothing changes state.
    this.log.info({ family, prefixes: out.advertised(family) }, 'ROUTE-REFRESH: advertising again');
    out.markRefresh(family);
    this.kick();
  }

  private down(d: DownEvent): void {
    if (!d.wasEstablished) return;
    const n = this.negotiated;
    this.epoch++;
    this.out?.clear();
    this.out = undefined;
    this.negotiated = undefined;
    this.pendingInitial = false;
    if (this.inRib) {
      const short = retainOnDown(n, d, this.deliberate);
      const long = longLivedOnDown(n, d, this.deliberate, this.cfg.longLivedStaleTime !== undefined);
      const keep = FAMILIES.filter((f) => short.includes(f) || long.has(f));
      if (keep.length === 0) {
        this.dropRoutes();
      } else {
        const rib = this.host.rib;
        const changes = rib.removePeer(this.id, FAMILIES.filter((f) => !keep.includes(f)));
        rib.markStale(this.id, keep);
        this.stale.clear();
        for (const f of keep) this.stale.add(f);
        // A long-lived timer already running is not restarted (RFC 9494 §4.2).
        for (const f of [...this.longLived.keys()]) if (!long.has(f)) this.endLongLived(f);
        this.longLivedPlan = long;
        if (this.staleTimer !== undefined) this.host.clock.clearTimeout(this.staleTimer);
        this.staleTimer = undefined;
        const secs = n!.gracefulRestart!.restartTime;
        if (this.restartTimer !== undefined) this.host.clock.clearTimeout(this.restartTimer);
        this.restartTimer = undefined;
        this.log.info({ families: keep, restartTime: secs, longLived: Object.fromEntries(long), reason: d.reason }, 'peer restarting: its routes are kept, stale');
        this.host.changed(changes);
        // Families without a restart time (0, or not listed in the graceful restart
        // capability) go straight to the long-lived period (RFC 9494 §4.2).
        const now = FAMILIES.filter((f) => long.has(f) && !short.includes(f));
        if (now.length > 0) this.enterLongLived(now);
        if (short.length > 0) this.restartTimer = this.host.clock.setTimeout(() => this.restartExpired(), secs * 1000);
      }
    }
  }

  private restartExpired(): void {
    this.restartTimer = undefined;
    if (this.out) return;
    const gone = FAMILIES.filter((f) => this.stale.has(f) && !this.longLivedPlan.has(f));
    if (gone.length === this.stale.size) {
      this.log.info({ families: gone }, 'restart time over: the peer did not come back, its routes go');
      this.dropRoutes();
      return;
    }
    if (gone.length > 0) {
      for (const f of gone) this.stale.delete(f);
      this.log.info({ families: gone }, 'restart time over: routes without long-lived graceful restart go');
      this.host.changed(this.host.rib.removePeer(this.id, gone));
    }
    this.enterLongLived(FAMILIES.filter((f) => this.stale.has(f)));
  }

  /** RFC 9494 §4.2: the families' stale routes become LLGR-stale, each family with its timer. */
  private enterLongLived(families: readonly Family[]): void {
    const changes: BestPathChange[] = [];
    for (const f of families) {
      changes.push(...this.host.rib.longLivedStale(this.id, f));
      if (this.longLived.has(f)) continue;
      const secs = this.longLivedPlan.get(f)!;
      this.longLived.set(f, this.host.clock.setTimeout(() => this.longLivedExpired(f), secs * 1000));
    }
    this.log.info({ longLived: Object.fromEntries(families.map((f) => [f, this.longLivedPlan.get(f)])) }, 'routes kept as LLGR-stale, least preferred');
    this.host.changed(changes);
  }

  /** The long-lived stale time of a family ran out: what the peer did not refresh goes. */
  private longLivedExpired(family: Family): void {
    this.longLived.delete(family);
    if (!this.stale.delete(family)) return;
    this.log.warn({ family }, 'long-lived stale time over: LLGR-stale routes removed');
    if (this.stale.size === 0 && !this.out) {
      this.dropRoutes();
      return;
    }
    this.host.changed(this.host.rib.sweepStale(this.id, family));
  }

  private endLongLived(family: Family): void {
    const t = this.longLived.get(family);
    if (t !== undefined) this.host.clock.clearTimeout(t);
    this.longLived.delete(family);
  }

  private staleExpired(): void {
    this.staleTimer = undefined;
    const changes: BestPathChange[] = [];
    for (const f of this.stale) changes.push(...this.host.rib.sweepStale(this.id, f));
    this.log.warn({ families: [...this.stale] }, 'no End-of-RIB in time: stale routes swept');
    this.stale.clear();
    for (const f of [...this.longLived.keys()]) this.endLongLived(f);
    this.host.changed(changes);
  }

  private rejectsOverLimit(): boolean {
    return this.cfg.maxPrefixes !== undefined && this.cfg.maxPrefixesAction === 'reject';
  }

  /**
   * maxPrefixes with the 'reject' action: new prefixes past the limit are left out of
   * the update (never installed); replacements and withdrawals go through.
   */
  private keepWithinLimit(u: { -readonly [K in keyof RibUpdate]: RibUpdate[K] }): void {
    const max = this.cfg.maxPrefixes!;
    const rib = this.host.rib;
    let held = rib.accepted(this.id, 'ipv4') + rib.accepted(this.id, 'ipv6');
    const gone = new Set(u.withdrawn);
    held -= [...gone].filter((p) => rib.holds(this.id, u.family, p)).length;
    const ids = u.announcedPathIds;
    const keep: string[] = [];
    const keepIds: number[] = [];
    let dropped = 0;
    u.announced.forEach((prefix, i) => {
      const id = ids?.[i] ?? 0;
      const known = rib.holds(this.id, u.family, prefix, id);
      if (!known && held >= max) {
        dropped++;
        return;
      }
      if (!known) held++;
      keep.push(prefix);
      keepIds.push(id);
    });
    if (dropped === 0) return;
    u.announced = keep;
    if (ids) u.announcedPathIds = keepIds;
    const first = this.overLimit === 0;
    this.overLimit += dropped;
    const fields = { max, ignored: dropped, total: this.overLimit };
    if (first) this.log.warn(fields, 'maximum number of prefixes reached: further new prefixes are not accepted');
    else this.log.debug(fields, 'maximum number of prefixes reached: prefixes not accepted');
  }

  /** Maximum prefixes (RFC 4486): Cease, drop its routes, start again a while later. */
  private checkLimit(): void {
    const max = this.cfg.maxPrefixes;
    if (max === undefined || this.rejectsOverLimit() || this.deliberate || !this.out) return;
    const rib = this.host.rib;
    const received = rib.received(this.id, 'ipv4') + rib.received(this.id, 'ipv6');
    if (received <= max) return;
    this.log.warn({ received, max }, 'maximum number of prefixes exceeded: Cease');
    this.deliberate = true;
    this.adminError = `Maximum number of prefixes reached (${max})`;
    void this.session.stopWith(this.cease(CeaseSubcode.MAXIMUM_NUMBER_OF_PREFIXES_REACHED));
    const secs = this.host.options.timers?.maxPrefixRestart ?? DEFAULT_MAX_PREFIX_RESTART;
    this.limitTimer = this.host.clock.setTimeout(() => {
      this.limitTimer = undefined;
      this.deliberate = false;
      this.startSession();
    }, secs * 1000);
  }

  // ---- routes ----

  /** Withdraws everything the peer sent (no graceful restart). */
  private dropRoutes(): void {
    this.stale.clear();
    for (const f of [...this.longLived.keys()]) this.endLongLived(f);
    if (this.restartTimer !== undefined) this.host.clock.clearTimeout(this.restartTimer);
    if (this.staleTimer !== undefined) this.host.clock.clearTimeout(this.staleTimer);
    this.restartTimer = this.staleTimer = undefined;
    if (!this.inRib) return;
    this.inRib = false;
    this.host.changed(this.host.rib.removePeer(this.id));
  }

  /** The session is gone for good (replaced or removed): nothing of it stays. */
  private dropAll(): void {
    this.epoch++;
    this.out?.clear();
    this.out = undefined;
    this.negotiated = undefined;
    this.pendingInitial = false;
    this.deliberate = false;
    this.dropRoutes();
  }

  /** A Cease for this session, as Hard Reset where RFC 8538 wants one. */
  private cease(subcode: number): Notification {
    return ceaseNotification(subcode, this.out !== undefined && this.negotiated?.gracefulRestart?.notification === true);
  }

  private clearTimers(): void {
    const c = this.host.clock;
    for (const t of [this.restartTimer, this.staleTimer, this.limitTimer, ...this.longLived.values()]) if (t !== undefined) c.clearTimeout(t);
    this.restartTimer = this.staleTimer = this.limitTimer = undefined;
    this.longLived.clear();
  }

  // ---- status ----

  status(): SpeakerPeerStatus {
    const st = this.session.status();
    const rib = this.host.rib;
    const opts = this.host.options;
    let received = 0;
    let accepted = 0;
    for (const f of FAMILIES) {
      received += rib.received(this.id, f);
      accepted += rib.accepted(this.id, f);
    }
    let advertised = 0;
    if (this.out) for (const f of FAMILIES) advertised += this.out.advertised(f);
    const s: SpeakerPeerStatus = {
      id: this.id,
      address: st.remoteAddress,
      port: this.cfg.port ?? 179,
      family: peerFamily(this.cfg),
      remoteAsn: this.cfg.remoteAsn,
      localAsn: peerLocalAsn(this.cfg, opts),
      type: peerType(this.cfg, opts),
      passive: this.cfg.passive === true,
      rrClient: this.cfg.rrClient === true,
      state: st.state,
      since: st.since,
      info: st.info,
      prefixes: { received, accepted, advertised },
      counters: st.counters,
    };
    if (st.lastError !== undefined) s.lastError = st.lastError;
    if (this.adminError !== undefined && st.state !== 'Established') {
      s.lastError = this.adminError;
      s.info = `${st.state} ${this.adminError}`;
    }
    if (st.lastNotification) s.lastNotification = st.lastNotification;
    if (st.negotiated) s.negotiated = st.negotiated;
    if (this.stale.size > 0) {
      s.gracefulRestart = { staleFamilies: [...this.stale] };
      if (this.longLived.size > 0) s.gracefulRestart.longLivedFamilies = [...this.longLived.keys()];
    }
    if (Object.keys(this.rejected).length > 0) s.importRejected = { ...this.rejected };
    if (this.cfg.maxPrefixes !== undefined) s.prefixLimit = { max: this.cfg.maxPrefixes, action: this.cfg.maxPrefixesAction ?? 'reset', rejected: this.overLimit };
    return s;
  }
}

/** The peer sent the LLGR capability (beside graceful restart): it may be sent LLGR-stale paths. */
function longLivedAware(n: NegotiatedInfo): boolean {
  return n.gracefulRestart?.longLived !== undefined;
}
