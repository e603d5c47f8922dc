// The one object the agent drives: declare the whole desired dataplane with set() and
// it is applied as a difference against the kernel — routes under Tabby's protocol
// (RouteReconciler), eBPF realms for per-next-hop encapsulation (bpf mode), the
// vxlan.tabby device with its neighbour and FDB entries (iptables mode). A periodic
// resync repeats the last set(). stop() leaves everything in the kernel so a restarted
// agent adopts it without a change; cleanup() removes all of it.

import { performance } from 'node:perf_hooks';
import type { RouteIntent } from '../calc/routes.js';
import { DataplaneError } from './dataplane-error.js';
import { type Link, linkList, linkSet } from '../native/links.js';
import { routeDump } from '../native/routes.js';
import { RTPROT_TABBY } from './routes/route-protocol.js';
import { silentLogger, type Logger } from '../util/log.js';
import { HostProgram, type HostTarget } from './bpf/host-program.js';
import { BpfEncap, type BpfEncapOptions } from './encap/bpf-encap.js';
import { BpfSnat, type BpfSnatOptions } from './nat/bpf-snat.js';
import { ENCAP_OVERHEAD, hostMtu as smallestMtu } from './encap/encap-mtu.js';
import { RealmAllocator } from './encap/realm-allocator.js';
import { vtepMac as defaultVtepMac } from './encap/vtep-mac.js';
import {
  IPIP_DEVICE, IPIP_UNSUPPORTED, planDataplane, underlayResolver, VXLAN_DEVICE, type DataplaneMode, type Plan,
} from './dataplane-plan.js';
import { VxlanDevice } from './links/vxlan-device.js';
import { TunnelGuard } from './encap/tunnel-guard.js';
import { RouteReconciler } from './routes/route-reconciler.js';

export { DataplaneError };

export interface DataplaneConfig {
  mode: DataplaneMode;
  /** Namespace under /var/run/netns to program; absent: this process's. */
  netns?: string;
  nodeName: string;
  /** The underlay interface (tunnels leave through it). */
  hostIfname: string;
  /** This node's underlay IPv4 address. */
  nodeIP: string;
  /** Default: the smallest MTU among up interfaces named like Calico's MTU interface pattern. */
  hostMtu?: number;
  /** Period of the resync that repeats the last set() (default 30 s). */
  resyncIntervalMs?: number;
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
}

export interface DesiredDataplane {
  routes: RouteIntent[];
  /** Set when a VXLAN pool is in use. */
  localVtep?: { tunnelIP: string; mac: string };
  /**
   * Underlay IPv4 addresses of every other node: IPIP and VXLAN are taken from these
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

export interface DataplaneSetResult {
  ok: boolean;
  errors: string[];
  durationMs: number;
  /** Kernel writes this run made: route operations, map entries, link/address/neighbour/FDB operations. */
  changes: number;
}

export interface DataplaneStats {
  routesProgrammed: number;
  lastApplyMs: number;
  errors: string[];
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
  private guard: TunnelGuard | undefined;
  private mtu = 0;
  private haveTunl0 = false;
  private started = false;
  private desired: DesiredDataplane | undefined;
  private inflight: Promise<DataplaneSetResult> | undefined;
  private queued: Promise<DataplaneSetResult> | undefined;
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
    this.routes = new RouteReconciler({ ...this.ns, protocol: RTPROT_TABBY });
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
    if (this.cfg.mode === 'bpf') await this.startBpf(host);
    if (this.cfg.mode === 'iptables') {
      // Calico brings tunl0 up for IPIP pools; the kernel creates it down.
      if (this.haveTunl0 && this.cfg.ipip) await linkSet({ name: IPIP_DEVICE, up: true, ...this.ns });
      this.guard = new TunnelGuard({ ...this.ns, vxlanPort: this.cfg.vxlanPort ?? 4789, ipip: this.haveTunl0 });
      this.vxlan = new VxlanDevice({
        ...this.ns, parent: this.cfg.hostIfname, local: this.cfg.nodeIP, mtu: this.mtu - ENCAP_OVERHEAD.vxlan,
        ...(this.cfg.vxlanVNI !== undefined ? { vni: this.cfg.vxlanVNI } : {}),
        ...(this.cfg.vxlanPort !== undefined ? { port: this.cfg.vxlanPort } : {}),
      });
    }
    this.started = true;
    const every = this.cfg.resyncIntervalMs ?? 30_000;
    this.timer = setInterval(() => {
      if (this.desired && !this.inflight) {
        this.run().catch((err: unknown) => this.log.error({ err }, 'dataplane resync failed'));
      }
    }, every);
    this.timer.unref();
    this.log.info({ hostMtu: this.mtu, ifname: this.cfg.hostIfname }, 'dataplane started');
  }

  /**
   * Declares the full desired state and applies the difference. Calls made while one
   * runs share the next run, which applies the latest declaration.
   */
  set(desired: DesiredDataplane): Promise<DataplaneSetResult> {
    if (!this.started) return Promise.reject(new DataplaneError('set() before start()'));
    this.desired = {
      routes: [...desired.routes],
      ...(desired.localVtep ? { localVtep: { ...desired.localVtep } } : {}),
      ...(desired.tunnelSources ? { tunnelSources: [...desired.tunnelSources] } : {}),
      ...(desired.hold ? { hold: true } : {}),
    };
    if (!this.inflight) return this.run();
    this.queued ??= this.inflight
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.run();
      });
    return this.queued;
  }

  /** natOutgoing in bpf mode (after start(), when the config asked for it): declare pools, apply. */
  get snat(): BpfSnat | undefined {
    return this.nat;
  }

  stats(): DataplaneStats {
    return { routesProgrammed: this.routes.routesProgrammed, lastApplyMs: this.lastMs, errors: [...this.lastErrors] };
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
    this.routes.setRoutes([]);
    const r = await this.routes.apply().catch((err: unknown) => {
      errors.push(err);
      return undefined;
    });
    if (r && r.errors.length > 0) errors.push(new DataplaneError(`route cleanup: ${r.errors.map((e) => `${e.dst} ${e.message}`).join('; ')}`));
    const vxlan = this.vxlan ?? new VxlanDevice({ ...this.ns, parent: this.cfg.hostIfname, local: this.cfg.nodeIP, mtu: 1450 });
    await vxlan.remove().catch((err: unknown) => errors.push(err));
    if (this.cfg.mode === 'iptables') {
      const guard = this.guard ?? new TunnelGuard({ ...this.ns, vxlanPort: this.cfg.vxlanPort ?? 4789, ipip: false });
      await guard.cleanup().catch((err: unknown) => errors.push(err));
      this.guard = undefined;
    }
    await this.host?.close().catch((err: unknown) => errors.push(err));
    this.host = undefined;
    this.encap = undefined;
    this.nat = undefined;
    // Also what a previous agent left in Tabby's tc slot.
    await HostProgram.detach(this.hostTarget()).catch((err: unknown) => errors.push(err));
    this.started = false;
    this.desired = undefined;
    if (errors.length > 0) throw errors[0];
  }

  private async quiesce(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([this.inflight, this.queued]);
  }

  private hostTarget(): HostTarget {
    return { ifname: this.cfg.hostIfname, ...this.ns };
  }

  private encapOptions(mac: string): BpfEncapOptions {
    return {
      nodeIP: this.cfg.nodeIP, vtepMac: mac,
      ...(this.cfg.vxlanVNI !== undefined ? { vxlanVNI: this.cfg.vxlanVNI } : {}),
      ...(this.cfg.vxlanPort !== undefined ? { vxlanPort: this.cfg.vxlanPort } : {}),
    };
  }

  // Takes over from the program in Tabby's tc slot with its maps, so nothing changes
  // for packets, and keeps its realm numbers so no route has to change.
  private async startBpf(link: Link): Promise<void> {
    const host = new HostProgram({ ...this.hostTarget(), ifindex: link.index });
    const encap = new BpfEncap(host, this.encapOptions(this.cfg.vtepMac ?? defaultVtepMac(this.cfg.nodeName)));
    const snat = this.cfg.snat ? new BpfSnat(host, { ...(this.cfg.logger ? { logger: this.cfg.logger } : {}), ...this.cfg.snat }) : undefined;
    await host.load(snat ? [encap, snat] : [encap]);
    for (const r of encap.declared.realms) this.realms.seed(r.kind, r.remoteIP, r.realm);
    this.host = host;
    this.encap = encap;
    this.nat = snat;
    this.log.info({ realms: encap.declared.realms.length, snat: snat !== undefined }, 'eBPF host programs attached');
  }

  // A new VTEP MAC is a load-time value: load again and take over, as on a restart.
  private async reloadBpf(mac: string): Promise<number> {
    this.encap!.configure({ vtepMac: mac });
    await this.host!.reload();
    this.log.info({ vtepMac: mac }, 'eBPF host programs reloaded for a new VTEP MAC');
    return 2;
  }

  private run(): Promise<DataplaneSetResult> {
    const p = this.runOnce().finally(() => {
      this.inflight = undefined;
    });
    this.inflight = p;
    return p;
  }

  private async runOnce(): Promise<DataplaneSetResult> {
    const started = performance.now();
    const desired = this.desired!;
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
    if (this.cfg.hostMtu === undefined) await stage('host MTU', () => this.followHostMtu());
    const main = await stage('underlay routes', () => routeDump({ ...this.ns, family: 4, table: 254 }));
    const underlayVia = underlayResolver(main ?? [], this.cfg.hostIfname, RTPROT_TABBY);
    if (mode === 'bpf' && desired.localVtep && this.encap?.options?.vtepMac?.toLowerCase() !== desired.localVtep.mac.toLowerCase()) {
      changes += (await stage('eBPF reload', () => this.reloadBpf(desired.localVtep!.mac.toLowerCase()))) ?? 0;
    }
    let plan: Plan;
    try {
      plan = planDataplane({
        mode, intents: desired.routes, hostIfname: this.cfg.hostIfname, hostMtu: this.mtu, underlayVia,
        haveTunl0: this.haveTunl0, ...(desired.localVtep ? { localVtep: desired.localVtep } : {}),
        ...(mode === 'bpf' ? { realmFor: (k: Parameters<RealmAllocator['get']>[0], ip: string) => this.realms.get(k, ip) } : {}),
      });
    } catch (err) {
      errors.push(`plan: ${(err as Error).message}`);
      return this.finish(started, errors, changes);
    }
    for (const e of plan.errors) errors.push(`${e.dst}: ${e.message}`);
    for (const w of plan.warnings) {
      if (this.warned.has(w.dst)) continue;
      this.warned.add(w.dst);
      this.log.error({ dst: w.dst }, w.message);
    }

    // Encapsulation state first (added, not yet pruned), so no route ever names a
    // realm or a neighbour that is not there yet.
    const encap = this.encap;
    if (encap) {
      const sources = desired.tunnelSources ? { sources: desired.tunnelSources } : {};
      const r = await stage('eBPF maps', () => encap.setState({ entries: [], realms: plan.realms, ...sources }, { prune: false }));
      changes += r ? r.added + r.updated : 0;
    }
    if (this.vxlan) {
      this.vxlan.set({ ...(desired.localVtep ? { local: desired.localVtep } : {}), peers: plan.vxlanPeers });
      const r = await stage(VXLAN_DEVICE, () => this.vxlan!.apply());
      if (r) {
        changes += r.changes;
        errors.push(...r.errors);
      }
    }
    const guard = this.guard;
    if (guard && desired.tunnelSources) {
      const sources = [...desired.tunnelSources, ...plan.vxlanPeers.map((p) => p.nodeIP)];
      await stage('tunnel guard', async () => {
        guard.setSources(sources);
        const r = await guard.apply();
        changes += Number(r.setWritten) + Number(r.rulesWritten);
      });
    }
    this.routes.hold = desired.hold === true;
    for (const e of this.routes.setRoutes(plan.routes)) errors.push(`${e.dst}: ${e.message}`);
    const applied = await stage('routes', () => this.routes.apply());
    if (applied) {
      changes += applied.ops;
      for (const e of applied.errors) if (e.op !== 'invalid') errors.push(`${e.dst}: ${e.op}: ${e.message}`);
    }
    if (encap && !desired.hold) {
      const r = await stage('eBPF maps', () => encap.apply());
      changes += r ? r.removed : 0;
      // Realms stay allocated while a route may still carry them.
      if (!desired.hold && applied && applied.errors.every((e) => e.op === 'invalid')) this.realms.retain(new Set(plan.realms.map((x) => x.realm)));
    }
    return this.finish(started, errors, changes);
  }

  // The host MTU may change under us (a NIC reconfigured, a cloud's jumbo frames
  // turned on): every pass reads it again, so tunnel routes and vxlan.tabby follow.
  private async followHostMtu(): Promise<void> {
    const links = await linkList(this.ns);
    const host = links.find((l) => l.name === this.cfg.hostIfname);
    if (!host) return;
    const mtu = detectHostMtu(links, host);
    if (mtu === this.mtu) return;
    this.log.info({ from: this.mtu, to: mtu }, 'host MTU changed');
    this.mtu = mtu;
    this.vxlan?.setMtu(mtu - ENCAP_OVERHEAD.vxlan);
  }

  private finish(started: number, errors: string[], changes: number): DataplaneSetResult {
    const durationMs = performance.now() - started;
    this.lastErrors = errors;
    this.lastMs = durationMs;
    if (errors.length > 0) this.log.warn({ errors: errors.slice(0, 10), count: errors.length }, 'dataplane applied with errors');
    else this.log.debug({ durationMs, changes }, 'dataplane applied');
    return { ok: errors.length === 0, errors, durationMs, changes };
  }
}

function detectHostMtu(links: readonly Link[], host: Link): number {
  return smallestMtu(links.filter((l) => MTU_IFACE.test(l.name))) ?? host.mtu;
}
