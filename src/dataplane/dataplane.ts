// The one object the agent drives. Resource routes (blackholes, VXLAN) and the local
// VTEP are declared whole with setResources() (trigger 1); learned routes change one by
// one with updateLearned() (trigger 2), are translated per next-hop list (memoised) and
// reach the kernel within the debounce's maximum wait. Only differences are sent
// (RouteReconciler); the kernel is dumped at start, on a periodic resync (±10 %) and
// after an error. Also eBPF realms for per-next-hop encapsulation (bpf mode) and the
// vxlan.tabby device with its neighbour and FDB entries (iptables mode). stop() leaves
// everything in the kernel so a restarted agent adopts it without a change; cleanup()
// removes all of it.

import { performance } from 'node:perf_hooks';
import type { LearnedNexthop, RouteIntent } from '../calc/routes.js';
import { DataplaneError } from './dataplane-error.js';
import { type Link, linkList, linkSet } from '../native/links.js';
import { routeDump } from '../native/routes.js';
import { RTPROT_TABBY } from './routes/route-protocol.js';
import { silentLogger, type Logger } from '../util/log.js';
import { HostProgram, type HostTarget } from './bpf/host-program.js';
import { BpfEncap, type BpfEncapOptions } from './encap/bpf-encap.js';
import { ipv6CsumProbe, ipv6SnatRefusal } from './bpf/csum-probe.js';
import { BpfSnat, type BpfSnatOptions } from './nat/bpf-snat.js';
import { ENCAP_OVERHEAD, hostMtu as smallestMtu } from './encap/encap-mtu.js';
import { RealmAllocator } from './encap/realm-allocator.js';
import { vtepMac as defaultVtepMac } from './encap/vtep-mac.js';
import type { EncapEntry, RealmEntry, RealmKind } from './encap/encap-map-codec.js';
import {
  IPIP_DEVICE, IPIP_UNSUPPORTED, planDataplane, underlayTable, type DataplaneMode, type Plan, type PlanInput,
} from './dataplane-plan.js';
import { VxlanDevice } from './links/vxlan-device.js';
import { TunnelGuard } from './encap/tunnel-guard.js';
import type { RouteShape } from './routes/desired-route.js';
import { RouteReconciler, type RouteSource } from './routes/route-reconciler.js';
import { Debounce } from '../util/debounce.js';
import { dataplaneCleanup } from './dataplane-cleanup.js';

export { DataplaneError };

export interface DataplaneConfig {
  mode: DataplaneMode;
  /** Namespace under /var/run/netns to program; absent: this process's. */
  netns?: string;
  nodeName: string;
  /** The underlay interface (tunnels leave through it). */
  hostIfname: string;
  /** This node's underlay address: IPv4, or IPv6 on an IPv6-only node (no eBPF encapsulation then). */
  nodeIP: string;
  /** This node's underlay IPv6 address (IPv6 VXLAN's tunnel source); default nodeIP when that is IPv6. */
  nodeIP6?: string;
  /** Default: the smallest MTU among up interfaces named like Calico's MTU interface pattern. */
  hostMtu?: number;
  /** Period of the full resync (kernel dump) (default 30 s, ±10 %). */
  resyncIntervalMs?: number;
  /** Learned-route changes are applied after this much quiet (default 10 ms)… */
  quietMs?: number;
  /** …but never later than this after the first of them (default 50 ms). */
  maxWaitMs?: number;
  logger?: Logger;
  /** An IP pool uses IPIP: start() then fails at once where IPIP cannot work (iptables without tunl0). */
  ipip?: boolean;
  /** This node's VTEP MAC before set() says (default: Calico's, from the node name). */
  vtepMac?: string;
  vxlanVNI?: number;
  vxlanPort?: number;
  /**
   * bpf mode: natOutgoing by the host programs' SNAT step, loaded together with
   * encapsulation so a restart takes both over at once (`snat` then holds it).
   */
  snat?: BpfSnatOptions;
  /** bpf mode: bpffs directory where the eBPF maps and programs are pinned and reused from (absent: not pinned). */
  bpfPinRoot?: string;
}

export interface DesiredDataplane {
  routes: RouteIntent[];
  /** Set when a VXLAN pool is in use. */
  localVtep?: { tunnelIP: string; mac: string };
  /** Set when an IPv6 VXLAN pool is in use (vxlan-v6.tabby over the IPv6 underlay). */
  localVtepV6?: { tunnelIP: string; mac: string };
  /**
   * Underlay addresses (both families) of every other node: IPIP and VXLAN are taken from these
   * (and the next hops of our tunnel routes) and from nothing else. Absent: only from
   * the next hops of our tunnel routes.
   */
  tunnelSources?: string[];
  /**
   * Keep Tabby's routes and encap entries that are not desired instead of removing them
   * (while a restarted agent's BGP sessions relearn what the kernel still holds).
   */
  hold?: boolean;
}

/** One learned route changed: its new intent, or none (withdrawn). */
export interface LearnedChange {
  dst: string;
  intent?: RouteIntent;
}

export interface DataplaneSetResult {
  ok: boolean;
  /** Every error standing after this run: plan errors, invalid routes, failed kernel writes. */
  errors: string[];
  durationMs: number;
  /** Kernel writes this run made: route operations, map entries, link/address/neighbour/FDB operations. */
  changes: number;
}

export interface DataplaneStats {
  routesProgrammed: number;
  lastApplyMs: number;
  errors: string[];
  /** Kernel dumps of Tabby's routes so far (start, periodic resync, after errors). */
  resyncs: number;
  /** Route operations sent so far. */
  routeOps: number;
}

/** Route operations per second above which a periodic resync waits (a table is moving). */
const BUSY_OPS = 1000;
/** How many resync periods it waits at most. */
const BUSY_PERIODS = 10;

/**
 * Does a periodic resync wait, after `ops` route operations since the last look, with
 * routes being sent right now (`busy`), and `waitedMs` of waiting already?
 */
export function resyncWaits(ops: number, busy: boolean, waitedMs: number, periodMs: number): boolean {
  return (busy || ops >= BUSY_OPS) && waitedMs < periodMs * BUSY_PERIODS;
}

/** Calico's default MTU interface pattern: physical-looking names only. */
const MTU_IFACE = /^((en|wl|ww|sl|ib)[Pcopsvx].*|(eth|wlan|wwan).*)$/;

export class Dataplane {
  private readonly cfg: DataplaneConfig;
  private readonly log: Logger;
  private readonly ns: { netns?: string };
  private readonly routes: RouteReconciler;
  private readonly realms = new RealmAllocator();
  private host: HostProgram | undefined;
  private encap: BpfEncap | undefined;
  private nat: BpfSnat | undefined;
  private vxlan: VxlanDevice | undefined;
  private vxlanV6: VxlanDevice | undefined;
  private guard: TunnelGuard | undefined;
  private guardV6: TunnelGuard | undefined;
  private mtu = 0;
  private haveTunl0 = false;
  private started = false;
  /** Routes from resources (blackholes, VXLAN), declared whole by set(). */
  private resource: DesiredDataplane = { routes: [] };
  private resourceDirty = true;
  private resourceKeys = new Set<string>();
  private resourceErrors: string[] = [];
  private resourceRealms: RealmEntry[] = [];
  /** IPv6 VXLAN blocks (bpf mode), by destination. */
  private resourceEntries: EncapEntry[] = [];
  private programmedEntries = '';
  private programmedRealms = '';
  private programmedSources = '';
  /** One route source per next-hop list: learned routes with equal next hops share it. */
  private sources = new WeakMap<readonly LearnedNexthop[], LearnedSource>();
  /** Learned routes whose prefix a resource route holds (they come back when it goes). */
  private readonly shadowed = new Map<string, LearnedSource>();
  /** Realms the translations so far use (bpf mode), by realm. */
  private learnedRealms = new Map<number, RealmEntry>();
  /** Sources not translated yet: translated before the eBPF maps are written, so their realms are there first. */
  private untranslated: LearnedSource[] = [];
  private underlayVia: ((address: string) => string | undefined) | undefined;
  private underlayKey = '';
  private resyncDue = true;
  /** set() or setResources() was called: the kernel may be brought in line. */
  private declared = false;
  private inflight: Promise<DataplaneSetResult> | undefined;
  private queued: Promise<DataplaneSetResult> | undefined;
  private readonly debounce: Debounce;
  private timer: NodeJS.Timeout | undefined;
  private lastErrors: string[] = [];
  private lastMs = 0;
  private readonly warned = new Set<string>();

  constructor(cfg: DataplaneConfig) {
    if (cfg.mode !== 'bpf' && cfg.mode !== 'iptables' && cfg.mode !== 'none') {
      throw new DataplaneError(`unknown dataplane mode ${JSON.stringify(cfg.mode)}: use bpf, iptables or none`);
    }
    this.cfg = { ...cfg };
    this.log = (cfg.logger ?? silentLogger).child({ component: 'dataplane', mode: cfg.mode });
    this.ns = cfg.netns === undefined ? {} : { netns: cfg.netns };
    this.routes = new RouteReconciler({
      ...this.ns, protocol: RTPROT_TABBY,
      resolve: (src) => this.translate(src as LearnedSource),
      // A failed write: dump and repair soon (the reconciler backs off).
      onResyncDue: () => {
        this.resyncDue = true;
        this.debounce.flush();
      },
    });
    this.debounce = new Debounce(
      { quietMs: cfg.quietMs ?? 10, maxWaitMs: cfg.maxWaitMs ?? 50, onError: (err) => this.log.error({ err }, 'dataplane apply failed') },
      async () => {
        const r = await this.apply();
        if (!r.ok) this.log.warn({ errors: r.errors.slice(0, 10), count: r.errors.length }, 'some dataplane changes failed; retrying on resync');
      },
    );
  }

  /**
   * Finds the host interface and MTU, refuses what this kernel cannot do, and in bpf
   * mode takes over the previous agent's eBPF programs with their state (lossless).
   * Routes are not touched until the first set().
   */
  async start(): Promise<void> {
    if (this.started) return;
    const links = await linkList(this.ns);
    const host = links.find((l) => l.name === this.cfg.hostIfname);
    if (!host) throw new DataplaneError(`host interface ${this.cfg.hostIfname} not found${this.cfg.netns ? ` in netns ${this.cfg.netns}` : ''}`);
    this.mtu = this.cfg.hostMtu ?? detectHostMtu(links, host);
    this.haveTunl0 = links.some((l) => l.name === IPIP_DEVICE && l.type === 'ipip');
    if (this.cfg.mode === 'iptables' && this.cfg.ipip && !this.haveTunl0) {
      throw new DataplaneError(`iptables dataplane: ${IPIP_UNSUPPORTED}`);
    }
    await this.cleanOtherMode();
    if (this.cfg.mode === 'bpf') await this.startBpf(host);
    if (this.cfg.mode === 'iptables') {
      // Calico brings tunl0 up for IPIP pools; the kernel creates it down.
      if (this.haveTunl0 && this.cfg.ipip) await linkSet({ name: IPIP_DEVICE, up: true, ...this.ns });
      this.guard = new TunnelGuard({ ...this.ns, vxlanPort: this.cfg.vxlanPort ?? 4789, ipip: this.haveTunl0 });
      this.vxlan = this.vxlanDevice(4);
      if (this.nodeIP6) {
        this.guardV6 = new TunnelGuard({ ...this.ns, vxlanPort: this.cfg.vxlanPort ?? 4789, ipip: false, family: 6 });
        this.vxlanV6 = this.vxlanDevice(6);
      }
    }
    this.started = true;
    this.scheduleResync();
    this.log.info({ hostMtu: this.mtu, ifname: this.cfg.hostIfname }, 'dataplane started');
  }

  // A switch of mode leaves nothing of the other one: its programs and pins, or its
  // rules, sets and device (the routes are this mode's to reconcile).
  private async cleanOtherMode(): Promise<void> {
    const other = this.cfg.mode === 'bpf' ? 'iptables' : this.cfg.mode === 'iptables' ? 'bpf' : undefined;
    if (!other) return;
    const r = await dataplaneCleanup(other, { ...this.ns, routes: false, ...(other === 'bpf' && this.cfg.bpfPinRoot !== undefined ? { pinRoot: this.cfg.bpfPinRoot } : {}) });
    if (r.tcInterfaces.length > 0 || r.vxlanDevice) this.log.info({ other, ...r }, 'removed what the other dataplane mode left');
  }

  private get nodeIP6(): string | undefined {
    return this.cfg.nodeIP6 ?? (this.cfg.nodeIP.includes(':') ? this.cfg.nodeIP : undefined);
  }

  /** vxlan.tabby (family 4) or vxlan-v6.tabby (family 6, over the node's IPv6 address). */
  private vxlanDevice(family: 4 | 6): VxlanDevice {
    const overhead = family === 6 ? ENCAP_OVERHEAD.vxlanV6 : ENCAP_OVERHEAD.vxlan;
    return new VxlanDevice({
      ...this.ns, family, parent: this.cfg.hostIfname, local: family === 6 ? this.nodeIP6! : this.cfg.nodeIP, mtu: this.mtu - overhead,
      ...(this.cfg.vxlanVNI !== undefined ? { vni: this.cfg.vxlanVNI } : {}),
      ...(this.cfg.vxlanPort !== undefined ? { port: this.cfg.vxlanPort } : {}),
    });
  }

  // A full resync every interval, ±10 % so a fleet of agents does not dump in step.
  private scheduleResync(): void {
    const every = this.cfg.resyncIntervalMs ?? 30_000;
    this.timer = setTimeout(() => this.periodicResync(every, Date.now(), this.routes.work), every * (0.9 + Math.random() * 0.2));
    this.timer.unref();
  }

  // A resync dumps every route of ours: at a million routes that is seconds of CPU in one
  // turn of the loop and hundreds of MiB at once. So it waits while a table is arriving
  // or leaving (routes being sent, or BUSY_OPS route operations in the last second), at
  // most BUSY_PERIODS periods.
  private periodicResync(every: number, since: number, work: number): void {
    const now = this.routes.work;
    if (resyncWaits(now - work, this.routes.busy, Date.now() - since, every)) {
      this.timer = setTimeout(() => this.periodicResync(every, since, now), 1000);
      this.timer.unref();
      return;
    }
    this.resyncDue = true;
    this.debounce.flush();
    this.scheduleResync();
  }

  /**
   * Declares the full desired state — every route, learned ones included — and applies
   * the difference. Calls made while one runs share the next run, which applies the
   * latest declaration.
   */
  set(desired: DesiredDataplane): Promise<DataplaneSetResult> {
    if (!this.started) return Promise.reject(new DataplaneError('set() before start()'));
    this.setLearned([]);
    return this.setResources(desired);
  }

  /** Declares the routes from resources (and the local VTEP and the hold); learned routes stay. */
  setResources(desired: DesiredDataplane): Promise<DataplaneSetResult> {
    if (!this.started) return Promise.reject(new DataplaneError('set() before start()'));
    this.resource = {
      routes: [...desired.routes],
      ...(desired.localVtep ? { localVtep: { ...desired.localVtep } } : {}),
      ...(desired.localVtepV6 ? { localVtepV6: { ...desired.localVtepV6 } } : {}),
      ...(desired.tunnelSources ? { tunnelSources: [...desired.tunnelSources] } : {}),
      ...(desired.hold ? { hold: true } : {}),
    };
    this.resourceDirty = true;
    this.declared = true;
    return this.apply();
  }

  /** Replaces every learned route (the intents of a new plan); applied soon. */
  setLearned(intents: Iterable<RouteIntent>): void {
    const keep = new Set<string>();
    for (const i of intents) {
      if (i.kind !== 'learned') continue;
      keep.add(i.dst);
      this.learnedRoute(i.dst, i.nexthops);
    }
    const gone: string[] = [];
    for (const [dst] of this.routes.sources()) if (!keep.has(dst)) gone.push(dst);
    for (const dst of this.shadowed.keys()) if (!keep.has(dst)) gone.push(dst);
    for (const dst of gone) this.learnedRoute(dst, undefined);
    this.learnedChanged();
  }

  /** Learned routes that changed (trigger 2): applied within the debounce's maximum wait. */
  updateLearned(changes: Iterable<LearnedChange>): void {
    for (const c of changes) this.learnedRoute(c.dst, c.intent?.kind === 'learned' ? c.intent.nexthops : undefined);
    this.learnedChanged();
  }

  /**
   * One learned route: its next hops (pass the same array for equal lists: it is
   * translated once), or undefined when withdrawn. Allocates nothing per route; call
   * learnedChanged() after a batch of them.
   */
  learnedRoute(dst: string, nexthops: readonly LearnedNexthop[] | undefined): void {
    if (this.resourceKeys.size > 0 && this.resourceKeys.has(dst)) {
      if (nexthops) this.shadowed.set(dst, this.sourceOf(nexthops));
      else this.shadowed.delete(dst);
      return;
    }
    if (nexthops) this.routes.setSource(dst, this.sourceOf(nexthops));
    else this.routes.remove(dst);
  }

  /** Learned routes were changed: they reach the kernel within the debounce's maximum wait. */
  learnedChanged(): void {
    this.debounce.poke();
  }

  private sourceOf(hops: readonly LearnedNexthop[]): LearnedSource {
    let src = this.sources.get(hops);
    if (!src) {
      this.sources.set(hops, (src = { routeSource: true, hops }));
      this.untranslated.push(src);
    }
    return src;
  }

  /** While on, Tabby's routes that are not desired stay; turning it off removes them. */
  setHold(on: boolean): void {
    if ((this.resource.hold === true) === on) return;
    this.resource = { ...this.resource, ...(on ? { hold: true } : { hold: false }) };
    if (!on) delete this.resource.hold;
    this.routes.hold = on;
    this.resourceDirty = true;
    this.debounce.flush();
  }

  /** natOutgoing in bpf mode (after start(), when the config asked for it): declare pools, apply. */
  get snat(): BpfSnat | undefined {
    return this.nat;
  }

  /** The encapsulation step in bpf mode (after start()): its counters and drops. */
  get bpfEncap(): BpfEncap | undefined {
    return this.encap;
  }

  stats(): DataplaneStats {
    const st = this.routes.stats;
    return { routesProgrammed: st.routesProgrammed, lastApplyMs: this.lastMs, errors: [...this.lastErrors], resyncs: st.resyncs, routeOps: st.opsSent };
  }

  /** Stops resyncing and lets go of the eBPF object; every route, device and program stays. */
  async stop(): Promise<void> {
    await this.quiesce();
    await this.host?.release();
    this.host = undefined;
    this.encap = undefined;
    this.nat = undefined;
    this.started = false;
  }

  /** Removes everything Tabby made here: proto-88 routes, vxlan.tabby, its eBPF programs. */
  async cleanup(): Promise<void> {
    await this.quiesce();
    const errors: unknown[] = [];
    this.routes.hold = false;
    this.routes.setRoutes([]);
    this.routes.requestResync();
    const r = await this.routes.apply().catch((err: unknown) => {
      errors.push(err);
      return undefined;
    });
    if (r && r.errors.length > 0) errors.push(new DataplaneError(`route cleanup: ${r.errors.map((e) => `${e.dst} ${e.message}`).join('; ')}`));
    for (const family of [4, 6] as const) {
      const vxlan = (family === 4 ? this.vxlan : this.vxlanV6) ??
        new VxlanDevice({ ...this.ns, family, parent: this.cfg.hostIfname, local: this.cfg.nodeIP, mtu: 1450 });
      await vxlan.remove().catch((err: unknown) => errors.push(err));
    }
    if (this.cfg.mode === 'iptables') {
      const guard = this.guard ?? new TunnelGuard({ ...this.ns, vxlanPort: this.cfg.vxlanPort ?? 4789, ipip: false });
      await guard.cleanup().catch((err: unknown) => errors.push(err));
      this.guard = undefined;
      // ip6tables may be missing on a host without IPv6: nothing of ours can be there then.
      if (this.nodeIP6 || this.guardV6) {
        const guardV6 = this.guardV6 ?? new TunnelGuard({ ...this.ns, vxlanPort: this.cfg.vxlanPort ?? 4789, ipip: false, family: 6 });
        await guardV6.cleanup().catch((err: unknown) => errors.push(err));
        this.guardV6 = undefined;
      }
    }
    await this.host?.close().catch((err: unknown) => errors.push(err));
    this.host = undefined;
    this.encap = undefined;
    this.nat = undefined;
    // Also what a previous agent left in Tabby's tc slot.
    await HostProgram.detach(this.hostTarget()).catch((err: unknown) => errors.push(err));
    this.started = false;
    this.declared = false;
    this.resource = { routes: [] };
    this.shadowed.clear();
    if (errors.length > 0) throw errors[0];
  }

  private async quiesce(): Promise<void> {
    this.debounce.stop();
    clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.allSettled([this.inflight, this.queued]);
    await this.routes.stop();
  }

  private hostTarget(): HostTarget {
    return { ifname: this.cfg.hostIfname, ...this.ns, ...(this.cfg.bpfPinRoot !== undefined ? { pinRoot: this.cfg.bpfPinRoot } : {}) };
  }

  private encapOptions(mac: string, mac6: string): BpfEncapOptions {
    const v4 = this.cfg.nodeIP.includes(':') ? undefined : this.cfg.nodeIP;
    const v6 = this.nodeIP6;
    return {
      ...(v4 ? { nodeIP: v4, vtepMac: mac } : {}),
      ...(v6 ? { nodeIP6: v6, vtepMac6: mac6 } : {}),
      ...(this.cfg.vxlanVNI !== undefined ? { vxlanVNI: this.cfg.vxlanVNI } : {}),
      ...(this.cfg.vxlanPort !== undefined ? { vxlanPort: this.cfg.vxlanPort } : {}),
    };
  }

  // Takes over from the program in Tabby's tc slot with its maps, so nothing changes
  // for packets, and keeps its realm numbers so no route has to change.
  private async startBpf(link: Link): Promise<void> {
    const host = new HostProgram({ ...this.hostTarget(), ifindex: link.index });
    // IPIP and VXLAN over the IPv4 underlay, IPv6 VXLAN over the IPv6 one (Felix's MAC for
    // IPv6 hashes NODE-v6 until Node.spec.vxlanTunnelMACAddrV6 says otherwise).
    const encap = new BpfEncap(host, this.encapOptions(this.cfg.vtepMac ?? defaultVtepMac(this.cfg.nodeName), defaultVtepMac(`${this.cfg.nodeName}-v6`)));
    // IPv6 SNAT's checksum updates need BPF_F_IPV6: refused here, before anything is attached.
    if (this.cfg.snat?.nodeIP6) {
      const refusal = ipv6SnatRefusal(true, await ipv6CsumProbe());
      if (refusal) throw new DataplaneError(refusal);
    }
    const snat = this.cfg.snat ? new BpfSnat(host, { ...(this.cfg.logger ? { logger: this.cfg.logger } : {}), ...this.cfg.snat }) : undefined;
    await host.load([encap, snat].filter((f) => f !== undefined));
    const realms = encap?.declared.realms ?? [];
    for (const r of realms) this.realms.seed(r.kind, r.remoteIP, r.realm);
    this.host = host;
    this.encap = encap;
    this.nat = snat;
    this.programmedRealms = realmsKey(realms);
    this.programmedEntries = entriesKey(encap.declared.entries);
    this.log.info({ realms: realms.length, encap: encap !== undefined, snat: snat !== undefined }, 'eBPF host programs attached');
  }

  // A new VTEP MAC is a load-time value: load again and take over, as on a restart.
  private async reloadBpf(macs: { vtepMac?: string; vtepMac6?: string }): Promise<number> {
    this.encap!.configure(macs);
    await this.host!.reload();
    this.log.info(macs, 'eBPF host programs reloaded for a new VTEP MAC');
    return 2;
  }

  /** Applies what changed now (or right after the run in progress, sharing it with other callers). */
  apply(): Promise<DataplaneSetResult> {
    if (!this.started) return Promise.reject(new DataplaneError('apply() before start()'));
    // Nothing is declared before the first set(): a resync now would delete a predecessor's routes.
    if (!this.declared) return Promise.resolve({ ok: true, errors: [], durationMs: 0, changes: 0 });
    if (!this.inflight) return this.run();
    this.queued ??= this.inflight
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.run();
      });
    return this.queued;
  }

  private run(): Promise<DataplaneSetResult> {
    const p = this.runOnce().finally(() => {
      this.inflight = undefined;
    });
    this.inflight = p;
    return p;
  }

  private planInput(intents: readonly RouteIntent[]): PlanInput {
    const mode = this.cfg.mode;
    const { localVtep, localVtepV6 } = this.resource;
    return {
      mode, intents, hostIfname: this.cfg.hostIfname, hostMtu: this.mtu, underlayVia: this.underlayVia ?? (() => undefined),
      haveTunl0: this.haveTunl0, ...(localVtep ? { localVtep } : {}), ...(localVtepV6 ? { localVtepV6 } : {}),
      ...(mode === 'bpf' ? { realmFor: (k: RealmKind, ip: string) => this.realms.get(k, ip) } : {}),
    };
  }

  /** The route shape of a next-hop list (memoised per source until the underlay changes), or why there is none. */
  private translate(src: LearnedSource): RouteShape | string {
    if (src.shape !== undefined) return src.shape;
    const dst = '0.0.0.0/0'; // a stand-in: the shape does not depend on the prefix
    const plan = planDataplane(this.planInput([{ kind: 'learned', dst: src.hops.some((h) => h.address.includes(':')) ? '::/0' : dst, nexthops: src.hops }]));
    const route = plan.routes[0];
    if (plan.errors.length > 0 || !route) {
      src.shape = plan.errors.map((e) => e.message).join('; ') || 'no route';
    } else {
      src.shape = this.routes.normalise(route).shape;
      for (const r of plan.realms) this.learnedRealms.set(r.realm, r);
      for (const w of plan.warnings) this.warnOnce(`learned ${src.hops.map((h) => h.address).join(',')}`, w.message);
    }
    return src.shape;
  }

  /** Every learned route is translated afresh (the underlay or the VTEP changed). */
  private retranslate(): void {
    this.sources = new WeakMap();
    this.untranslated = [];
    this.learnedRealms = new Map();
    const moved: [string, readonly LearnedNexthop[]][] = [];
    for (const [dst, src] of this.routes.sources()) moved.push([dst, (src as LearnedSource).hops]);
    for (const [dst, hops] of moved) this.learnedRoute(dst, hops);
    for (const [dst, src] of this.shadowed) this.shadowed.set(dst, this.sourceOf(src.hops));
    this.learnedChanged();
  }

  private async runOnce(): Promise<DataplaneSetResult> {
    const started = performance.now();
    const errors: string[] = [];
    let changes = 0;
    const stage = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await fn();
      } catch (err) {
        errors.push(`${what}: ${(err as Error).message}`);
        return undefined;
      }
    };
    const mode = this.cfg.mode;
    const resync = this.resyncDue;
    this.resyncDue = false;

    if (resync) {
      if (this.cfg.hostMtu === undefined && (await stage('host MTU', () => this.followHostMtu()))) {
        this.retranslate();
        this.resourceDirty = true;
      }
      // How the underlay reaches next hops: only looked up on a resync, never per change.
      const main = await stage('underlay routes', () => routeDump({ ...this.ns, table: 254, excludeProtocol: RTPROT_TABBY }));
      if (main) {
        const resolver = underlayTable(main, this.cfg.hostIfname, RTPROT_TABBY);
        const key = resolver.key;
        if (key !== this.underlayKey || !this.underlayVia) {
          this.underlayKey = key;
          this.underlayVia = resolver.via;
          this.retranslate();
          this.resourceDirty = true;
        }
      }
      this.routes.requestResync();
    }
    const { localVtep, localVtepV6 } = this.resource;
    const macs: { vtepMac?: string; vtepMac6?: string } = {};
    const opts = this.encap?.options;
    if (opts?.nodeIP && localVtep && opts.vtepMac?.toLowerCase() !== localVtep.mac.toLowerCase()) macs.vtepMac = localVtep.mac.toLowerCase();
    if (opts?.nodeIP6 && localVtepV6 && opts.vtepMac6?.toLowerCase() !== localVtepV6.mac.toLowerCase()) macs.vtepMac6 = localVtepV6.mac.toLowerCase();
    if (mode === 'bpf' && this.encap && Object.keys(macs).length > 0) {
      changes += (await stage('eBPF reload', () => this.reloadBpf(macs))) ?? 0;
      this.retranslate();
    }

    if (this.resourceDirty || resync) {
      this.resourceDirty = false;
      changes += await this.planResources(stage, errors);
    } else {
      errors.push(...this.resourceErrors);
    }

    // Encapsulation state first (added, not yet pruned), so no route ever names a
    // realm or a neighbour that is not there yet: every new next-hop list is translated
    // (its realms allocated) now, not lazily while the routes are sent.
    for (const src of this.untranslated.splice(0)) this.translate(src);
    const realms = this.realmsInUse();
    const realmKey = realmsKey(realms);
    const encap = this.encap;
    // Both families' node addresses: the decapsulation allowlists (encap_peers, encap_peers6).
    const sources = this.resource.tunnelSources;
    const sourcesKey = sources ? [...sources].sort().join(',') : '';
    const entries = this.resourceEntries;
    const entryKey = entriesKey(entries);
    if (encap && (realmKey !== this.programmedRealms || sourcesKey !== this.programmedSources || entryKey !== this.programmedEntries)) {
      const r = await stage('eBPF maps', () => encap.setState({ entries, realms, ...(sources ? { sources } : {}) }, { prune: false }));
      if (r) {
        changes += r.added + r.updated;
        this.programmedRealms = realmKey;
        this.programmedSources = sourcesKey;
        this.programmedEntries = entryKey;
      }
    }
    const hold = this.resource.hold === true;
    this.routes.hold = hold;
    const applied = await stage('routes', () => this.routes.apply());
    if (applied) changes += applied.ops;
    for (const e of this.routes.lastErrors) errors.push(e.op === 'invalid' ? `${e.dst}: ${e.message}` : `${e.dst}: ${e.op}: ${e.message}`);
    if (encap && !hold && resync && applied && applied.errors.length === 0) {
      // Prune what no route uses any more (only on a resync: realms are few and cheap to keep).
      const r = await stage('eBPF maps', () => encap.apply());
      changes += r ? r.removed : 0;
      // Realms stay allocated while a route may still carry them, those of next-hop
      // lists that arrived while this run was sending too.
      this.realms.retain(new Set(this.realmsInUse().map((x) => x.realm)));
    }
    // A next-hop list that arrived during this run was translated as its route was
    // sent: its realm goes into the maps on the next run, right away (a failed map
    // write waits for the resync instead).
    if (encap && realmKey === this.programmedRealms && realmsKey(this.realmsInUse()) !== realmKey) this.debounce.poke();
    return this.finish(started, errors, changes);
  }

  /** Plans the resource routes (and the VXLAN device); returns the kernel writes made. */
  private async planResources(stage: <T>(what: string, fn: () => Promise<T>) => Promise<T | undefined>, errors: string[]): Promise<number> {
    let changes = 0;
    const resourceErrors: string[] = [];
    let plan: Plan | undefined;
    try {
      plan = planDataplane(this.planInput(this.resource.routes));
    } catch (err) {
      resourceErrors.push(`plan: ${(err as Error).message}`);
    }
    const keys = new Set<string>();
    if (plan) {
      for (const e of plan.errors) resourceErrors.push(`${e.dst}: ${e.message}`);
      for (const w of plan.warnings) this.warnOnce(w.dst, w.message);
      for (const r of plan.routes) {
        let n;
        try {
          n = this.routes.normalise(r);
        } catch (err) {
          resourceErrors.push(`${r.dst}: ${(err as Error).message}`);
          continue;
        }
        if (keys.has(n.key)) {
          resourceErrors.push(`${r.dst}: duplicate route (table ${n.shape.table}, metric ${n.shape.metric})`);
          continue;
        }
        keys.add(n.key);
        // A learned route on the same prefix steps aside until this one goes.
        const learned = this.resourceKeys.has(n.key) ? undefined : this.learnedAt(n.key);
        if (learned) this.shadowed.set(n.key, learned);
        this.routes.setRoute(r.dst, n.shape);
      }
      this.resourceRealms = plan.realms;
      this.resourceEntries = plan.encapEntries;
      const sources = this.resource.tunnelSources;
      for (const [guard, peers, v6] of [[this.guard, plan.vxlanPeers, false], [this.guardV6, plan.vxlanPeersV6, true]] as const) {
        if (!guard || !sources) continue;
        const vteps = peers.map((p) => p.nodeIP);
        await stage(v6 ? 'IPv6 tunnel guard' : 'tunnel guard', async () => {
          guard.setSources([...sources, ...vteps].filter((a) => a.includes(':') === v6));
          const r = await guard.apply();
          changes += Number(r.setWritten) + Number(r.rulesWritten);
        });
      }
      for (const [dev, local, peers] of [
        [this.vxlan, this.resource.localVtep, plan.vxlanPeers], [this.vxlanV6, this.resource.localVtepV6, plan.vxlanPeersV6],
      ] as const) {
        if (!dev) continue;
        dev.set({ ...(local ? { local } : {}), peers });
        const r = await stage(dev.name, () => dev.apply());
        if (r) {
          changes += r.changes;
          resourceErrors.push(...r.errors);
        }
      }
    }
    const before = this.resourceKeys;
    this.resourceKeys = keys;
    // A resource route that went away: a learned one may take its prefix back.
    for (const key of before) {
      if (keys.has(key)) continue;
      this.routes.remove(key);
      const src = this.shadowed.get(key);
      this.shadowed.delete(key);
      if (src) this.learnedRoute(key, src.hops);
    }
    this.resourceErrors = resourceErrors;
    errors.push(...resourceErrors);
    return changes;
  }

  private learnedAt(key: string): LearnedSource | undefined {
    const v = this.routes.desiredAt(key);
    return v && (v as LearnedSource).routeSource === true ? (v as LearnedSource) : undefined;
  }

  /** Realms of the resource plan and of the learned routes' next-hop lists. */
  private realmsInUse(): RealmEntry[] {
    if (this.cfg.mode !== 'bpf') return [];
    const out = new Map<number, RealmEntry>(this.learnedRealms);
    for (const r of this.resourceRealms) out.set(r.realm, r);
    return [...out.values()].sort((a, b) => a.realm - b.realm);
  }

  private warnOnce(dst: string, message: string): void {
    if (this.warned.has(dst)) return;
    this.warned.add(dst);
    this.log.error({ dst }, message);
  }

  // The host MTU may change under us (a NIC reconfigured, jumbo frames turned on): each
  // resync reads it again, so tunnel routes and vxlan.tabby follow. True when it changed.
  private async followHostMtu(): Promise<boolean> {
    const links = await linkList(this.ns);
    const host = links.find((l) => l.name === this.cfg.hostIfname);
    if (!host) return false;
    const mtu = detectHostMtu(links, host);
    if (mtu === this.mtu) return false;
    this.log.info({ from: this.mtu, to: mtu }, 'host MTU changed');
    this.mtu = mtu;
    this.vxlan?.setMtu(mtu - ENCAP_OVERHEAD.vxlan);
    this.vxlanV6?.setMtu(mtu - ENCAP_OVERHEAD.vxlanV6);
    return true;
  }

  private finish(started: number, errors: string[], changes: number): DataplaneSetResult {
    const durationMs = performance.now() - started;
    this.lastErrors = errors;
    this.lastMs = durationMs;
    if (errors.length > 0) this.log.debug({ errors: errors.slice(0, 10), count: errors.length }, 'dataplane applied with errors');
    else this.log.debug({ durationMs, changes }, 'dataplane applied');
    return { ok: errors.length === 0, errors, durationMs, changes };
  }
}

/** The learned routes with one next-hop list: what the reconciler resolves into a shape. */
interface LearnedSource extends RouteSource {
  readonly hops: readonly LearnedNexthop[];
  /** The translation, once made: a shape, or why there is none. */
  shape?: RouteShape | string;
}

const entriesKey = (entries: readonly EncapEntry[]): string =>
  entries.map((e) => `${e.block}:${e.kind}:${e.remoteIP}:${e.vtepMac ?? ''}`).sort().join(',');

const realmsKey = (realms: readonly RealmEntry[]): string =>
  realms.map((r) => `${r.realm}:${r.kind}:${r.remoteIP}:${r.vtepMac ?? ''}`).sort().join(',');

function detectHostMtu(links: readonly Link[], host: Link): number {
  return smallestMtu(links.filter((l) => MTU_IFACE.test(l.name))) ?? host.mtu;
}
