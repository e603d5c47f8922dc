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
