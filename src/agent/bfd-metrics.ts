// BFD metrics, read from the live sessions at scrape time (prom-client collect()).
import { Counter, Gauge, type Registry } from 'prom-client';
import { STATE_NAMES } from '../bfd/constants.js';
import type { BfdPeerStatus } from '../bfd/bfd-manager.js';

export interface BfdMetricsSource {
  sessions(): BfdPeerStatus[];
  dropped(): Partial<Record<string, number>>;
}

export function registerBfdMetrics(registry: Registry, source: BfdMetricsSource): void {
  const registers = [registry];
  const labelNames = ['peer', 'address'] as const;
  const labels = (s: BfdPeerStatus) => ({ peer: s.id, address: s.address });
  type Value = (s: BfdPeerStatus) => number | undefined;
  const each = (value: Value, put: (l: ReturnType<typeof labels>, v: number) => void) => {
    for (const s of source.sessions()) {
      const v = value(s);
      if (v !== undefined) put(labels(s), v);
    }
  };
  const gauge = (name: string, help: string, value: Value) =>
    new Gauge({ name, help, labelNames, registers, collect() { this.reset(); each(value, (l, v) => this.set(l, v)); } });
  const counter = (name: string, help: string, value: Value) =>
    new Counter({ name, help, labelNames, registers, collect() { this.reset(); each(value, (l, v) => this.inc(l, v)); } });
  new Gauge({
    name: 'tabby_bfd_session_state',
    help: 'BFD session state per peer (1 for the current state)',
    labelNames: [...labelNames, 'state'],
    registers,
    collect() {
      this.reset();
      for (const s of source.sessions()) for (const st of STATE_NAMES) this.set({ ...labels(s), state: st }, s.state === st ? 1 : 0);
    },
  });
  gauge('tabby_bfd_session_up', '1 while the BFD session is Up', (s) => (s.state === 'Up' ? 1 : 0));
  gauge('tabby_bfd_detection_time_seconds', 'Detection Time in use (RFC 5880 §6.8.4)', (s) => (s.detectionTimeMs === undefined ? undefined : s.detectionTimeMs / 1000));
  gauge('tabby_bfd_tx_interval_seconds', 'Interval between our Control packets before jitter (RFC 5880 §6.8.7)', (s) => (s.txIntervalMs === undefined ? undefined : s.txIntervalMs / 1000));
  counter('tabby_bfd_session_downs_total', 'Times the session left Up', (s) => s.counters.downs);
  counter('tabby_bfd_packets_received_total', 'Control packets accepted by the session', (s) => s.counters.packetsIn);
  counter('tabby_bfd_packets_sent_total', 'Control packets sent', (s) => s.counters.packetsOut);
  new Counter({
    name: 'tabby_bfd_packets_dropped_total',
    help: 'Received Control packets dropped, by reason (RFC 5880 §6.8.6 checks, no matching session)',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      const d = source.dropped();
      for (const s of source.sessions()) d.discarded = (d.discarded ?? 0) + s.counters.discarded;
      for (const [reason, n] of Object.entries(d)) if (n) this.inc({ reason }, n);
    },
  });
}
