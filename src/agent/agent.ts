// The long-running node agent: datastore → calc → BGP speaker and dataplane. Only this
// module wires the pieces; each of them gets plain data.
import { hostname } from 'node:os';
import { cidrContains, parseCidr } from '../api/net.js';
import type { BGPConfiguration, BGPPeer, IPPool, Node } from '../api/types.js';
import { ResourceClient } from '../client/resource-client.js';
import { Speaker, type BestPath, type SpeakerPeer } from '../bgp/speaker.js';
import type { ExportFilter } from '../bgp/rib/index.js';
import { parseCommunity, parseLargeCommunity } from '../bgp/wire/index.js';
import { effectiveBgpConfig, nodeAsNumber } from '../calc/bgp-config.js';
import { desiredPeers, type DesiredPeer } from '../calc/peers.js';
import { desiredRoutes, type LearnedRoute } from '../calc/routes.js';
import type { Datastore } from '../datastore/datastore.js';
import { ValidationError } from '../errors.js';
import { Dataplane } from '../dataplane/dataplane.js';
import { vtepMac } from '../dataplane/encap/vtep-mac.js';
import { IptablesNat } from '../dataplane/nat/iptables-nat.js';
import type { NatDataplane } from '../dataplane/nat/nat-dataplane.js';
import { Ipam, BLOCK_KIND, type IpamBlock } from '../ipam/ipam.js';
import { matchesSelector } from '../api/selector.js';
import { RTPROT_TABBY } from '../dataplane/routes/route-protocol.js';
import { addrList } from '../native/addresses.js';
import { routeDump } from '../native/routes.js';
import type { Logger } from '../util/log.js';
import { AutodetectError, autodetectAddress } from './autodetect.js';
import { HealthServer } from './health-server.js';
import { AgentMetrics } from './metrics.js';
import { sessionFacts } from './peer-metrics.js';
import { buildInfo } from '../util/build-info.js';
import { exportable, localBlocks, needsVxlan, originations, remoteVteps, tunnelSources, type Snapshot } from './plan.js';
import { ResourceCache } from './resource-cache.js';
import { readSecret } from './secrets.js';
import { StatusServer } from './status-server.js';
import { formatSince, protocolState, type NodeStatusJson, type PeerStatusJson } from './status.js';

export interface AgentOptions {
  nodeName?: string;
  store: Datastore;
  dataplane: 'bpf' | 'iptables' | 'none';
  stateDir: string;
  secretsDir: string;
  ipMethod?: string;
  /** IPv6 autodetection method, or undefined for no IPv6 (Calico's default). */
  ip6Method?: string;
  health: { address: string; port: number } | false;
  logger: Logger;
  /** Coalesce bursts of changes (ms). */
  debounceMs?: number;
}

export class Agent {
  readonly name: string;
  private readonly log: Logger;
  private readonly cache: ResourceCache;
  private readonly client: ResourceClient;
  private readonly ipam: Ipam;
  private speaker?: Speaker;
  private speakerKey = '';
  private dataplane?: Dataplane;
  private nat?: NatDataplane;
  private status?: StatusServer;
  private health?: HealthServer;
  readonly metrics: AgentMetrics;
  private nodeCidrs: string[] = [];
  private hostIfname = 'eth0';
  private peers: DesiredPeer[] = [];
  private exportKey = '';
  private exportFn?: ExportFilter;
  private learned = new Map<string, LearnedRoute>();
  /** Routes learned by a replaced speaker, kept until the new one relearns them or time runs out. */
  private stale = new Set<string>();
  private staleTimer?: NodeJS.Timeout;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private pending = false;
  private everAllUp = false;
  /** Until BGP has reconverged after a start, routes the kernel already holds are kept. */
  private holding = true;
  private startedAt = Date.now();
  /** Tabby's routes were in the kernel when we started: a restart with forwarding preserved. */
  private restarting = false;
  private lastBestPathChange = Date.now();
  private stopped = false;

  constructor(private readonly opts: AgentOptions) {
    this.name = opts.nodeName ?? hostname();
    this.log = opts.logger.child({ component: 'agent', node: this.name });
    this.client = new ResourceClient(opts.store);
    this.ipam = new Ipam(opts.store);
    this.cache = new ResourceCache(opts.store, () => this.schedule(), this.log);
    this.metrics = new AgentMetrics({
      peers: () =>
        this.peerStatus().map((p) => ({
          name: p.name ?? p.address,
          address: p.address,
          family: p.family,
          type: p.type,
          established: p.info.startsWith('Established'),
          state: p.info.split(' ')[0]!,
          prefixes: p.prefixes,
          ...sessionFacts(this.speaker?.status().find((x) => x.id === p.name)),
        })),
      routesProgrammed: () => this.dataplane?.stats().routesProgrammed ?? 0,
      datastoreEvents: () => this.cache.events,
      datastoreReady: () => this.cache.ready,
    }, buildInfo());
  }

  async start(): Promise<void> {
    await this.detectAddresses();
    await this.register();
    this.restarting = (await routeDump({ family: 4, protocol: RTPROT_TABBY })).length > 0;
    await this.cache.start();
    const nodeIP = parseCidr(this.nodeCidrs[0]!)!.address;
    this.dataplane = new Dataplane({
      mode: this.opts.dataplane, nodeName: this.name, hostIfname: this.hostIfname, nodeIP, logger: this.opts.logger,
      // natOutgoing in bpf mode is a step of the same eBPF programs, loaded with them.
      ...(this.opts.dataplane === 'bpf' ? { snat: { nodeIP } } : {}),
    });
    await this.dataplane.start();
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
    this.log.info({ addresses: this.nodeCidrs, dataplane: this.opts.dataplane }, 'agent started');
  }

  /** Find the node's addresses (kept as CIDRs) and the interface that holds IPv4. */
  private async detectAddresses(): Promise<void> {
    const v4 = await autodetectAddress(this.opts.ipMethod, 4);
    if (!v4) throw new AutodetectError(`no IPv4 address found with autodetection method ${this.opts.ipMethod ?? 'first-found'}`);
    const v6 = this.opts.ip6Method ? await autodetectAddress(this.opts.ip6Method, 6) : undefined;
    this.nodeCidrs = [v4, ...(v6 ? [v6] : [])];
    const held = (await addrList({ family: 4 })).find((a) => a.cidr === v4);
    if (held?.ifname) this.hostIfname = held.ifname;
  }

  /** Create or update this node's Node resource with its addresses. */
  private async register(): Promise<void> {
    const [v4, v6] = [this.nodeCidrs.find((c) => !c.includes(':')), this.nodeCidrs.find((c) => c.includes(':'))];
    await this.client.modify('Node', this.name, (stored) => {
      const node = (stored ?? { apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: this.name }, spec: {} }) as Node;
      const bgp = { ...(node.spec.bgp ?? {}), ipv4Address: v4 };
      if (v6) bgp.ipv6Address = v6;
      return { ...node, spec: { ...node.spec, bgp } };
    });
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reconcile(), this.opts.debounceMs ?? 100);
    this.timer.unref();
  }

  /** One pass: resources → IPAM → peers/routes → speaker → dataplane. Coalesced. */
  async reconcile(): Promise<void> {
    if (this.running) {
      this.pending = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.pending = false;
        try {
          await this.pass();
        } catch (err) {
          this.log.error({ err }, 'reconcile failed; will retry on the next change');
          if (/datastore|etcd|ECONNREFUSED|unavailable/i.test((err as Error).message)) this.cache.markUnavailable(err as Error);
        }
      } while (this.pending && !this.stopped);
    })();
    try {
      await this.running;
    } finally {
      this.running = undefined;
    }
  }

  private snapshot(): Snapshot & { peers: BGPPeer[] } {
    return {
      nodes: this.cache.list<Node>('Node'),
      configs: this.cache.list<BGPConfiguration>('BGPConfiguration'),
      pools: this.cache.list<IPPool>('IPPool'),
      blocks: this.cache.list<IpamBlock>(BLOCK_KIND),
      peers: this.cache.list<BGPPeer>('BGPPeer'),
    };
  }

  private async pass(): Promise<void> {
    if (this.stopped) return;
    let snap = this.snapshot();
    const me = snap.nodes.find((n) => n.metadata.name === this.name);
    if (!me) return;
    // IPAM and the VXLAN tunnel address only change the store when the store is there.
    // The cache answers whether anything is missing, so a pass normally does no store I/O
    // (a store that has just gone quiet cannot hold up routes learned meanwhile).
    if (this.cache.ready && !this.ipamSatisfied(me, snap) && (await this.ensureIpam(me, snap.pools))) return; // the watch brings the writes back

    const conf = effectiveBgpConfig(snap.configs, this.name);
    const v4 = parseCidr(this.nodeCidrs[0]!)!.address;
    const asn = nodeAsNumber(me, snap.configs);
    const clusterId = me.spec.bgp?.routeReflectorClusterID;
    const listen = { address: conf.bindMode === 'NodeIP' ? v4 : '::', port: conf.listenPort };
    await this.ensureSpeaker(v4, asn, clusterId, listen);

    this.peers = desiredPeers({ nodeName: this.name, nodes: snap.nodes, peers: snap.peers, configs: snap.configs });
    const filter = this.exportFilter(snap);
    this.speaker!.setPeers(this.peers.flatMap((p) => this.speakerPeer(p, filter)));
    this.speaker!.setLocalRoutes(
      originations(this.name, snap).map((o) => ({
        prefix: o.prefix,
        communities: o.communities.map(parseCommunity).filter((c): c is number => c !== undefined),
        largeCommunities: o.communities.map(parseLargeCommunity).filter((c) => c !== undefined) as [number, number, number][],
      })),
    );

    snap = this.snapshot();
    const local = localBlocks(this.name, snap);
    const routes = desiredRoutes({ nodeCidrs: this.nodeCidrs, pools: snap.pools, localBlocks: local, learned: [...this.learned.values()], vteps: remoteVteps(this.name, snap) });
    const meNow = snap.nodes.find((n) => n.metadata.name === this.name);
    const localVtep = meNow?.spec.ipv4VXLANTunnelAddr && meNow.spec.vxlanTunnelMACAddr ? { tunnelIP: meNow.spec.ipv4VXLANTunnelAddr, mac: meNow.spec.vxlanTunnelMACAddr } : undefined;
    const t0 = process.hrtime.bigint();
    if (!this.restarting) this.holding = false;
    this.holding &&= !this.reconverged();
    const result = await this.dataplane!.set({ routes, localVtep, tunnelSources: tunnelSources(this.name, snap), hold: this.holding });
    this.metrics.applyLatency.observe({ kind: 'routes' }, Number(process.hrtime.bigint() - t0) / 1e9);
    if (!result.ok) this.log.warn({ errors: result.errors.slice(0, 10) }, 'some dataplane changes failed; retrying on resync');
    if (this.nat) {
      this.nat.setPools(snap.pools.map((p) => ({ cidr: p.spec.cidr, natOutgoing: p.spec.natOutgoing, disabled: p.spec.disabled })));
      await this.nat.apply();
    }
  }

  /** natOutgoing in the dataplane's own style: eBPF SNAT, or iptables MASQUERADE. */
  private startNat(): void {
    if (this.opts.dataplane === 'bpf') {
      this.nat = this.dataplane!.snat;
    } else if (this.opts.dataplane === 'iptables') {
      this.nat = new IptablesNat({ families: [4], logger: this.opts.logger });
    }
  }

  /** The cache already holds a block of every pool that selects this node, and the VXLAN address if needed. */
  private ipamSatisfied(me: Node, snap: Snapshot): boolean {
    const labels = me.metadata.labels ?? {};
    const mine = snap.blocks.filter((b) => b.spec.affinity === `host:${this.name}`);
    for (const pool of snap.pools) {
      if (pool.spec.disabled || !matchesSelector(pool.spec.nodeSelector, labels)) continue;
      if (!mine.some((b) => b.spec.pool === pool.metadata.name && cidrContains(pool.spec.cidr, b.spec.cidr))) return false;
    }
    return !(needsVxlan(snap.pools) && !me.spec.ipv4VXLANTunnelAddr && mine.some((b) => parseCidr(b.spec.cidr)?.family === 4));
  }

  /** Claim blocks and the VXLAN tunnel address; true when the store was changed. */
  private async ensureIpam(me: Node, pools: IPPool[]): Promise<boolean> {
    const labels = me.metadata.labels ?? {};
    const before = localBlocks(this.name, this.snapshot()).length;
    const blocks = await this.ipam.ensureBlocks(this.name, labels, pools);
    let changed = blocks.length !== before;
    if (needsVxlan(pools) && !me.spec.ipv4VXLANTunnelAddr && blocks.some((b) => parseCidr(b.spec.cidr)?.family === 4)) {
      const tunnelIP = await this.ipam.assign(this.name, `vxlan-tunnel-addr-${this.name}`, 4);
      await this.client.modify('Node', this.name, (stored) => {
        const n = stored as Node;
        return { ...n, spec: { ...n.spec, ipv4VXLANTunnelAddr: tunnelIP, vxlanTunnelMACAddr: vtepMac(this.name) } };
      });
      changed = true;
    }
    return changed;
  }

  /** (Re)create the speaker when identity-level settings change; peers alone never do. */
  private async ensureSpeaker(routerId: string, asn: number, clusterId: string | undefined, listen: { address: string; port: number }): Promise<void> {
    const key = JSON.stringify([routerId, clusterId, listen]);
    if (this.speaker && key === this.speakerKey) return;
    const old = this.speaker;
    if (old) {
      this.log.info({ routerId, clusterId, listen }, 'speaker identity changed: restarting the speaker');
      await old.stop({ graceful: true });
    }
    // Routes we hold in the kernel at start mean we are restarting with forwarding preserved.
    const restarting = !old && this.restarting;
    const speaker = new Speaker({ routerId, localAsn: asn, clusterId, listen, gracefulRestart: { restartTime: 120, restarting }, logger: this.opts.logger });
    speaker.onBestPaths((changes) => this.onBestPaths(changes));
    await speaker.start();
    this.speaker = speaker;
    this.speakerKey = key;
    if (old) this.keepStale(120_000);
  }

  /** Keep what the old speaker learned until the new one relearns it (no flap), then sweep. */
  private keepStale(ms: number): void {
    this.stale = new Set(this.learned.keys());
    clearTimeout(this.staleTimer);
    this.staleTimer = setTimeout(() => {
      for (const prefix of this.stale) this.learned.delete(prefix);
      this.stale.clear();
      this.schedule();
    }, ms);
    this.staleTimer.unref();
  }

  /**
   * Reconverged after start: every session Established and no best-path change for 3 s
   * (the initial tables are in), or 90 s passed whatever happened.
   */
  private reconverged(): boolean {
    const now = Date.now();
    if (now - this.startedAt > 90_000) return true;
    const states = new Map((this.speaker?.status() ?? []).map((p) => [p.id, p.state]));
    // Every desired session, not merely every one the speaker has yet (none at first).
    const allUp = this.peers.every((p) => states.get(p.name) === 'Established');
    if (allUp && now - this.lastBestPathChange > 3000) return true;
    // Look again shortly, since nothing else may trigger a pass.
    setTimeout(() => this.schedule(), 1000).unref();
    return false;
  }

  private onBestPaths(changes: BestPath[]): void {
    this.lastBestPathChange = Date.now();
    for (const c of changes) {
      this.stale.delete(c.prefix);
      if (c.peerId === null || c.nexthops.length === 0) this.learned.delete(c.prefix);
      else this.learned.set(c.prefix, { prefix: c.prefix, nexthops: c.nexthops });
    }
    this.schedule();
  }

  /**
   * Calico's export rule: only pool space (not disableBGPExport) and service CIDRs leave the
   * node, and towards eBGP peers (the ToR) only what this node originates, so the router
   * learns each block from its owner alone. iBGP reflection is the RIB's own rule.
   * One function per distinct rule set, so unchanged rules never re-sync a peer.
   */
  private exportFilter(snap: Snapshot): ExportFilter {
    const key = JSON.stringify([snap.pools.map((p) => [p.spec.cidr, p.spec.disableBGPExport]), snap.configs.map((c) => c.spec)]);
    if (key !== this.exportKey) {
      const allowed = exportable(snap, this.name);
      this.exportFn = (prefix, path, target) => allowed(prefix) && (target.type === 'ibgp' || path.peer.type === 'local');
      this.exportKey = key;
    }
    return this.exportFn!;
  }

  private speakerPeer(p: DesiredPeer, exportFilter: ExportFilter): SpeakerPeer[] {
    let md5Key: string | undefined;
    if (p.password) {
      try {
        md5Key = readSecret(this.opts.secretsDir, p.password);
      } catch (err) {
        this.log.error({ peer: p.name, err }, 'peer skipped: its password cannot be read');
        return [];
      }
    }
    return [
      {
        id: p.name,
        address: p.address,
        port: p.port,
        remoteAsn: p.asn,
        localAsn: p.localAsn,
        localAddress: p.localAddress,
        passive: p.passive,
        rrClient: p.rrClient,
        md5Key,
        ttlSecurity: p.ttlSecurity,
        nextHopMode: p.nextHopMode,
        keepaliveTime: p.keepaliveTime,
        gracefulRestartTime: p.maxRestartTime,
        allowLocalAs: p.allowLocalAs,
        exportFilter,
      },
    ];
  }

  peerStatus(): PeerStatusJson[] {
    const byId = new Map(this.peers.map((p) => [p.name, p]));
    return (this.speaker?.status() ?? []).map((s) => ({
      name: s.id,
      address: s.address,
      family: s.family,
      type: byId.get(s.id)?.type ?? 'global',
      asn: s.remoteAsn,
      state: protocolState(s.state),
      info: s.info,
      since: formatSince(s.since),
      prefixes: s.prefixes,
    }));
  }

  nodeStatus(): NodeStatusJson {
    return { node: this.name, running: true, ready: this.readiness().ready, datastoreReady: this.cache.ready, build: buildInfo(), peers: this.peerStatus() };
  }

  /** Like Calico's bird-ready: every peer up during start-up, then at least one. */
  readiness(): { ready: boolean; reason: string } {
    const peers = this.peerStatus();
    const up = peers.filter((p) => p.info.startsWith('Established')).length;
    if (peers.length === 0) return { ready: true, reason: 'no BGP peers configured' };
    if (up === peers.length) this.everAllUp = true;
    const ready = this.everAllUp ? up > 0 : up === peers.length;
    return { ready, reason: `${up} of ${peers.length} BGP sessions established${this.cache.ready ? '' : '; datastore unreachable'}` };
  }

  /** SIGTERM: close sessions (peers keep our routes by graceful restart), keep the kernel state. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.staleTimer);
    await this.running?.catch(() => undefined);
    this.cache.close();
    await this.speaker?.stop({ graceful: true });
    await this.dataplane?.stop();
    // iptables rules stay (they work without us); the SNAT conntrack map lives with its program.
    if (this.nat instanceof IptablesNat) await this.nat.close();
    await this.status?.stop();
    await this.health?.stop();
    await this.opts.store.close();
    this.log.info('agent stopped; kernel routes and dataplane left in place');
  }
}
