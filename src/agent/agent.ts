// The long-running node agent: wiring only. Two triggers, one direction:
// 1. a resource change → calc's node plan (pure) → speaker configuration (peers, local
//    routes) and dataplane configuration (resource routes, local VTEP, NAT pools);
// 2. a best-path change from the speaker → a route delta for the dataplane, judged in
//    the plan's route context — it never re-plans anything.
// The policy itself (export rule, IPAM needs, the speaker-peer mapping, the restart
// hold) lives in src/calc; this file only carries it out.

import { hostname } from 'node:os';
import { parseCidr } from '../api/net.js';
import type { BGPConfiguration, BGPFilter, BGPPeer, CalicoNodeStatus, IPPool, Node } from '../api/types.js';
import { ResourceClient } from '../client/resource-client.js';
import { Speaker, type BestPath, type SpeakerPeer, type SpeakerPeerStatus } from '../bgp/speaker.js';
import { parseCommunity, parseLargeCommunity } from '../bgp/wire/index.js';
import { localBlocks, needsVxlanTunnelAddress, nodePlan, type NodePlan, type NodeResources, type PlannedPeer, type SpeakerIdentity } from '../calc/node-plan.js';
import { RestartHold } from '../calc/restart-hold.js';
import type { LearnedNexthop, RouteContext } from '../calc/routes.js';
import type { Datastore } from '../datastore/datastore.js';
import { DatastoreError, ValidationError } from '../errors.js';
import { Dataplane } from '../dataplane/dataplane.js';
import { vtepMac } from '../dataplane/encap/vtep-mac.js';
import { IptablesNat } from '../dataplane/nat/iptables-nat.js';
import type { NatDataplane } from '../dataplane/nat/nat-dataplane.js';
import { Ipam, BLOCK_KIND, type IpamBlock } from '../ipam/ipam.js';
import { RTPROT_TABBY } from '../dataplane/routes/route-protocol.js';
import { NextHopWatch } from '../dataplane/routes/next-hop-watch.js';
import { addrList } from '../native/addresses.js';
import { routeDump } from '../native/routes.js';
import { Debounce } from '../util/debounce.js';
import type { Logger } from '../util/log.js';
import { AutodetectError, autodetectAddress, resolveNodeAddress, type AddressSetting } from './autodetect.js';
import { registerBfdMetrics } from './bfd-metrics.js';
import { routerIdFor } from './router-id.js';
import { HealthServer } from './health-server.js';
import { AgentMetrics } from './metrics.js';
import { sessionFacts } from './peer-metrics.js';
import { buildInfo } from '../util/build-info.js';
import { PeerBfd, type PeerBfdJson } from './peer-bfd.js';
import { BgpLogLevel } from './bgp-log-level.js';
import type { NodeStatusFacts } from './node-status-report.js';
import { NodeStatusWriter } from './node-status-writer.js';
import { PeerPolicies, speakerPeerOf, type PeerFunctions } from './peer-policy.js';
import { ResourceCache } from './resource-cache.js';
import { readSecret } from './secrets.js';
import { StatusServer } from './status-server.js';
import { formatSince, protocolState, type NodeStatusJson, type PeerStatusJson } from './status.js';

export interface AgentOptions {
  nodeName?: string;
  store: Datastore;
  dataplane: 'bpf' | 'iptables' | 'none';
  /** bpf mode: where the eBPF maps and programs are pinned (default: not pinned). */
  bpfPinRoot?: string;
  stateDir: string;
  secretsDir: string;
  /** IP and IP6 as calico-node reads them (default: unset, first-found). */
  ip?: AddressSetting;
  ip6?: AddressSetting;
  /** CALICO_ROUTER_ID: an IPv4 address or `hash`. */
  routerId?: string;
  health: { address: string; port: number } | false;
  logger: Logger;
  /** Resource changes: re-plan after this much quiet (ms, default 100)… */
  debounceMs?: number;
  /** …but at most this long after the first change of a burst (ms, default 1000). */
  maxWaitMs?: number;
}

/** How long routes of a replaced speaker are kept for the new one to relearn them. */
const STALE_MS = 120_000;

export class Agent {
  readonly name: string;
  private readonly log: Logger;
  private readonly cache: ResourceCache;
  private readonly client: ResourceClient;
  private readonly ipam: Ipam;
  private readonly replan: Debounce;
  private speaker?: Speaker;
  private speakerId: SpeakerIdentity | undefined;
  /** Next-hop tracking: learned paths whose next hop the kernel cannot reach are not used. */
  private nextHops: NextHopWatch | undefined;
  private speakerKey = '';
  private dataplane?: Dataplane;
  private nat?: NatDataplane;
  private status?: StatusServer;
  private health?: HealthServer;
  readonly metrics: AgentMetrics;
  private readonly bfd: PeerBfd;
  private nodeCidrs: string[] = [];
  private routerId?: string;
  private hostIfname = 'eth0';
  private plan?: NodePlan;
  /** The context learned routes are judged in: replaced only when the plan's key changes. */
  private routeContext?: RouteContext;
  private readonly policies = new PeerPolicies();
  private readonly bgpLog: BgpLogLevel;
  private nodeStatus_?: NodeStatusWriter;
  private readonly bootTime = new Date();
  /** Routes learned by a replaced speaker, kept until the new one relearns them or time runs out. */
  private stale = new Map<string, readonly string[]>();
  private staleTimer?: NodeJS.Timeout;
  private hold!: RestartHold;
  private holdTimer?: NodeJS.Timeout;
  private lastBestPathChange = Date.now();
  private everAllUp = false;
  private stopped = false;

  constructor(private readonly opts: AgentOptions) {
    this.name = opts.nodeName ?? hostname();
    this.log = opts.logger.child({ component: 'agent', node: this.name });
    this.client = new ResourceClient(opts.store);
    this.ipam = new Ipam(opts.store);
    this.replan = new Debounce({ quietMs: opts.debounceMs ?? 100, maxWaitMs: opts.maxWaitMs ?? 1000 }, () => this.planPass());
    // CalicoNodeStatus is the agent's own output: writing it never calls for a new plan.
    this.cache = new ResourceCache(opts.store, (kind) => kind !== 'CalicoNodeStatus' && this.replan.poke(), this.log);
    this.metrics = new AgentMetrics({
      peers: () =>
        this.sessions().map(({ s, p }) => ({
          name: s.id,
          address: s.address,
          family: s.family,
          type: p?.type ?? 'global',
          established: s.state === 'Established',
          state: s.state,
          prefixes: s.prefixes,
          ...sessionFacts(s),
        })),
      routesProgrammed: () => this.dataplane?.stats().routesProgrammed ?? 0,
      datastoreEvents: () => this.cache.events,
      datastoreReady: () => this.cache.ready,
    }, buildInfo());
    this.bgpLog = new BgpLogLevel(opts.logger);
    this.bfd = new PeerBfd({ logger: opts.logger });
    registerBfdMetrics(this.metrics.registry, this.bfd);
  }

  async start(): Promise<void> {
    await this.detectAddresses();
    await this.register();
    // Tabby's routes in the kernel at start: a restart with forwarding preserved.
    const restarting = (await routeDump({ family: 0, protocol: RTPROT_TABBY })).length > 0;
    this.hold = new RestartHold({ restarting, startedAt: Date.now() });
    await this.cache.start();
    // The underlay address: IPv4, or IPv6 on an IPv6-only node.
    const nodeIP = parseCidr(this.nodeCidrs[0]!)!.address;
    const { nodeIP6 } = this.snatSources();
    const dataplane = new Dataplane({
      mode: this.opts.dataplane, nodeName: this.name, hostIfname: this.hostIfname, nodeIP, logger: this.opts.logger,
      ...(nodeIP6 ? { nodeIP6 } : {}),
      // natOutgoing in bpf mode is a step of the same eBPF programs, loaded with them; the
      // node address of each family is the SNAT source for pools of that family.
      ...(this.opts.dataplane === 'bpf' ? { snat: this.snatSources() } : {}),
      ...(this.opts.bpfPinRoot !== undefined ? { bpfPinRoot: this.opts.bpfPinRoot } : {}),
    });
    await dataplane.start();
    // Only a started dataplane is planned for: a watch event during the eBPF takeover
    // waits for the reconcile() below.
    this.dataplane = dataplane;
    this.startNat();
    this.status = new StatusServer(this.opts.stateDir, (req) => {
      if (req.cmd === 'status') return this.nodeStatus();
      throw new ValidationError('cmd', `unknown command ${JSON.stringify(req.cmd)}`);
    });
    await this.status.start();
    if (this.opts.health) {
      this.health = new HealthServer(this.metrics.registry, { live: () => !this.stopped, ready: () => this.readiness() });
      const at = await this.health.start(this.opts.health.address, this.opts.health.port);
      this.log.info(at, 'health and metrics listening');
    }
    await this.reconcile();
    this.nodeStatus_ = new NodeStatusWriter({
      node: this.name,
      client: this.client,
      list: () => this.cache.list<CalicoNodeStatus>('CalicoNodeStatus'),
      facts: () => this.statusFacts(),
      log: this.log,
    });
    this.nodeStatus_.start();
    this.log.info({ addresses: this.nodeCidrs, dataplane: this.opts.dataplane, restarting }, 'agent started');
  }

  /**
   * The node's addresses (kept as CIDRs, IPv4 first) as calico-node finds them: from IP/IP6
   * and the Node's stored addresses; the interface holding the first is the host interface.
   */
  private async detectAddresses(): Promise<void> {
    const stored = ((await this.client.get('Node', this.name)) as Node | undefined)?.spec.bgp;
    const unset: AddressSetting = { mode: 'unset', method: 'first-found' };
    const find = (family: 4 | 6) => (method: string) => autodetectAddress(method, family);
    const v4 = await resolveNodeAddress(this.opts.ip ?? unset, 4, stored?.ipv4Address, find(4));
    const v6 = await resolveNodeAddress(this.opts.ip6 ?? unset, 6, stored?.ipv6Address, find(6));
    this.nodeCidrs = [v4, v6].filter((c): c is string => c !== undefined);
    this.routerId = routerIdFor(this.name, v4 ? parseCidr(v4)?.address : undefined, this.opts.routerId);
    if (this.nodeCidrs.length === 0) throw new AutodetectError('the node has neither an IPv4 nor an IPv6 address (IP and IP6 are none, and the Node has none)');
    const primary = this.nodeCidrs[0]!;
    const held = (await addrList({ family: v4 ? 4 : 6 })).find((a) => a.cidr === primary);
    if (held?.ifname) this.hostIfname = held.ifname;
  }

  /** Create or update this node's Node resource with its addresses. */
  private async register(): Promise<void> {
    const [v4, v6] = [this.nodeCidrs.find((c) => !c.includes(':')), this.nodeCidrs.find((c) => c.includes(':'))];
    await this.client.modify('Node', this.name, (stored) => {
      const node = (stored ?? { apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: this.name }, spec: {} }) as Node;
      const { ipv4Address: _4, ipv6Address: _6, ...rest } = node.spec.bgp ?? {};
      const bgp = { ...rest, ...(v4 ? { ipv4Address: v4 } : {}), ...(v6 ? { ipv6Address: v6 } : {}) };
      return { ...node, spec: { ...node.spec, bgp } };
    });
  }

  /** Plans now (after a pass in progress) instead of waiting for the debounce. */
  async reconcile(): Promise<void> {
    await this.planPass();
  }

  private resources(): NodeResources {
    return {
      nodes: this.cache.list<Node>('Node'),
      configs: this.cache.list<BGPConfiguration>('BGPConfiguration'),
      pools: this.cache.list<IPPool>('IPPool'),
      blocks: this.cache.list<IpamBlock>(BLOCK_KIND),
      peers: this.cache.list<BGPPeer>('BGPPeer'),
      filters: this.cache.list<BGPFilter>('BGPFilter'),
    };
  }

  private passing?: Promise<void>;

  /** Trigger 1: resources → plan → speaker and dataplane configuration. One at a time. */
  private async planPass(): Promise<void> {
    while (this.passing) await this.passing.catch(() => undefined);
    const p = this.pass().catch((err: unknown) => {
      this.log.error({ err }, 'planning failed; will retry on the next change');
      // Only an unreachable store marks the cache; anything else is logged and retried.
      if (err instanceof DatastoreError) this.cache.markUnavailable(err);
    });
    this.passing = p;
    try {
      await p;
    } finally {
      if (this.passing === p) this.passing = undefined;
    }
  }

  private async pass(): Promise<void> {
    if (this.stopped || !this.dataplane) return;
    const plan = nodePlan(this.resources(), { name: this.name, cidrs: this.nodeCidrs, routerId: this.routerId });
    if (!plan) return;
    // IPAM writes only when the store is there; the watch brings them back as a new plan.
    // The cache answers whether anything is missing, so a plan normally does no store I/O.
    if (this.cache.ready && !plan.ipam.satisfied && (await this.ensureIpam(plan))) return;
    this.plan = plan;
    this.bgpLog.set(plan.bgpLogSeverity);
    await this.ensureSpeaker(plan.speaker);
    const speaker = this.speaker!;
    const filterErrors = new Map<string, string>();
    const fns = this.policies.forPeers(plan.peers, filterErrors);
    for (const [peer, error] of filterErrors) this.log.error({ peer, error }, 'BGPFilter cannot be applied: the peer sends and takes nothing until it is fixed');
    speaker.setPeers(plan.peers.map((p) => this.speakerPeer(p, fns.get(p.id)!)));
    await this.bfd.sync(plan.peers, speaker);
    speaker.setLocalRoutes(
      plan.originations.map((o) => ({
        prefix: o.prefix,
        communities: o.communities.map(parseCommunity).filter((c): c is number => c !== undefined),
        largeCommunities: o.communities.map(parseLargeCommunity).filter((c) => c !== undefined) as [number, number, number][],
      })),
    );
    this.applyRouteContext(plan.routes);
    const t0 = process.hrtime.bigint();
    const result = await this.dataplane!.setResources({
      routes: [...plan.routes.resourceIntents],
      ...(plan.localVtep ? { localVtep: plan.localVtep } : {}),
      ...(plan.localVtepV6 ? { localVtepV6: plan.localVtepV6 } : {}),
      tunnelSources: plan.tunnelSources,
      hold: this.checkHold(),
    });
    this.metrics.applyLatency.observe({ kind: 'routes' }, Number(process.hrtime.bigint() - t0) / 1e9);
    if (!result.ok) this.log.warn({ errors: result.errors.slice(0, 10) }, 'some dataplane changes failed; retrying on resync');
    if (this.nat) {
      this.nat.setPools(plan.natPools);
      await this.nat.apply();
    }
  }

  /** A new route context (pools, blocks, VTEPs changed): every learned route is judged again. */
  private applyRouteContext(ctx: RouteContext): void {
    if (this.routeContext?.key === ctx.key) return;
    this.routeContext = ctx;
    const dp = this.dataplane!;
    const all = new Map<string, readonly string[]>(this.stale);
    for (const b of this.speaker?.bestPaths() ?? []) all.set(b.prefix, b.nexthops);
    dp.setLearned(
      (function* () {
        for (const [prefix, nexthops] of all) {
          const hops = ctx.learnedHops(prefix, nexthops);
          if (hops) yield { kind: 'learned' as const, dst: prefix, nexthops: hops };
        }
      })(),
    );
  }

  /** Trigger 2: best-path changes → route deltas, judged in the current context; nothing is re-planned. */
  private onBestPaths(changes: BestPath[]): void {
    this.lastBestPathChange = Date.now();
    const ctx = this.routeContext;
    const dp = this.dataplane;
    if (!ctx || !dp) return; // the first plan sets the context and takes the whole table
    const stale = this.stale.size > 0;
    for (const c of changes) {
      if (stale) this.stale.delete(c.prefix);
      const hops: readonly LearnedNexthop[] | undefined = c.peerId === null ? undefined : ctx.learnedHops(c.prefix, c.nexthops);
      dp.learnedRoute(c.prefix, hops);
    }
    dp.learnedChanged();
  }

  /** The restart hold, evaluated now; looks again on a timer while it holds. */
  private checkHold(): boolean {
    const established = new Set(this.sessions().filter(({ s }) => s.state === 'Established').map(({ s }) => s.id));
    const st = this.hold.update({ now: Date.now(), desired: this.plan?.peers.map((p) => p.id) ?? [], established, lastChange: this.lastBestPathChange, recovering: this.speaker?.recovering === true });
    clearTimeout(this.holdTimer);
    if (st.holding && !this.stopped) {
      this.holdTimer = setTimeout(() => {
        if (!this.checkHold()) {
          this.log.info('BGP reconverged after the restart: routes no longer learned are removed');
          this.dataplane?.setHold(false);
        }
      }, st.recheckMs ?? 1000);
      this.holdTimer.unref();
    }
    return st.holding;
  }

  private snatSources(): { nodeIP?: string; nodeIP6?: string } {
    const [v4, v6] = [4, 6].map((f) => this.nodeCidrs.map((c) => parseCidr(c)!).find((c) => c.family === f)?.address);
    return { ...(v4 ? { nodeIP: v4 } : {}), ...(v6 ? { nodeIP6: v6 } : {}) };
  }

  /** natOutgoing in the dataplane's own style: eBPF SNAT, or iptables MASQUERADE. */
  private startNat(): void {
    if (this.opts.dataplane === 'bpf') {
      this.nat = this.dataplane!.snat;
    } else if (this.opts.dataplane === 'iptables') {
      // Each family the node has: natOutgoing IPv6 pools MASQUERADE through ip6tables.
      const families = [...new Set(this.nodeCidrs.map((c) => (c.includes(':') ? 6 : 4) as 4 | 6))];
      this.nat = new IptablesNat({ families, logger: this.opts.logger });
    }
  }

  /** Claim blocks and the VXLAN tunnel address; true when the store was changed. */
  private async ensureIpam(plan: NodePlan): Promise<boolean> {
    const me = this.cache.get<Node>('Node', this.name)!;
    const pools = this.cache.list<IPPool>('IPPool');
    const before = localBlocks(this.name, this.resources()).length;
    const blocks = await this.ipam.ensureBlocks(this.name, me.metadata.labels ?? {}, pools);
    let changed = blocks.length !== before;
    // A VXLAN pool and a block of its family (maybe just claimed): the node needs its tunnel
    // address of that family. calico-node's allocateip: handle vxlan-tunnel-addr-NODE, and
    // vxlan-v6-tunnel-addr-NODE for IPv6; Felix's MAC for IPv6 hashes NODE-v6
    // (felix/calc/vxlan_resolver.go vtepMACForHost).
    for (const family of [4, 6] as const) {
      const needed = family === 4 ? plan.ipam.vxlanTunnelAddress : plan.ipam.vxlanTunnelAddressV6;
      if (!needed && !needsVxlanTunnelAddress(me, pools, blocks, family)) continue;
      const handle = family === 4 ? `vxlan-tunnel-addr-${this.name}` : `vxlan-v6-tunnel-addr-${this.name}`;
      const tunnelIP = await this.ipam.assign(this.name, handle, family);
      await this.client.modify('Node', this.name, (stored) => {
        const n = stored as Node;
        const spec = family === 4
          ? { ipv4VXLANTunnelAddr: tunnelIP, vxlanTunnelMACAddr: vtepMac(this.name) }
          : { ipv6VXLANTunnelAddr: tunnelIP, vxlanTunnelMACAddrV6: vtepMac(`${this.name}-v6`) };
        return { ...n, spec: { ...n.spec, ...spec } };
      });
      changed = true;
    }
    return changed;
  }

  /** (Re)create the speaker when identity-level settings change; peers alone never do. */
  private async ensureSpeaker(id: SpeakerIdentity): Promise<void> {
    const key = JSON.stringify([id.routerId, id.clusterId, id.listen]);
    if (this.speaker && key === this.speakerKey) return;
    const old = this.speaker;
    if (old) {
      this.log.info({ routerId: id.routerId, clusterId: id.clusterId, listen: id.listen }, 'speaker identity changed: restarting the speaker');
      this.keepStale(old);
      await old.stop({ graceful: true });
    }
    // Routes we hold in the kernel at start mean we are restarting with forwarding
    // preserved; a speaker replaced for a new router ID or listener restarts with them
    // too (keepStale). A new cluster ID does not: it makes the node a reflector, and a
    // deferral would keep its clients without reflected routes until every peer's
    // End-of-RIB, while the operator already turns the mesh off.
    const prev = this.speakerId;
    const newIdentity = prev !== undefined && (prev.routerId !== id.routerId || prev.listen.address !== id.listen.address || prev.listen.port !== id.listen.port);
    const restarting = newIdentity || this.hold.holding;
    const speaker = new Speaker({
      routerId: id.routerId, localAsn: id.asn, listen: id.listen, gracefulRestart: { restartTime: 120, restarting }, logger: this.bgpLog.logger,
      ...(id.clusterId ? { clusterId: id.clusterId } : {}),
    });
    speaker.onBestPaths((changes) => this.onBestPaths(changes));
    speaker.onPeerEstablished((id) => void this.bfd.established(id));
    if (this.nextHops === undefined) {
      this.nextHops = new NextHopWatch({ onChange: () => this.speaker?.nextHopsChanged(), logger: this.log });
      await this.nextHops.start();
    }
    const watch = this.nextHops;
    speaker.setNextHopResolver((nh) => watch.reachable(nh));
    await speaker.start();
    this.speaker = speaker;
    this.speakerKey = key;
    this.speakerId = id;
  }

  /** Keep what the old speaker learned until the new one relearns it (no flap), then sweep. */
  private keepStale(old: Speaker): void {
    for (const b of old.bestPaths()) this.stale.set(b.prefix, b.nexthops);
    clearTimeout(this.staleTimer);
    this.staleTimer = setTimeout(() => {
      for (const prefix of this.stale.keys()) this.dataplane?.learnedRoute(prefix, undefined);
      this.dataplane?.learnedChanged();
      this.stale.clear();
    }, STALE_MS);
    this.staleTimer.unref();
  }

  private speakerPeer(p: PlannedPeer, fns: PeerFunctions): SpeakerPeer {
    let md5Key: string | undefined;
    if (p.password) {
      try {
        md5Key = readSecret(this.opts.secretsDir, p.password);
      } catch (err) {
        // Never a session without the password asked for: the peer is reported Idle with why.
        return { ...speakerPeerOf(p, fns), configError: `password cannot be read: ${(err as Error).message}` };
      }
    }
    return speakerPeerOf(p, fns, md5Key);
  }

  /** What a CalicoNodeStatus report is made of, once there is a plan and a speaker. */
  private statusFacts(): NodeStatusFacts | undefined {
    if (!this.plan || !this.speaker) return undefined;
    return {
      routerId: this.plan.speaker.routerId,
      version: buildInfo().version,
      bootTime: this.bootTime,
      now: new Date(),
      sessions: this.sessions().map(({ s, p }) => ({ s, type: p?.type ?? 'global' })),
      routes: this.speaker.bestPaths(),
      ifname: this.hostIfname,
    };
  }

  /** Each session's status with the planned peer it belongs to. */
  private sessions(): { s: SpeakerPeerStatus; p: PlannedPeer | undefined }[] {
    const byId = new Map(this.plan?.peers.map((p) => [p.id, p]));
    return (this.speaker?.status() ?? []).map((s) => ({ s, p: byId.get(s.id) }));
  }

  peerStatus(): PeerStatusJson[] {
    return this.sessions().map(({ s, p }) => ({
      name: s.id,
      address: s.address,
      family: s.family,
      type: p?.type ?? 'global',
      asn: s.remoteAsn,
      state: protocolState(s.state),
      info: s.info,
      since: formatSince(s.since),
      prefixes: s.prefixes,
      ...optionalBfd(this.bfd.json(p)),
    }));
  }

  nodeStatus(): NodeStatusJson {
    return { node: this.name, running: true, ready: this.readiness().ready, datastoreReady: this.cache.ready, build: buildInfo(), peers: this.peerStatus() };
  }

  /** Like Calico's bird-ready: every peer up during start-up, then at least one. */
  readiness(): { ready: boolean; reason: string } {
    const sessions = this.sessions();
    const up = sessions.filter(({ s }) => s.state === 'Established').length;
    if (sessions.length === 0) return { ready: true, reason: 'no BGP peers configured' };
    if (up === sessions.length) this.everAllUp = true;
    const ready = this.everAllUp ? up > 0 : up === sessions.length;
    return { ready, reason: `${up} of ${sessions.length} BGP sessions established${this.cache.ready ? '' : '; datastore unreachable'}` };
  }

  /** SIGTERM: close sessions (peers keep our routes by graceful restart), keep the kernel state. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.replan.stop();
    await this.nodeStatus_?.stop();
    clearTimeout(this.staleTimer);
    clearTimeout(this.holdTimer);
    await this.passing?.catch(() => undefined);
    this.cache.close();
    await this.bfd.stop();
    await this.speaker?.stop({ graceful: true });
    this.nextHops?.stop();
    await this.dataplane?.stop();
    // iptables rules stay (they work without us); the SNAT conntrack map lives with its program.
    if (this.nat instanceof IptablesNat) await this.nat.close();
    await this.status?.stop();
    await this.health?.stop();
    await this.opts.store.close();
    this.log.info('agent stopped; kernel routes and dataplane left in place');
  }
}

const optionalBfd = (bfd: PeerBfdJson | undefined) => (bfd ? { bfd } : {});
