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
import { checkPeers } from './speaker/peer-config.js';
import { PeerRuntime, type PeerHost } from './speaker/peer-runtime.js';
import type { BestPath, LocalRoute, SpeakerOptions, SpeakerPeer, SpeakerPeerStatus } from './speaker/types.js';
import { StateError } from '../errors.js';

export type { BestPath, LocalRoute, NextHopMode, SpeakerOptions, SpeakerPeer, SpeakerPeerStatus, SpeakerTimers } from './speaker/types.js';
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
  private readonly pending = new Set<Promise<void>>();

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
      get localRoutesReady() {
        return self.localReady;
      },
      changed: (changes) => this.changed(changes),
      resyncOthers: (except) => {
        for (const p of this.peers.values()) if (p !== except) p.resync();
      },
      established: (id) => {
        for (const cb of this.establishedListeners) cb(id);
      },
      register: (s) => {
        for (const l of this.listeners_) l.addPeer(s);
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
        for (const p of this.peers.values()) listener.addPeer(p.session);
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
   */
  setPeers(peers: SpeakerPeer[]): void {
    if (this.stopped) return;
    checkPeers(peers);
    const want = new Map(peers.map((p) => [p.id, p]));
    for (const [id, rt] of this.peers) {
      if (want.has(id)) continue;
      this.peers.delete(id);
      this.log.info({ peer: id }, 'peer removed');
      this.track(rt.remove());
    }
    const restarting = this.opts.gracefulRestart?.restarting === true;
    for (const p of peers) {
      const cfg = { ...p };
      const rt = this.peers.get(p.id);
      if (rt) {
        rt.reconfigure(cfg);
        continue;
      }
      const added = new PeerRuntime(this.host, cfg, restarting);
      this.peers.set(p.id, added);
      for (const l of this.listeners_) l.addPeer(added.session);
      this.log.info({ peer: p.id, address: p.address, remoteAsn: p.remoteAsn }, 'peer added');
      if (this.started) added.start();
    }
  }

  /**
   * What something outside BGP (BFD) knows of the path to a peer: false takes the
   * session down at once and withdraws its routes, true lets it establish again. Ignored
   * for a peer that is not configured.
   */
  setPeerLive(id: string, live: boolean, reason: string): void {
    if (!this.stopped) this.peers.get(id)?.setLive(live, reason);
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

  status(): SpeakerPeerStatus[] {
    return [...this.peers.values()].map((p) => p.status());
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
    for (const p of this.peers.values()) p.localRoutesReady();
  }

  private changed(changes: readonly BestPathChange[]): void {
    if (changes.length === 0 || this.stopped) return;
    for (const p of this.peers.values()) p.advertise(changes);
    if (this.listeners.length === 0) return;
    const learned = learnedChanges(changes);
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
