import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { registerBfdMetrics } from '../../../src/agent/bfd-metrics.js';
import type { BfdPeerStatus } from '../../../src/bfd/bfd-manager.js';

test('BFD metrics are read from the sessions at scrape time', async () => {
  const s: BfdPeerStatus = {
    id: 'Global_10_0_0_2', address: '10.0.0.2', local: '10.0.0.1', state: 'Up', remoteState: 'Up', diag: 'No Diagnostic', remoteDiag: 'No Diagnostic',
    localDiscriminator: 1, remoteDiscriminator: 2, txIntervalMs: 100, detectionTimeMs: 300, remoteMinRxMs: 100, remoteMinTxMs: 100, remoteDetectMult: 3,
    since: new Date(0), everUp: true, remoteRestarted: false, counters: { packetsIn: 40, packetsOut: 41, discarded: 2, downs: 1 },
  };
  const registry = new Registry();
  registerBfdMetrics(registry, { sessions: () => [s], dropped: () => ({ 'no-session': 3 }) });
  let text = await registry.metrics();
  const l = 'peer="Global_10_0_0_2",address="10.0.0.2"';
  assert.match(text, new RegExp(`tabby_bfd_session_state\\{${l},state="Up"\\} 1`));
  assert.match(text, new RegExp(`tabby_bfd_session_state\\{${l},state="Down"\\} 0`));
  assert.match(text, new RegExp(`tabby_bfd_session_up\\{${l}\\} 1`));
  assert.match(text, new RegExp(`tabby_bfd_detection_time_seconds\\{${l}\\} 0.3`));
  assert.match(text, new RegExp(`tabby_bfd_tx_interval_seconds\\{${l}\\} 0.1`));
  assert.match(text, new RegExp(`tabby_bfd_session_downs_total\\{${l}\\} 1`));
  assert.match(text, new RegExp(`tabby_bfd_packets_received_total\\{${l}\\} 40`));
  assert.match(text, /tabby_bfd_packets_dropped_total\{reason="no-session"\} 3/);
  assert.match(text, /tabby_bfd_packets_dropped_total\{reason="discarded"\} 2/);
  s.state = 'Down';
  s.counters.downs = 2;
  text = await registry.metrics();
  assert.match(text, new RegExp(`tabby_bfd_session_up\\{${l}\\} 0`));
  assert.match(text, new RegExp(`tabby_bfd_session_downs_total\\{${l}\\} 2`));
});
