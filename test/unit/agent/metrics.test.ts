import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentMetrics, type PeerMetrics } from '../../../src/agent/metrics.js';

test('metrics are read from the live state at scrape time', async () => {
  const peers: PeerMetrics[] = [
    {
      name: 'Mesh_10_0_0_2', address: '10.0.0.2', family: 'ipv4', type: 'node-to-node mesh', established: true, state: 'Established',
      prefixes: { received: 3, accepted: 2, advertised: 1 }, messagesIn: { update: 4, keepalive: 9 }, messagesOut: { open: 1 },
      notificationsIn: {}, notificationsOut: { '6': 1 },
    },
  ];
  let routes = 5;
  const m = new AgentMetrics({ peers: () => peers, routesProgrammed: () => routes, datastoreEvents: () => 7, datastoreReady: () => true });
  let text = await m.registry.metrics();
  assert.match(text, /tabby_bgp_session_state\{peer="Mesh_10_0_0_2",address="10.0.0.2",family="ipv4",peer_type="node-to-node mesh",state="Established"\} 1/);
  assert.match(text, /tabby_bgp_prefixes\{[^}]*kind="accepted"\} 2/);
  // The peer's type and the message's type are separate labels (they used to collide on `type`).
  assert.match(text, /tabby_bgp_messages_received_total\{[^}]*peer_type="node-to-node mesh",message_type="update"\} 4/);
  assert.match(text, /tabby_bgp_notifications_sent_total\{[^}]*code="6"\} 1/);
  assert.match(text, /tabby_dataplane_routes_programmed 5/);
  assert.match(text, /tabby_datastore_ready 1/);
  routes = 6;
  peers[0]!.state = 'Active';
  text = await m.registry.metrics();
  assert.match(text, /tabby_dataplane_routes_programmed 6/);
  assert.match(text, /state="Active"\} 1/);
});

test('session uptime, flaps and last error; build info; the output passes promtool check metrics', async () => {
  const { execFileSync } = await import('node:child_process');
  const { buildInfo } = await import('../../../src/util/build-info.js');
  const { sessionFacts } = await import('../../../src/agent/peer-metrics.js');
  const since = new Date(1_000_000);
  // A session that came up three times and is up now: two flaps, up for 42 s.
  const counters = { messagesIn: { open: 3, update: 5 }, messagesOut: { open: 3 }, notificationsIn: { 4: 1 }, notificationsOut: {}, established: 3 };
  const facts = sessionFacts({ state: 'Established', since, counters, lastError: 'Received: Hold timer expired' } as never, 1_042_000);
  assert.deepEqual([facts.flaps, facts.uptimeSeconds, facts.lastError], [2, 42, 'Received: Hold timer expired']);
  assert.deepEqual([sessionFacts({ state: 'Active', since, counters } as never).flaps, sessionFacts(undefined).uptimeSeconds], [3, 0]);
  const peers: PeerMetrics[] = [
    { name: 'Global_10_0_0_9', address: '10.0.0.9', family: 'ipv4', type: 'global', established: true, state: 'Established', prefixes: { received: 1, accepted: 1, advertised: 2 }, ...facts },
  ];
  const m = new AgentMetrics({ peers: () => peers, routesProgrammed: () => 1, datastoreEvents: () => 0, datastoreReady: () => false }, buildInfo());
  const text = await m.registry.metrics();
  assert.match(text, /^tabby_bgp_session_flaps_total\{peer="Global_10_0_0_9",address="10.0.0.9",family="ipv4",peer_type="global"\} 2$/m);
  assert.match(text, /^tabby_bgp_session_uptime_seconds\{[^}]*\} 42$/m);
  assert.match(text, /^tabby_bgp_session_last_error_info\{[^}]*peer_type="global",error="Received: Hold timer expired"\} 1$/m);
  assert.match(text, /^tabby_build_info\{version="[^"]+",commit="[^"]+",node="v[^"]+",addon="[^"]+",bpf="[^"]*"\} 1$/m);
  assert.match(text, /^tabby_process_resident_memory_bytes /m);
  assert.doesNotMatch(text, /tabby_process_process_/);
  // promtool from Debian's prometheus package (scripts/setup.sh installs it).
  assert.equal(execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' }).trim(), '');
});
