// prom-client metrics read from the live state at scrape time (collect()), not counted in
// scattered places; only the apply-latency histogram is observed as it happens.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
}

export interface MetricsState {
  peers(): PeerMetrics[];
  routesProgrammed(): number;
  datastoreEvents(): number;
  datastoreReady(): boolean;
}

export const FSM_STATES = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] as const;

export class AgentMetrics {
  readonly registry = new Registry();
  readonly applyLatency: Histogram<'kind'>;

  constructor(state: MetricsState) {
    const r = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'tabby_process_' });
    const peerLabels = ['peer', 'address', 'family', 'type'] as const;
    const labels = (p: PeerMetrics) => ({ peer: p.name, address: p.address, family: p.family, type: p.type });
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
    new Gauge({
      name: 'tabby_bgp_session_established',
      help: '1 when the session is Established',
      labelNames: peerLabels,
      registers: r,
      collect() {
        this.reset();
        for (const p of state.peers()) this.set(labels(p), p.established ? 1 : 0);
      },
    });
    new Gauge({
      name: 'tabby_bgp_prefixes',
      help: 'Prefixes per peer and family: received, accepted, advertised',
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
    perPeerCounts('tabby_bgp_messages_received_total', 'BGP messages received by type', 'type', (p) => p.messagesIn);
    perPeerCounts('tabby_bgp_messages_sent_total', 'BGP messages sent by type', 'type', (p) => p.messagesOut);
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
