// Issue 12: BGPPeer values Calico accepts must each give a working session setting, or
// "off" where Calico means off (bgp_processor.go buildPeerFromData: TTLSecurity 0 is
// `ttl security off`; `source address` only with UseNodeIP; keepOriginalNextHop is
// `next hop keep` for eBGP peers only; restart and keepalive times as whole seconds), and
// two peers on one IP with different ports are two sessions (Node_<ip>_port_<n>).
// From resources through the node plan to a real speaker: none is left out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerPolicies, speakerPeerOf } from '../../../src/agent/peer-policy.js';
import type { BGPPeer, Node } from '../../../src/api/types.js';
import { Speaker } from '../../../src/bgp/speaker.js';
import { nodePlan } from '../../../src/calc/node-plan.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const node = (name: string, v4: string): Node => ({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name }, spec: { bgp: { ipv4Address: v4 } } });
const bgpPeer = (name: string, spec: BGPPeer['spec']): BGPPeer => ({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name }, spec });

test('values Calico accepts all become sessions; none is left out', async () => {
  const peers = [
    bgpPeer('ttl-off', { peerIP: '10.0.0.11', asNumber: 65011, ttlSecurity: 0 }),
    bgpPeer('ttl-on', { peerIP: '10.0.0.12', asNumber: 65012, ttlSecurity: 2 }),
    bgpPeer('long-timers', { peerIP: '10.0.0.13', asNumber: 65013, keepaliveTime: '100000s', maxRestartTime: '2h' }),
    bgpPeer('fractions', { peerIP: '10.0.0.14', asNumber: 65014, keepaliveTime: '1.4s', maxRestartTime: '90.6s' }),
    bgpPeer('port-a', { peerIP: '10.0.0.15:179', asNumber: 65015 }),
    bgpPeer('port-b', { peerIP: '10.0.0.15:1179', asNumber: 65015 }),
    bgpPeer('no-source', { peerIP: '10.0.0.16', asNumber: 65016, sourceAddress: 'None' }),
    bgpPeer('keep-ibgp', { peerIP: '10.0.0.17', asNumber: 64512, keepOriginalNextHop: true }),
    bgpPeer('keep-ebgp', { peerIP: '10.0.0.18', asNumber: 65018, keepOriginalNextHop: true }),
    // confd bird.cfg.template: `graceful restart time 0; long lived graceful restart yes;`, and
    // `long lived stale time` from maxRestartTime when set (BIRD's 3600 s otherwise).
    bgpPeer('llgr', { peerIP: '10.0.0.19', asNumber: 65019, restartMode: 'LongLivedGracefulRestart', maxRestartTime: '10h' }),
    bgpPeer('llgr-default', { peerIP: '10.0.0.20', asNumber: 65020, restartMode: 'LongLivedGracefulRestart' }),
  ];
  const plan = nodePlan(
    { nodes: [node('n1', '10.0.0.1/24')], configs: [{ apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { nodeToNodeMeshEnabled: false } }], pools: [], blocks: [], peers },
    { name: 'n1', cidrs: ['10.0.0.1/24'] },
  )!;
  const by = new Map(plan.peers.map((p) => [p.id, p]));
  assert.equal(by.get('Global_10_0_0_11')!.ttlSecurity, undefined, 'ttlSecurity 0: off');
  assert.equal(by.get('Global_10_0_0_12')!.ttlSecurity, 2);
  assert.deepEqual([by.get('Global_10_0_0_13')!.keepaliveTime, by.get('Global_10_0_0_13')!.gracefulRestartTime], [21845, 4095], 'bounded by the wire fields');
  assert.deepEqual([by.get('Global_10_0_0_14')!.keepaliveTime, by.get('Global_10_0_0_14')!.gracefulRestartTime], [1, 91], 'rounded as Calico does');
  assert.equal(by.get('Global_10_0_0_16')!.localAddress, undefined, 'sourceAddress None: no source address');
  assert.equal(by.get('Global_10_0_0_11')!.localAddress, '10.0.0.1', 'UseNodeIP (the default): the node address');
  assert.equal(by.get('Global_10_0_0_17')!.nextHopMode, 'Auto', 'keepOriginalNextHop on iBGP: nothing');
  assert.equal(by.get('Global_10_0_0_18')!.nextHopMode, 'Keep');
  assert.ok(by.has('Global_10_0_0_15') && by.has('Global_10_0_0_15_port_1179'));
  assert.equal(by.get('Global_10_0_0_19')!.longLivedStaleTime, 36000, 'maxRestartTime is the long-lived stale time, past 4095 s');
  assert.equal(by.get('Global_10_0_0_20')!.longLivedStaleTime, 3600);
  assert.equal(by.get('Global_10_0_0_11')!.longLivedStaleTime, undefined, 'GracefulRestart (the default): no LLGR');

  const fns = new PeerPolicies().forPeers(plan.peers);
  const speaker = new Speaker({ routerId: '10.0.0.1', localAsn: 64512, listen: false, clock: new FakeClock() });
  speaker.setPeers(plan.peers.map((p) => speakerPeerOf(p, fns.get(p.id)!)));
  const st = speaker.status();
  assert.equal(st.length, peers.length);
  assert.deepEqual(st.filter((s) => s.lastError !== undefined).map((s) => `${s.id}: ${s.info}`), [], 'no peer left out');
  for (const p of plan.peers) assert.ok(speaker.session(p.id), p.id);
  const llgr = speaker.session('Global_10_0_0_19')!.config.gracefulRestart;
  assert.deepEqual([llgr?.restartTime, llgr?.longLived?.staleTime], [0, 36000]);
  await speaker.stop();
});
