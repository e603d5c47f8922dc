import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BGPConfiguration, BGPPeer, Node } from '../../../src/api/types.js';
import { desiredPeers, type DesiredPeer } from '../../../src/calc/peers.js';

const node = (name: string, v4?: string, extra: { labels?: Record<string, string>; asn?: number; cid?: string; v6?: string } = {}): Node => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'Node',
  metadata: { name, labels: extra.labels },
  spec: { bgp: { ipv4Address: v4, ipv6Address: extra.v6, asNumber: extra.asn, routeReflectorClusterID: extra.cid } },
});
const peer = (name: string, spec: BGPPeer['spec']): BGPPeer => ({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name }, spec });
const config = (name: string, spec: BGPConfiguration['spec']): BGPConfiguration => ({ apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name }, spec });

const brief = (ps: DesiredPeer[]) => ps.map((p) => `${p.name} ${p.type} as${p.asn}${p.passive ? ' passive' : ''}${p.rrClient ? ' rr-client' : ''}`);

const A = node('a', '10.0.0.1/24');
const B = node('b', '10.0.0.2/24');
const C = node('c', '10.0.0.10/24');

describe('node-to-node mesh', () => {
  test('one iBGP session to every other node; the greater IP string waits', () => {
    assert.deepEqual(brief(desiredPeers({ nodeName: 'b', nodes: [A, B, C], peers: [], configs: [] })), [
      'Mesh_10_0_0_1 node-to-node mesh as64512 passive',
      // "10.0.0.10" < "10.0.0.2" as strings, so b waits for c too.
      'Mesh_10_0_0_10 node-to-node mesh as64512 passive',
    ]);
    assert.deepEqual(brief(desiredPeers({ nodeName: 'a', nodes: [A, B, C], peers: [], configs: [] })), [
      'Mesh_10_0_0_2 node-to-node mesh as64512',
      'Mesh_10_0_0_10 node-to-node mesh as64512',
    ]);
  });
  test('disabled mesh: no sessions', () => {
    const configs = [config('default', { nodeToNodeMeshEnabled: false })];
    assert.deepEqual(desiredPeers({ nodeName: 'a', nodes: [A, B], peers: [], configs }), []);
  });
  test('IPv6 sessions where both ends have IPv6; a node without address is skipped', () => {
    const a6 = node('a', '10.0.0.1/24', { v6: 'fd00::1/64' });
    const b6 = node('b', '10.0.0.2/24', { v6: 'fd00::2/64' });
    const none = node('d');
    const ps = desiredPeers({ nodeName: 'a', nodes: [a6, b6, none], peers: [], configs: [] });
    assert.deepEqual(ps.map((p) => [p.name, p.family, p.localAddress]), [
      ['Mesh_10_0_0_2', 4, '10.0.0.1'],
      ['Mesh_fd00__2', 6, 'fd00::1'],
    ]);
  });
  test('per-node listen port and AS', () => {
    const configs = [config('default', { asNumber: 64600 }), config('node.b', { listenPort: 1179 })];
    const ps = desiredPeers({ nodeName: 'a', nodes: [A, node('b', '10.0.0.2/24', { asn: 65001 })], peers: [], configs });
    assert.deepEqual(ps.map((p) => [p.name, p.port, p.asn, p.localAsn]), [['Mesh_10_0_0_2_port_1179', 1179, 65001, 64600]]);
  });
  test('mesh password and restart time come from the default configuration', () => {
    const configs = [config('default', { nodeMeshPassword: { secretKeyRef: { name: 's', key: 'k' } }, nodeMeshMaxRestartTime: '2m' })];
    const [p] = desiredPeers({ nodeName: 'a', nodes: [A, B], peers: [], configs });
    assert.deepEqual([p!.password, p!.maxRestartTime], [{ secretKeyRef: { name: 's', key: 'k' } }, 120]);
  });
});

describe('explicit peers', () => {
  const tor = peer('tor', { peerIP: '192.20.30.40', asNumber: 64567 });
  test('global peers on every node, before node-specific ones; the same IP:port once', () => {
    const dup = peer('dup', { node: 'a', peerIP: '192.20.30.40', asNumber: 65000 });
    const own = peer('own', { node: 'a', peerIP: '192.20.30.41:1179', asNumber: 65000, keepOriginalNextHop: true });
    const configs = [config('default', { nodeToNodeMeshEnabled: false })];
    const ps = desiredPeers({ nodeName: 'a', nodes: [A, B], peers: [own, dup, tor], configs });
    assert.deepEqual(brief(ps), ['Global_192_20_30_40 global as64567', 'Node_192_20_30_41_port_1179 node specific as65000']);
    assert.equal(ps[1]!.nextHopMode, 'Keep');
    assert.deepEqual(brief(desiredPeers({ nodeName: 'b', nodes: [A, B], peers: [own, dup, tor], configs })), ['Global_192_20_30_40 global as64567']);
  });
  test('nodeSelector picks nodes by label', () => {
    const rack = peer('rack1-tor', { peerIP: '192.20.30.40', asNumber: 64567, nodeSelector: "rack == 'rack-1'" });
    const a = node('a', '10.0.0.1/24', { labels: { rack: 'rack-1' } });
    const b = node('b', '10.0.0.2/24', { labels: { rack: 'rack-2' } });
    const configs = [config('default', { nodeToNodeMeshEnabled: false })];
    assert.equal(desiredPeers({ nodeName: 'a', nodes: [a, b], peers: [rack], configs }).length, 1);
    assert.equal(desiredPeers({ nodeName: 'b', nodes: [a, b], peers: [rack], configs }).length, 0);
  });
  test("a peer at the node's own address is dropped", () => {
    const self = peer('self', { peerIP: '10.0.0.1', asNumber: 64512 });
    assert.deepEqual(brief(desiredPeers({ nodeName: 'a', nodes: [A], peers: [self], configs: [] })), []);
  });
  test('eBGP peers are never route reflector clients', () => {
    const rr = node('a', '10.0.0.1/24', { cid: '224.0.0.1' });
    const ps = desiredPeers({ nodeName: 'a', nodes: [rr], peers: [tor, peer('ibgp', { peerIP: '192.20.30.50', asNumber: 64512 })], configs: [] });
    assert.deepEqual(brief(ps), ['Global_192_20_30_40 global as64567', 'Global_192_20_30_50 global as64512 rr-client']);
  });
  test('peer AS, local AS override, TTL security, restart time', () => {
    const p = peer('p', { peerIP: '[fd00::9]:1179', asNumber: 4200000001, localASNumber: 65010, ttlSecurity: 1, maxRestartTime: '300s', keepaliveTime: '10s', numAllowedLocalASNumbers: 2 });
    const [d] = desiredPeers({ nodeName: 'a', nodes: [node('a', '10.0.0.1/24', { v6: 'fd00::1/64' })], peers: [p], configs: [] });
    assert.deepEqual(
      { name: d!.name, family: d!.family, port: d!.port, asn: d!.asn, localAsn: d!.localAsn, ttl: d!.ttlSecurity, gr: d!.maxRestartTime, ka: d!.keepaliveTime, allow: d!.allowLocalAs },
      { name: 'Global_fd00__9_port_1179', family: 6, port: 1179, asn: 4200000001, localAsn: 65010, ttl: 1, gr: 300, ka: 10, allow: 2 },
    );
  });
});

describe('route reflectors via peerSelector', () => {
  const rrLabels = { 'route-reflector': 'true' };
  const rr1 = node('rr1', '10.0.0.100/24', { labels: rrLabels, cid: '224.0.0.1' });
  const rr2 = node('rr2', '10.0.0.101/24', { labels: rrLabels, cid: '224.0.0.1' });
  const toRR = peer('peer-with-rr', { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" });
  const nodes = [A, B, rr1, rr2];

  test('a client peers with each reflector and meshes with no reflector', () => {
    // nodeSelector all() still makes it a selector peer: "node specific", as calicoctl shows.
    assert.deepEqual(brief(desiredPeers({ nodeName: 'a', nodes, peers: [toRR], configs: [] })), [
      'Node_10_0_0_100 node specific as64512',
      'Node_10_0_0_101 node specific as64512',
      'Mesh_10_0_0_2 node-to-node mesh as64512',
    ]);
  });
  test('a reflector has no mesh, peers back with every node, and marks only other clusters as clients', () => {
    assert.deepEqual(brief(desiredPeers({ nodeName: 'rr1', nodes, peers: [toRR], configs: [] })), [
      'Node_10_0_0_101 node specific as64512',
      'Node_10_0_0_1 node specific as64512 passive rr-client',
      'Node_10_0_0_2 node specific as64512 rr-client', // "10.0.0.100" < "10.0.0.2" as strings
    ]);
  });
  test('reverse peering: a selected node gets the session even when the selector is one-sided', () => {
    const oneSided = peer('clients-to-rr', { nodeSelector: "!has(route-reflector)", peerSelector: "route-reflector == 'true'" });
    const conf = [config('default', { nodeToNodeMeshEnabled: false })];
    assert.deepEqual(brief(desiredPeers({ nodeName: 'rr1', nodes, peers: [oneSided], configs: conf })), [
      'Node_10_0_0_1 node specific as64512 passive rr-client',
      'Node_10_0_0_2 node specific as64512 rr-client', // "10.0.0.100" < "10.0.0.2" as strings
    ]);
  });
});
