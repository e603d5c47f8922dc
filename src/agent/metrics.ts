// prom-client metrics read from the live state at scrape time (collect()), not counted in
// scattered places; only the apply-latency histogram is observed as it happens. Every
// name starts with tabby_ once (default process metrics included), and no label name
// is used twice in one series: the peer's type is `peer_type`, a message's `message_type`.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BuildInfo } from '../util/build-info.js';

export interface PeerMetrics {
  name: string;
  address: string;
  family: 'ipv4' | 'ipv6';
  type: string;
  established: boolean;
  state: string;
  prefixes: { received: number; accepted: number; advertised: number };
  messagesIn: Record<string, number>;
  messagesOut: Record<string, number>;
  notificationsIn: Record<string, number>;
  notificationsOut: Record<string, number>;
  /** Times the session left Established. */
  flaps?: number;
  /** Seconds in Established so far (0 when not Established). */
  uptimeSeconds?: number;
  /** The last error as `node status` shows it ("Socket: Connection refused"). */
  lastError?: string;
}

export interface MetricsState {
  peers(): PeerMetrics[];
  routesProgrammed(): number;
  datastoreEvents(): number;
  datastoreReady(): boolean;
}

export const FSM_STATES = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] as const;

/** tabby_build_info: 1, with what this build is in its labels (the usual *_info form). */
export function registerBuildInfo(registry: Registry, info: BuildInfo): void {
  const bpf = Object.entries(info.bpf).map(([f, d]) => `${f}=${d}`).join(',');
  const g = new Gauge({
    name: 'tabby_build_info',
    help: 'Version, git commit, Node, addon and eBPF object digests of this build',
    labelNames: ['version', 'commit', 'node', 'addon', 'bpf'],
    registers: [registry],
  });
  g.set({ version: info.version, commit: info.commit, node: info.node, addon: info.addon, bpf }, 1);
}

/** What /metrics shows before the agent runs (waiting for the datastore): build info and readiness. */
export function startupRegistry(info: BuildInfo): Registry {
  const registry = new Registry();
  registerBuildInfo(registry, info);
  new Gauge({ name: 'tabby_datastore_ready', help: '1 while the datastore is reachable and in sync', registers: [registry] }).set(0);
  return registry;
}

export class AgentMetrics {
  readonly registry = new Registry();
  readonly applyLatency: Histogram<'kind'>;

  constructor(state: MetricsState, info?: BuildInfo) {
    const r = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'tabby_' });
    // Gauges named *_total fail `promtool check metrics`; the per-type gauges without the
    // suffix (tabby_nodejs_active_handles, …) carry the same counts.
    for (const n of ['handles', 'requests', 'resources']) this.registry.removeSingleMetric(`tabby_nodejs_active_${n}_total`);
    if (info) registerBuildInfo(this.registry, info);
    const peerLabels = ['peer', 'address', 'family', 'peer_type'] as const;
    const labels = (p: PeerMetrics) => ({ peer: p.name, address: p.address, family: p.family, peer_type: p.type });
    const perPeer = (name: string, help: string, value: (p: PeerMetrics) => number | undefined) =>
      new Gauge({
        name,
        help,
        labelNames: peerLabels,
        registers: r,
        collect() {
          this.reset();
          for (const p of state.peers()) {
            const v = value(p);
            if (v !== undefined) this.set(labels(p), v);
          }
        },
      });
    new Gauge({
      name: 'tabby_bgp_session_state',
      help: 'BGP session FSM state per peer (1 for the current state)',
      labelNames: [...peerLabels, 'state'],
      registers: r,
      collect() {
        this.reset();
        for (const p of state.peers()) for (const s of FSM_STATES) this.set({ ...labels(p), state: s }, p.state === s ? 1 : 0);
      },
    });
    perPeer('tabby_bgp_session_established', '1 when the session is Established', (p) => (p.established ? 1 : 0));
    perPeer('tabby_bgp_session_uptime_seconds', 'Seconds the session has been Established (0 when it is not)', (p) => p.uptimeSeconds ?? 0);
    new Counter({
      name: 'tabby_bgp_session_flaps_total',
      help: 'Times the session went down after being Established',
      labelNames: peerLabels,
      registers: r,
      collect() {
        this.reset();
        for (const p of state.peers()) this.inc(labels(p), p.flaps ?? 0);
      },
    });
    new Gauge({
      name: 'tabby_bgp_session_last_error_info',
      help: 'The last error of a session, as node status shows it (1 per peer that has one)',
      labelNames: [...peerLabels, 'error'],
      registers: r,
      collect() {
        this.reset();
        for (const p of state.peers()) if (p.lastError) this.set({ ...labels(p), error: p.lastError }, 1);
      },
    });
    new Gauge({
      name: 'tabby_bgp_prefixes',
      help: 'Prefixes per peer: received, accepted, advertised',
      labelNames: [...peerLabels, 'kind'],
      registers: r,
      collect() {
        this.reset();
        for (const p of state.peers()) for (const [kind, n] of Object.entries(p.prefixes)) this.set({ ...labels(p), kind }, n);
      },
    });
    const perPeerCounts = (name: string, help: string, label: string, pick: (p: PeerMetrics) => Record<string, number>) =>
      new Counter({
        name,
        help,
        labelNames: [...peerLabels, label],
        registers: r,
        collect() {
          this.reset();
          for (const p of state.peers()) for (const [k, n] of Object.entries(pick(p))) this.inc({ ...labels(p), [label]: k }, n);
        },
      });
    perPeerCounts('tabby_bgp_messages_received_total', 'BGP messages received by type', 'message_type', (p) => p.messagesIn);
    perPeerCounts('tabby_bgp_messages_sent_total', 'BGP messages sent by type', 'message_type', (p) => p.messagesOut);
    perPeerCounts('tabby_bgp_notifications_received_total', 'NOTIFICATIONs received by code', 'code', (p) => p.notificationsIn);
    perPeerCounts('tabby_bgp_notifications_sent_total', 'NOTIFICATIONs sent by code', 'code', (p) => p.notificationsOut);
    new Gauge({
      name: 'tabby_dataplane_routes_programmed',
      help: 'Kernel routes Tabby owns',
      registers: r,
      collect() {
        this.set(state.routesProgrammed());
      },
    });
    new Counter({
      name: 'tabby_datastore_events_total',
      help: 'Datastore watch events processed',
      registers: r,
      collect() {
        this.reset();
        this.inc(state.datastoreEvents());
      },
    });
    new Gauge({
      name: 'tabby_datastore_ready',
      help: '1 while the datastore is reachable and in sync',
      registers: r,
      collect() {
        this.set(state.datastoreReady() ? 1 : 0);
      },
    });
    this.applyLatency = new Histogram({
      name: 'tabby_dataplane_apply_seconds',
      help: 'Time to apply a dataplane change',
      labelNames: ['kind'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: r,
    });
  }
}
