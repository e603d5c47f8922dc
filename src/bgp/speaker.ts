// The BGP speaker: owns the sessions (one per configured peer), the listener and the
// RIB. The agent declares what it wants — peers with setPeers(), originated prefixes
// with setLocalRoutes() — and the speaker reconciles; learned best paths come back as
// plain data through onBestPaths(). iBGP/eBGP and route-reflection rules are the RIB's
// export policy; graceful restart and max-prefix live in speaker/peer-runtime.ts.

import { silentLogger, type Logger } from '../util/log.js';
import { Rib, type BestPathChange } from './rib/index.js';
import { BgpListener, canonicalAddress, systemClock, type BgpSession, type Clock, type Connection } from './session/index.js';
import type { TimerHandle } from '../util/clock.js';
import { BGP_PORT, type Family } from './wire/index.js';
import { bestPathOf, learnedChanges } from './speaker/best-paths.js';
import { localTables } from './speaker/local-routes.js';
import { listenerOwners, peerProblem, rejectedStatus } from './speaker/peer-config.js';
import { DEFAULT_SELECTION_DEFERRAL, SelectionDeferral } from './speaker/graceful-restart.js';
import { PeerRuntime, type PeerHost } from './speaker/peer-runtime.js';
import type { BestPath, LocalRoute, SpeakerOptions, SpeakerPeer, SpeakerPeerStatus } from './speaker/types.js';
import { StateError } from '../errors.js';

export type { AddPathMode, BestPath, LocalRoute, NextHopMode, SpeakerOptions, SpeakerPeer, SpeakerPeerStatus, SpeakerTimers } from './speaker/types.js';
export type { ExportFilter, ImportPolicy } from './rib/index.js';

const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];
const DEFAULT_LOCAL_ROUTES_WAIT = 10;

export class Speaker {
  private readonly opts: SpeakerOptions;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly rib: Rib;
  private readonly peers = new Map<string, PeerRuntime>();
  private readonly listeners: Array<(changes: BestPath[]) => void> = [];
  private readonly establishedListeners: Array<(id: string) => void> = [];
  private readonly host: PeerHost;
  private listeners_: BgpListener[] = [];
  private started = false;
  private stopped = false;
  private localReady = false;
  private localWait: TimerHandle | undefined;
  /** After our own restart: RFC 4724 §4.1 selection deferral, until start() creates it. */
  private deferral: SelectionDeferral | undefined;
  private deferralTimer: TimerHandle | undefined;
  private readonly pending = new Set<Promise<void>>();
  /** Peers left out by the last setPeers(), with the reason. */
  private rejected = new Map<string, { peer: SpeakerPeer; error: string; since: Date }>();
  /** Remote address → the peer id that takes incoming connections from it. */
  private listenerOwners = new Map<string, string>();
  /** Next-hop tracking: whether a next hop is reachable; undefined when tracking is off. */
  private resolver: ((nextHop: string) => boolean) | undefined;

  constructor(opts: SpeakerOptions) {
    this.opts = { ...opts };
    this.log = (opts.logger ?? silentLogger).child({ component: 'bgp' });
    this.clock = opts.clock ?? systemClock;
    this.rib = new Rib(opts.clusterId === undefined ? { localAsn: opts.localAsn, routerId: opts.routerId } : { localAsn: opts.localAsn, routerId: opts.routerId, clusterId: opts.clusterId });
    const self = this;
    this.host = {
      rib: this.rib,
      clock: this.clock,
      log: this.log,
      rootLog: opts.logger ?? silentLogger,
      options: this.opts,
      get running() {
        return self.started && !self.stopped;
      },
      get initialTableReady() {
        return self.localReady && !self.recovering;
      },
      get restarting() {
        return self.recovering;
      },
      peerEstablished: (id, n) => this.deferral?.established(id, n),
      peerEndOfRib: (id, f) => this.deferral?.endOfRib(id, f),
      changed: (changes) => this.changed(changes),
      resyncOthers: (except) => {
        for (const p of this.peers.values()) if (p !== except) p.resync();
      },
      established: (id) => {
        for (const cb of this.establishedListeners) cb(id);
      },
      nextHopSeen: (nh) => {
        if (this.resolver !== undefined && this.rib.nextHopState(nh) === undefined) this.changed(this.rib.setNextHopReachable(nh, this.resolver(nh)));
      },
      register: (s) => {
        if (this.listenerOwners.get(canonicalAddress(s.remoteAddress)) === s.name) for (const l of this.listeners_) l.addPeer(s);
      },
      unregister: (s) => {
        for (const l of this.listeners_) l.removePeer(s);
      },
    };
  }

  /** Starts the listener (unless `listen: false`), then the sessions. */
  async start(): Promise<void> {
    if (this.started) return;
    if (this.stopped) throw new StateError('the speaker was stopped');
    const l = this.opts.listen;
    if (l !== false) {
      const addresses = l?.addresses?.length ? l.addresses : [l?.address ?? '::'];
      for (const address of addresses) {
        const listener = new BgpListener({ address, port: l?.port ?? BGP_PORT, logger: this.host.rootLog });
        for (const p of this.peers.values()) if (this.owns(p.cfg)) listener.addPeer(p.session);
        try {
          await listener.listen();
        } catch (err) {
          await Promise.all(this.listeners_.map((x) => x.close()));
          this.listeners_ = [];
          throw err;
        }
        this.listeners_.push(listener);
      }
    }
    this.started = true;
    if (this.opts.gracefulRestart?.restarting) this.deferSelection();
    if (!this.localReady) {
      const secs = this.opts.timers?.localRoutesWait ?? DEFAULT_LOCAL_ROUTES_WAIT;
      this.localWait = this.clock.setTimeout(() => {
        this.localWait = undefined;
        if (this.localReady || this.stopped) return;
        this.log.warn({ seconds: secs }, 'no local routes set: sending the initial tables without them');
        this.markLocalReady();
      }, secs * 1000);
    }
    for (const p of this.peers.values()) p.start();
    this.log.info({ routerId: this.opts.routerId, asn: this.opts.localAsn, clusterId: this.opts.clusterId, peers: this.peers.size }, 'BGP speaker started');
  }

  /**
   * True while we recover from our own restart (RFC 4724 §4.1): learned best paths are
   * held back from onBestPaths and from peers until every peer sent End-of-RIB or the
   * deferral timer ran out; the kernel should keep its routes meanwhile.
   */
  get recovering(): boolean {
    return this.opts.gracefulRestart?.restarting === true && !this.stopped && (this.deferral === undefined || this.deferral.active);
  }

  /** The (first) bound listener address, once started (port 0 picks a free one). */
  listenAddress(): { address: string; port: number } | undefined {
    return this.listeners_[0]?.address();
  }

  /** Every bound listener address. */
  listenAddresses(): { address: string; port: number }[] {
    return this.listeners_.map((l) => l.address()).filter((a): a is { address: string; port: number } => a !== undefined);
  }

  /**
   * The desired peers. New ones are added, missing ones removed (Cease/Peer
   * De-configured); a changed one gets a new session only when a field of the OPEN or
   * the socket changed. Every other session is left alone. Sessions run from start() on.
   * A peer that cannot run (a setting the session refuses, a repeated id) is left out and
   * shown in status() as Idle with the reason; the other peers are not affected.
   */
  setPeers(peers: SpeakerPeer[]): void {
    if (this.stopped) return;
    const rejected = new Map<string, { peer: SpeakerPeer; error: string; since: Date }>();
    const want = new Map<string, SpeakerPeer>();
    for (const p of peers) {
      const problem = want.has(p.id) ? `id ${JSON.stringify(p.id)} is used by another peer` : peerProblem(p, this.opts)?.message;
      if (problem === undefined) want.set(p.id, p);
      else if (!rejected.has(p.id) && !want.has(p.id)) rejected.set(p.id, { peer: p, error: problem, since: this.rejectedSince(p.id, problem) });
      else this.log.error({ peer: p.id, address: p.address, error: problem }, 'peer not configured');
    }
    for (const [id, r] of rejected) {
      if (this.rejected.get(id)?.error !== r.error) this.log.error({ peer: id, address: r.peer.address, error: r.error }, 'peer not configured');
    }
    this.rejected = rejected;
    for (const [id, rt] of this.peers) {
      if (want.has(id)) continue;
      this.peers.delete(id);
      this.log.info({ peer: id }, 'peer removed');
      this.track(rt.remove());
      this.deferral?.remove(id);
    }
    this.listenerOwners = listenerOwners(want.values());
    for (const p of want.values()) {
      const cfg = this.owns(p) || !p.passive ? { ...p } : { ...p, passive: false };
      const rt = this.peers.get(p.id);
      if (rt) {
        rt.reconfigure(cfg);
        continue;
      }
      const added = new PeerRuntime(this.host, cfg);
      this.deferral?.add(p.id);
      this.peers.set(p.id, added);
      this.host.register(added.session);
      this.log.info({ peer: p.id, address: p.address, remoteAsn: p.remoteAsn }, 'peer added');
      if (this.started) added.start();
    }
  }

  private rejectedSince(id: string, error: string): Date {
    const before = this.rejected.get(id);
    return before?.error === error ? before.since : new Date(this.clock.now());
  }

  /**
   * Incoming connections are matched by the remote address alone, so of peers sharing an
   * address (different ports) the first takes them; the others only dial (as BIRD, whose
   * incoming connection goes to the first protocol with that neighbor address).
   */
  private owns(p: SpeakerPeer): boolean {
    return this.listenerOwners.get(canonicalAddress(p.address)) === p.id;
  }

  /**
   * What something outside BGP (BFD) knows of the path to a peer: false takes the
   * session down at once and withdraws its routes, true lets it establish again. Ignored
   * for a peer that is not configured.
   */
  setPeerLive(id: string, live: boolean, reason: string): void {
    if (!this.stopped) this.peers.get(id)?.setLive(live, reason);
  }

  /**
   * Next-hop tracking: `resolve` tells whether a next hop is reachable (through the
   * kernel's routes). A path through an unreachable one is not eligible for best path;
   * it stays held and comes back when its next hop does. undefined turns tracking off.
   */
  setNextHopResolver(resolve: ((nextHop: string) => boolean) | undefined): void {
    this.resolver = resolve;
    this.nextHopsChanged();
  }

  /** What the resolver looks at changed (a kernel route came or went): every next hop in use is resolved again. */
  nextHopsChanged(): void {
    if (this.stopped) return;
    const used = this.rib.nextHops();
    const changes: BestPathChange[] = [];
    for (const nh of used) {
      const reachable = this.resolver === undefined || this.resolver(nh);
      for (const c of this.rib.setNextHopReachable(nh, reachable)) changes.push(c);
    }
    this.rib.retainNextHops(used);
    this.changed(changes);
  }

  /** The full set of originated prefixes (IPv4 and IPv6); only the difference is advertised or withdrawn. */
  setLocalRoutes(routes: LocalRoute[]): void {
    if (this.stopped) return;
    const tables = localTables(routes);
    const changes: BestPathChange[] = [];
    for (const f of FAMILIES) changes.push(...this.rib.setOriginated(f, tables[f]));
    this.changed(changes);
    if (!this.localReady) this.markLocalReady();
  }

  /** Learned best-path changes (ECMP next hops included); locally originated prefixes are not in this view. */
  onBestPaths(cb: (changes: BestPath[]) => void): void {
    this.listeners.push(cb);
  }

  /** A peer's session reached Established (called with the peer's id). */
  onPeerEstablished(cb: (id: string) => void): void {
    this.establishedListeners.push(cb);
  }

  /** The whole learned table, for a full resync. */
  bestPaths(): BestPath[] {
    const out: BestPath[] = [];
    for (const f of FAMILIES) {
      for (const [prefix, multipath] of this.rib.multipaths(f)) {
        const b = bestPathOf(f, prefix, multipath);
        if (b) out.push(b);
      }
    }
    return out;
  }

  /** Every configured peer, the ones left out by setPeers() included (Idle, with the reason). */
  status(): SpeakerPeerStatus[] {
    return [...[...this.peers.values()].map((p) => p.status()), ...[...this.rejected.values()].map((r) => rejectedStatus(r.peer, r.error, r.since, this.opts))];
  }

  /**
   * Stops every session and the listener. graceful: peers keep our routes (RFC 4724:
   * Cease/Administrative Reset when they set the N bit of RFC 8538, else the connection
   * just closes); otherwise Cease/Administrative Shutdown and they withdraw them.
   */
  async stop(opts: { graceful?: boolean } = {}): Promise<void> {
    if (this.stopped) {
      await Promise.all([...this.pending]);
      return;
    }
    this.stopped = true;
    if (this.localWait !== undefined) this.clock.clearTimeout(this.localWait);
    if (this.deferralTimer !== undefined) this.clock.clearTimeout(this.deferralTimer);
    const graceful = opts.graceful === true;
    this.log.info({ graceful }, 'BGP speaker stopping');
    const listeners = this.listeners_;
    this.listeners_ = [];
    await Promise.all([...listeners.map((l) => l.close()), ...[...this.peers.values()].map((p) => p.shutdown(graceful)), ...this.pending]);
  }

  /**
   * A connection accepted elsewhere (tests' in-memory transport, or a listener the
   * caller runs): handed to the session for its remote address. False, and closed, if
   * no peer has that address.
   */
  accept(conn: Connection): boolean {
    const from = canonicalAddress(conn.remoteAddress ?? '');
    for (const p of this.peers.values()) {
      if (canonicalAddress(p.session.remoteAddress) === from && !this.stopped) {
        p.session.incoming(conn);
        return true;
      }
    }
    conn.destroy();
    return false;
  }

  /** The session of a peer, for tests and diagnostics. */
  session(id: string): BgpSession | undefined {
    return this.peers.get(id)?.session;
  }

  /** Loc-RIB size per family, local routes included. */
  prefixCount(family: Family): number {
    return this.rib.prefixCount(family);
  }

  private markLocalReady(): void {
    this.localReady = true;
    if (this.localWait !== undefined) this.clock.clearTimeout(this.localWait);
    this.localWait = undefined;
    if (this.recovering) return;
    for (const p of this.peers.values()) p.sendInitialTable();
  }

  /** We restarted: wait for the peers' End-of-RIB (or the timer) before selecting and sending. */
  private deferSelection(): void {
    const secs = this.opts.timers?.selectionDeferral ?? DEFAULT_SELECTION_DEFERRAL;
    this.deferral = new SelectionDeferral(this.peers.keys(), (reason) => this.recovered(reason));
    this.log.info({ seconds: secs, peers: this.deferral.pending() }, 'restarted: route selection deferred until End-of-RIB from the peers (RFC 4724 §4.1)');
    this.deferralTimer = this.clock.setTimeout(() => {
      this.deferralTimer = undefined;
      const late = this.deferral?.pending() ?? [];
      if (late.length > 0) this.log.warn({ peers: late }, 'selection deferral timer expired before these peers sent End-of-RIB');
      this.deferral?.expire();
    }, secs * 1000);
  }

  /** Deferral over: OPENs lose the R and F bits, the tables go out, the dataplane gets the whole table. */
  private recovered(reason: string): void {
    if (this.deferralTimer !== undefined) this.clock.clearTimeout(this.deferralTimer);
    this.deferralTimer = undefined;
    if (this.stopped) return;
    this.log.info({ reason, prefixes: { ipv4: this.rib.prefixCount('ipv4'), ipv6: this.rib.prefixCount('ipv6') } }, 'restart recovery over: best paths selected, initial tables go out');
    for (const p of this.peers.values()) p.recovered();
    if (this.localReady) for (const p of this.peers.values()) p.sendInitialTable();
    this.notify(this.bestPaths());
  }

  private changed(changes: readonly BestPathChange[]): void {
    if (changes.length === 0 || this.stopped) return;
    for (const p of this.peers.values()) p.advertise(changes);
    // Deferred selection: recovered() hands over the whole table at once.
    if (this.listeners.length === 0 || this.recovering) return;
    this.notify(learnedChanges(changes));
  }

  private notify(learned: BestPath[]): void {
    if (learned.length === 0) return;
    for (const cb of this.listeners) {
      try {
        cb(learned);
      } catch (err) {
        this.log.error({ err }, 'onBestPaths callback failed');
      }
    }
  }

  private track(p: Promise<void>): void {
    const t = p.catch((err: unknown) => this.log.error({ err }, 'session stop failed')).finally(() => this.pending.delete(t));
    this.pending.add(t);
  }
}
