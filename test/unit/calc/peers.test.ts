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

// Calico's passive rule: a node waits for a mesh peer whose IP, compared as a string, is greater
// than its own (confd bird.cfg template `{{if gt $onode_ip $node_ip}} passive on`, now
// confd/pkg/backends/calico/bgp_processor.go processMeshPeers `if peerIP > currentNodeIP`).
describe('node-to-node mesh', () => {
  // Each row is one of Calico's own cases: the node, the other nodes, the passive sessions.
  const cases: { source: string; me: string; others: string[]; passive: string[] }[] = [
    {
      source: 'confd/pkg/backends/calico/bgp_processor_test.go TestProcessMeshPeers_PassiveMode',
      me: '10.0.0.5',
      others: ['10.0.0.2', '10.0.0.8'],
      passive: ['10.0.0.8'],
    },
    {
      // kube-master 10.192.0.2: Mesh_10_192_0_3 and Mesh_10_192_0_4 both carry `passive on`.
      source: 'confd/tests/compiled_templates/mesh/bgp-export/bird.cfg (input mock_data/calicoctl/mesh/bgp-export/input.yaml)',
      me: '10.192.0.2',
      others: ['10.192.0.3', '10.192.0.4'],
      passive: ['10.192.0.3', '10.192.0.4'],
    },
    {
      // The note's example: 172.18.0.3 waits for 172.18.0.5 and dials 172.18.0.2.
      source: 'bird.cfg template `{{if gt $onode_ip $node_ip}}`',
      me: '172.18.0.3',
      others: ['172.18.0.2', '172.18.0.5'],
      passive: ['172.18.0.5'],
    },
    {
      // Strings, not numbers: "10.0.0.10" < "10.0.0.2", so 10.0.0.2 dials 10.0.0.10.
      source: 'bgp_processor_test.go TestProcessMeshPeers_PassiveMode (string comparison, not numerical)',
      me: '10.0.0.2',
      others: ['10.0.0.1', '10.0.0.10', '10.0.0.3'],
      passive: ['10.0.0.3'],
    },
  ];
  for (const c of cases) {
    test(`passive toward greater IP strings: ${c.source}`, () => {
      const nodes = [node('me', `${c.me}/16`), ...c.others.map((ip, i) => node(`n${i}`, `${ip}/16`))];
      const ps = desiredPeers({ nodeName: 'me', nodes, peers: [], configs: [] });
      assert.deepEqual(ps.filter((p) => p.passive).map((p) => p.address).sort(), [...c.passive].sort());
      assert.equal(ps.length, c.others.length);
    });
  }
  test('the two ends of every mesh pair disagree: exactly one waits', () => {
    const ips = ['10.0.0.1', '10.0.0.2', '10.0.0.10', '10.0.0.100', '192.168.1.9'];
    const nodes = ips.map((ip, i) => node(`n${i}`, `${ip}/16`));
    for (const a of nodes) {
      for (const p of desiredPeers({ nodeName: a.metadata.name, nodes, peers: [], configs: [] })) {
        const back = desiredPeers({ nodeName: p.remoteNode!, nodes, peers: [], configs: [] }).find((q) => q.remoteNode === a.metadata.name)!;
        assert.notEqual(p.passive, back.passive, `${a.metadata.name} <-> ${p.remoteNode}`);
      }
    }
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

describe('restartMode', () => {
  // confd bird.cfg.template (Global_/Node_ peers): LongLivedGracefulRestart renders
  // `graceful restart time 0; long lived graceful restart yes;` and `long lived stale time`
  // from maxRestartTime only when it is set (BIRD's default is then 3600 s);
  // GracefulRestart keeps `graceful restart time` from maxRestartTime.
  const me = [node('a', '10.0.0.1/24')];
  const one = (spec: Partial<BGPPeer['spec']>) => desiredPeers({ nodeName: 'a', nodes: me, peers: [peer('p', { peerIP: '10.0.0.9', asNumber: 65009, ...spec })], configs: [] })[0]!;
  test('LongLivedGracefulRestart: maxRestartTime is the long-lived stale time, else 3600 s', () => {
    assert.equal(one({ restartMode: 'LongLivedGracefulRestart', maxRestartTime: '2h' }).longLivedStaleTime, 7200);
    assert.equal(one({ restartMode: 'LongLivedGracefulRestart' }).longLivedStaleTime, 3600);
  });
  test('GracefulRestart, or no restartMode: no long-lived stale time', () => {
    assert.equal(one({ restartMode: 'GracefulRestart', maxRestartTime: '2h' }).longLivedStaleTime, undefined);
    assert.equal(one({}).longLivedStaleTime, undefined);
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
      'Mesh_10_0_0_2 node-to-node mesh as64512 passive',
    ]);
  });
  test('a reflector has no mesh, peers back with every node, and marks only other clusters as clients', () => {
    assert.deepEqual(brief(desiredPeers({ nodeName: 'rr1', nodes, peers: [toRR], configs: [] })), [
      'Node_10_0_0_101 node specific as64512',
      // Node-specific peerings never wait (bgp_processor.go buildPeerFromData: passive only for
      // mesh, global and local-workload types); BGP collision detection settles the pair.
      'Node_10_0_0_1 node specific as64512 rr-client',
      'Node_10_0_0_2 node specific as64512 rr-client',
    ]);
  });
  test('reverse peering: a selected node gets the session even when the selector is one-sided', () => {
    const oneSided = peer('clients-to-rr', { nodeSelector: "!has(route-reflector)", peerSelector: "route-reflector == 'true'" });
    const conf = [config('default', { nodeToNodeMeshEnabled: false })];
    assert.deepEqual(brief(desiredPeers({ nodeName: 'rr1', nodes, peers: [oneSided], configs: conf })), [
      'Node_10_0_0_1 node specific as64512 rr-client',
      'Node_10_0_0_2 node specific as64512 rr-client',
    ]);
  });
  // confd/tests/mock_data/calicoctl/reverse_peering/manual/input.yaml: with Manual the
  // selected node gets no automatic reverse session.
  test('reversePeering: Manual leaves the reverse session to another BGPPeer', () => {
    const manual = peer('peer-with-route-reflectors', { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'", reversePeering: 'Manual' });
    const conf = [config('default', { nodeToNodeMeshEnabled: false })];
    assert.deepEqual(brief(desiredPeers({ nodeName: 'rr1', nodes, peers: [manual], configs: conf })), ['Node_10_0_0_101 node specific as64512']);
    assert.deepEqual(brief(desiredPeers({ nodeName: 'a', nodes, peers: [manual], configs: conf })), ['Node_10_0_0_100 node specific as64512', 'Node_10_0_0_101 node specific as64512']);
  });
});

// Calico's golden bird.cfg files for explicit peers that are Calico nodes (confd/tests).
describe('explicit peers at Calico nodes', () => {
  const k = (name: string, ip: string, labels?: Record<string, string>) => node(name, `${ip}/16`, { labels });
  test('global peerIP peers wait for greater Calico node IPs: compiled_templates/explicit_peering/global/bird.cfg', () => {
    // mock_data/calicoctl/explicit_peering/global/input.yaml, seen from kube-master 10.192.0.2.
    const configs = [config('default', { nodeToNodeMeshEnabled: false, asNumber: 64567, listenPort: 150, bindMode: 'NodeIP' })];
    const peers = [
      peer('bgppeer-1', { peerIP: '10.192.0.3', asNumber: 64567, sourceAddress: 'None' }),
      peer('bgppeer-2', { peerIP: '10.192.0.1:166', asNumber: 64567 }),
      peer('bgppeer-3', { peerIP: '10.192.0.1', asNumber: 64567 }),
    ];
    const nodes = [k('kube-master', '10.192.0.2'), k('kube-node-1', '10.192.0.3'), k('kube-node-2', '10.192.0.1')];
    const ps = desiredPeers({ nodeName: 'kube-master', nodes, peers, configs });
    assert.deepEqual(brief(ps).sort(), [
      'Global_10_192_0_1_port_150 global as64567',
      'Global_10_192_0_1_port_166 global as64567',
      'Global_10_192_0_3_port_150 global as64567 passive',
    ]);
  });
  test('the Calico node a global peerIP points at peers back, and dials: it is the greater IP', () => {
    const configs = [config('default', { nodeToNodeMeshEnabled: false })];
    const nodes = [k('a', '10.0.0.1'), k('b', '10.0.0.2')];
    const toB = peer('to-b', { peerIP: '10.0.0.2', asNumber: 64512 });
    assert.deepEqual(brief(desiredPeers({ nodeName: 'a', nodes, peers: [toB], configs })), ['Global_10_0_0_2 global as64512 passive']);
    // client.go updatePeersV1 "missing reverse peerings": node b peers back as node-specific.
    assert.deepEqual(brief(desiredPeers({ nodeName: 'b', nodes, peers: [toB], configs })), ['Node_10_0_0_1 node specific as64512']);
  });
  test('node-specific selector peers never wait: compiled_templates/explicit_peering/selectors/bird.cfg', () => {
    // mock_data/calicoctl/explicit_peering/selectors/input.yaml, seen from kube-master (group one).
    const configs = [config('default', { nodeToNodeMeshEnabled: false }), config('node.kube-node-1', { listenPort: 500 })];
    const nodes = [k('kube-master', '10.192.0.2', { group: 'one' }), k('kube-node-1', '10.192.0.3', { group: 'two' }), k('kube-node-2', '10.192.0.4', { group: 'two' })];
    const sel = peer('bgppeer-1', { nodeSelector: "group=='one'", peerSelector: "group=='two'" });
    assert.deepEqual(brief(desiredPeers({ nodeName: 'kube-master', nodes, peers: [sel], configs })), [
      'Node_10_192_0_3_port_500 node specific as64512',
      'Node_10_192_0_4 node specific as64512',
    ]);
  });
  test('global selector peers never wait: compiled_templates/bgpfilter/communities_and_operations/bird.cfg', () => {
    // mock_data/calicoctl/bgpfilter/communities_and_operations/input.yaml, seen from kube-master.
    const configs = [config('default', { nodeToNodeMeshEnabled: false })];
    const g = { 'global-peer': 'yes' };
    const nodes = [k('kube-master', '10.192.0.2', g), k('kube-node-1', '10.192.0.3', g), k('kube-node-2', '10.192.0.4', g)];
    const sel = peer('test-global-peer-with-filter', { peerSelector: 'has(global-peer)', filters: ['test-filter-communities-ops'] });
    assert.deepEqual(brief(desiredPeers({ nodeName: 'kube-master', nodes, peers: [sel], configs })), ['Global_10_192_0_3 global as64512', 'Global_10_192_0_4 global as64512']);
  });
  test('a peerIP without asNumber configures no session (BIRD refuses `as 0`)', () => {
    const configs = [config('default', { nodeToNodeMeshEnabled: false })];
    assert.deepEqual(desiredPeers({ nodeName: 'a', nodes: [A], peers: [peer('no-as', { peerIP: '192.20.30.40' })], configs }), []);
  });
  test('a password without secretKeyRef is no password', () => {
    const configs = [config('default', { nodeToNodeMeshEnabled: false })];
    const [p] = desiredPeers({ nodeName: 'a', nodes: [A], peers: [peer('p', { peerIP: '192.20.30.40', asNumber: 65000, password: {} })], configs });
    assert.equal(p!.password, undefined);
  });
});

describe('Tabby annotations on BGPPeer', () => {
  test('tabby.io/max-prefixes and its action reach the session; a peer without them has none', () => {
    const limited: BGPPeer = { ...peer('tor', { peerIP: '10.0.0.254', asNumber: 65100 }), metadata: { name: 'tor', annotations: { 'tabby.io/max-prefixes': '500', 'tabby.io/max-prefixes-action': 'Reject' } } };
    const plain = peer('tor2', { peerIP: '10.0.0.253', asNumber: 65100 });
    const ps = desiredPeers({ nodeName: 'a', nodes: [A], peers: [limited, plain], configs: [] });
    const by = new Map(ps.map((p) => [p.source, p]));
    assert.deepEqual([by.get('tor')!.maxPrefixes, by.get('tor')!.maxPrefixesAction], [500, 'Reject']);
    assert.deepEqual([by.get('tor2')!.maxPrefixes, by.get('tor2')!.maxPrefixesAction], [undefined, undefined]);
  });
});
