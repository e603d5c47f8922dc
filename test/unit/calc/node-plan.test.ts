// The node plan: trigger 1 of the agent, pure. Expectations follow Calico's BIRD
// templates (confd/etc/calico/confd/templates/bird_ipam.cfg.template:
// reject_disabled_pools() and `if ( net ~ POOL ) then { accept; }` in
// calico_export_to_bgp_peers; bird.cfg.template for the session settings) and its IPAM
// (one block per pool selecting the node), as summarised in the repository's docs.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BGPConfiguration, BGPPeer, IPPool, Node } from '../../../src/api/types.js';
import { CidrTable } from '../../../src/calc/cidr-table.js';
import { ExportRule, exportPolicy, exportPolicyKey } from '../../../src/calc/export-policy.js';
import { ipamNeeds, nodePlan, originations, type AffineBlock, type NodeResources } from '../../../src/calc/node-plan.js';

const node = (name: string, v4: string, spec: Partial<Node['spec']> = {}, labels?: Record<string, string>): Node => ({
  apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name, ...(labels ? { labels } : {}) }, spec: { bgp: { ipv4Address: v4 }, ...spec },
});
const pool = (name: string, cidr: string, extra: Partial<IPPool['spec']> = {}): IPPool => ({
  apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name },
  spec: { cidr, blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, disabled: false, disableBGPExport: false, nodeSelector: 'all()', ...extra },
});
const block = (cidr: string, host: string, poolName: string): AffineBlock => ({ spec: { cidr, affinity: `host:${host}`, pool: poolName } });
const config = (spec: BGPConfiguration['spec'], name = 'default'): BGPConfiguration => ({ apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name }, spec });
const bgpPeer = (name: string, spec: BGPPeer['spec']): BGPPeer => ({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name }, spec });

function resources(over: Partial<NodeResources> = {}): NodeResources {
  return {
    nodes: [node('n1', '10.0.0.1/24'), node('n2', '10.0.0.2/24')],
    configs: [],
    pools: [pool('p', '10.244.0.0/16', { ipipMode: 'Always' })],
    blocks: [block('10.244.1.0/26', 'n1', 'p'), block('10.244.2.0/26', 'n2', 'p')],
    peers: [],
    ...over,
  };
}

describe('node plan', () => {
  test('no Node resource yet, or no address: no plan', () => {
    assert.equal(nodePlan(resources(), { name: 'n9', cidrs: ['10.0.0.9/24'] }), undefined);
    assert.equal(nodePlan(resources(), { name: 'n1', cidrs: [] }), undefined);
  });

  test('speaker identity, mesh peers, originations, resource routes and the learned-route context', () => {
    const plan = nodePlan(resources({ configs: [config({ asNumber: 64513, listenPort: 1179 })] }), { name: 'n1', cidrs: ['10.0.0.1/24'] })!;
    assert.deepEqual(plan.speaker, { routerId: '10.0.0.1', asn: 64513, listen: { address: '::', port: 1179 } });
    // Passive toward the greater IP string (confd bird.cfg.template `{{if gt $onode_ip $node_ip}} passive on`).
    assert.deepEqual(plan.peers.map((p) => [p.id, p.type, p.remoteAsn, p.passive]), [['Mesh_10_0_0_2_port_1179', 'node-to-node mesh', 64513, true]]);
    assert.deepEqual(plan.originations, [{ prefix: '10.244.1.0/26', communities: [] }]);
    assert.deepEqual(plan.routes.resourceIntents, [{ kind: 'blackhole', dst: '10.244.1.0/26' }]);
    // Learned routes are judged in the plan's context: IPIP for the pool, our own block never.
    assert.deepEqual(plan.routes.learned('10.244.2.0/26', ['10.0.0.2']), { kind: 'learned', dst: '10.244.2.0/26', nexthops: [{ address: '10.0.0.2', encap: 'ipip' }] });
    assert.equal(plan.routes.learned('10.244.1.0/26', ['10.0.0.2']), undefined);
    assert.equal(plan.routes.learned('10.0.0.0/24', ['10.0.0.2']), undefined, 'our connected subnet stays the kernel\'s');
    // bird_ipam.cfg.template: "Destination is not in any ipPool, accept" — plain.
    assert.deepEqual(plan.routes.learned('192.168.9.0/24', ['10.0.0.254'])?.kind, 'learned');
    assert.deepEqual(plan.ipam, { satisfied: true, missingPools: [], vxlanTunnelAddress: false, vxlanTunnelAddressV6: false });
  });

  test('bindMode NodeIP listens on the node address; a route reflector carries its cluster id', () => {
    const nodes = [node('n1', '10.0.0.1/24', { bgp: { ipv4Address: '10.0.0.1/24', routeReflectorClusterID: '224.0.0.1' } })];
    const plan = nodePlan(resources({ nodes, configs: [config({ bindMode: 'NodeIP' })] }), { name: 'n1', cidrs: ['10.0.0.1/24'] })!;
    assert.deepEqual(plan.speaker, { routerId: '10.0.0.1', asn: 64512, clusterId: '224.0.0.1', listen: { addresses: ['10.0.0.1'], port: 179 } });
  });

  // confd's bird.cfg and bird6.cfg templates each `listen bgp address` the node IP of their family.
  test('bindMode NodeIP on a dual-stack node listens on both node addresses', () => {
    const nodes = [node('n1', '10.0.0.1/24', { bgp: { ipv4Address: '10.0.0.1/24', ipv6Address: 'fd00::1/64' } })];
    const plan = nodePlan(resources({ nodes, configs: [config({ bindMode: 'NodeIP' })] }), { name: 'n1', cidrs: ['fd00::1/64', '10.0.0.1/24'] })!;
    assert.deepEqual(plan.speaker.listen, { addresses: ['10.0.0.1', 'fd00::1'], port: 179 });
  });

  test('an IPv6-only node: the router ID it is given (agent/router-id.ts), listener on ::; none without one', () => {
    const nodes = [node('node-1', 'fd00::1/64', { bgp: { ipv6Address: 'fd00::1/64' } })];
    const plan = nodePlan(resources({ nodes }), { name: 'node-1', cidrs: ['fd00::1/64'], routerId: '53.151.27.230' })!;
    assert.deepEqual(plan.speaker, { routerId: '53.151.27.230', asn: 64512, listen: { address: '::', port: 179 } });
    assert.equal(nodePlan(resources({ nodes }), { name: 'node-1', cidrs: ['fd00::1/64'] }), undefined);
  });

  test('the same resources give an equal route-context key (learned routes are not re-judged), a pool change a new one', () => {
    const a = nodePlan(resources(), { name: 'n1', cidrs: ['10.0.0.1/24'] })!;
    const b = nodePlan(resources(), { name: 'n1', cidrs: ['10.0.0.1/24'] })!;
    const c = nodePlan(resources({ pools: [pool('p', '10.244.0.0/16', { ipipMode: 'CrossSubnet' })] }), { name: 'n1', cidrs: ['10.0.0.1/24'] })!;
    assert.equal(a.routes.key, b.routes.key);
    assert.notEqual(a.routes.key, c.routes.key);
  });

  test('a learned next-hop list is judged once per list (same array in, same array out)', () => {
    const plan = nodePlan(resources(), { name: 'n1', cidrs: ['10.0.0.1/24'] })!;
    const hops = ['10.0.0.2'];
    const x = plan.routes.learnedHops('10.244.2.0/26', hops);
    const y = plan.routes.learnedHops('10.244.3.0/26', hops);
    assert.ok(x && x === y);
  });

  test('VXLAN: routes to other nodes\' blocks from the datastore, the local VTEP, and BGP copies left alone', () => {
    const vx = pool('v', '10.96.0.0/16', { vxlanMode: 'Always' });
    const nodes = [
      node('n1', '10.0.0.1/24', { bgp: { ipv4Address: '10.0.0.1/24' }, ipv4VXLANTunnelAddr: '10.96.1.0', vxlanTunnelMACAddr: '66:00:00:00:00:01' }),
      node('n2', '10.0.0.2/24', { bgp: { ipv4Address: '10.0.0.2/24' }, ipv4VXLANTunnelAddr: '10.96.2.0', vxlanTunnelMACAddr: '66:00:00:00:00:02' }),
    ];
    const blocks = [block('10.96.1.0/26', 'n1', 'v'), block('10.96.2.0/26', 'n2', 'v')];
    const plan = nodePlan(resources({ nodes, pools: [vx], blocks }), { name: 'n1', cidrs: ['10.0.0.1/24'] })!;
    assert.deepEqual(plan.localVtep, { tunnelIP: '10.96.1.0', mac: '66:00:00:00:00:01' });
    assert.deepEqual(plan.routes.resourceIntents.map((r) => [r.kind, r.dst]), [['blackhole', '10.96.1.0/26'], ['vxlan', '10.96.2.0/26']]);
    assert.equal(plan.routes.learned('10.96.2.0/26', ['10.0.0.2']), undefined, 'VXLAN routes never come from BGP');
  });

  test('IPv6 VXLAN: VTEPs from ipv6VXLANTunnelAddr and vxlanTunnelMACAddrV6 over the nodes\' IPv6 addresses, for their IPv6 blocks only (Felix vxlan_resolver.go, ipVersion 6)', () => {
    const v4 = pool('v', '10.96.0.0/16', { vxlanMode: 'Always' });
    const v6 = pool('v6', 'fd00:96::/48', { blockSize: 122, vxlanMode: 'CrossSubnet' });
    const spec = (i: number, ip6: string) => ({
      bgp: { ipv4Address: `10.0.0.${i}/24`, ipv6Address: ip6 },
      ipv4VXLANTunnelAddr: `10.96.${i}.0`, vxlanTunnelMACAddr: `66:00:00:00:00:0${i}`,
      ipv6VXLANTunnelAddr: `fd00:96:0:${i}::`, vxlanTunnelMACAddrV6: `66:00:00:00:06:0${i}`,
    });
    const nodes = [node('n1', '', spec(1, 'fd00:1::1/64')), node('n2', '', spec(2, 'fd00:2::2/64')), node('n3', '', spec(3, 'fd00:1::3/64'))];
    const blocks = [1, 2, 3].flatMap((i) => [block(`10.96.${i}.0/26`, `n${i}`, 'v'), block(`fd00:96:0:${i}::/122`, `n${i}`, 'v6')]);
    const plan = nodePlan(resources({ nodes, pools: [v4, v6], blocks }), { name: 'n1', cidrs: ['10.0.0.1/24', 'fd00:1::1/64'] })!;
    assert.deepEqual(plan.localVtepV6, { tunnelIP: 'fd00:96:0:1::', mac: '66:00:00:00:06:01' });
    const vx = plan.routes.resourceIntents.flatMap((r) => (r.kind === 'vxlan' ? [[r.dst, r.vtep.nodeIP, r.vtep.tunnelIP, r.vtep.mac]] : [])).sort();
    // CrossSubnet: n3 shares fd00:1::/64 with n1, so its IPv6 block is routed plainly (over BGP).
    assert.deepEqual(vx, [
      ['10.96.2.0/26', '10.0.0.2', '10.96.2.0', '66:00:00:00:00:02'],
      ['10.96.3.0/26', '10.0.0.3', '10.96.3.0', '66:00:00:00:00:03'],
      ['fd00:96:0:2::/122', 'fd00:2::2', 'fd00:96:0:2::', '66:00:00:00:06:02'],
    ]);
    assert.equal(plan.routes.learned('fd00:96:0:2::/122', ['fd00:2::2']), undefined, 'VXLAN routes never come from BGP');
    assert.deepEqual(plan.routes.learned('fd00:96:0:3::/122', ['fd00:1::3'])?.kind, 'learned');
    assert.deepEqual(plan.tunnelSources, ['10.0.0.2', '10.0.0.3', 'fd00:1::3', 'fd00:2::2']);
  });

  test('explicit peers carry the export policy, password reference and filters for the agent', () => {
    const peers = [bgpPeer('tor', { peerIP: '10.0.0.254', asNumber: 65000, password: { secretKeyRef: { name: 's', key: 'k' } }, filters: ['f1', 'missing', 'f2'] })];
    const spec = (cidr: string) => ({ exportV4: [{ cidr, matchOperator: 'Equal' as const, action: 'Reject' as const }] });
    const filters = [
      { apiVersion: 'projectcalico.org/v3' as const, kind: 'BGPFilter' as const, metadata: { name: 'f2' }, spec: spec('10.1.0.0/16') },
      { apiVersion: 'projectcalico.org/v3' as const, kind: 'BGPFilter' as const, metadata: { name: 'f1' }, spec: spec('10.2.0.0/16') },
    ];
    const plan = nodePlan(resources({ peers, filters, configs: [config({ nodeToNodeMeshEnabled: false })] }), { name: 'n1', cidrs: ['10.0.0.1/24'] })!;
    assert.equal(plan.peers.length, 1);
    const p = plan.peers[0]!;
    assert.deepEqual([p.id, p.type, p.remoteAsn, p.localAsn, p.gracefulRestartTime], ['Global_10_0_0_254', 'global', 65000, 64512, 120]);
    // The peer's order; a name with no BGPFilter is skipped, as confd's buildExportFilter does.
    assert.deepEqual(p.filters, [{ name: 'f1', spec: spec('10.2.0.0/16') }, { name: 'f2', spec: spec('10.1.0.0/16') }]);
    assert.deepEqual(p.password, { secretKeyRef: { name: 's', key: 'k' } });
    assert.deepEqual(p.export, { advertise: ['10.244.0.0/16'], deny: [], blocks: ['10.244.1.0/26'] });
  });
});

describe('export rule', () => {
  // bird_ipam.cfg.template: reject_disabled_pools() first, then accept each pool without
  // disableBGPExport; everything else is rejected by the caller's `reject;`.
  const pools = [pool('a', '10.244.0.0/16'), pool('quiet', '10.244.128.0/17', { disableBGPExport: true }), pool('b', '10.96.0.0/16')];
  const configs = [config({ serviceClusterIPs: [{ cidr: '10.101.0.0/16' }] })];
  const blocks = [block('10.244.1.0/26', 'n1', 'a'), block('10.244.2.0/26', 'n2', 'a')];
  const rule = new ExportRule(exportPolicy(pools, configs, 'n1', blocks));

  test('pool space and service CIDRs may leave; a disableBGPExport pool never, even inside an allowed one', () => {
    assert.equal(rule.allows('10.244.1.0/26'), true);
    assert.equal(rule.allows('10.244.200.0/26'), false);
    assert.equal(rule.allows('10.96.3.0/26'), true);
    assert.equal(rule.allows('10.101.0.0/16'), true);
    assert.equal(rule.allows('192.168.0.0/24'), false);
  });

  // bird_ipam.cfg.template calico_export_to_bgp_peers: `if ( net ~ POOL ) then { accept; }`
  // whatever the route's source; the iBGP split horizon is the RIB's (rib-export tests).
  test('every route inside an enabled pool may leave, own or learned', () => {
    assert.equal(rule.exports('10.244.1.0/26'), true);
    assert.equal(rule.exports('10.244.200.0/26'), false);
    assert.equal(rule.exports('192.168.0.0/24'), false);
  });

  // calico_export_to_bgp_peers calls calico_aggr() (bird_aggr.cfg.template: per block of the
  // host, `if ( net = BLOCK ) then { accept; }  if ( net ~ BLOCK ) then { reject; }`) before
  // the pools: a /32 another node borrowed from n1's block, learned over the mesh, is not
  // passed on by n1 (its borrower advertises it); one from n2's block is.
  test('nothing beneath one of the node\'s own blocks leaves, the block itself does', () => {
    assert.equal(rule.exports('10.244.1.0/26'), true);
    assert.equal(rule.exports('10.244.1.7/32'), false);
    assert.equal(rule.exports('10.244.1.0/27'), false);
    assert.equal(rule.exports('10.244.2.7/32'), true);
    assert.equal(rule.exports('10.244.0.0/16'), true, 'a route holding the block is not beneath it');
  });

  test('equal policies have equal keys', () => {
    assert.equal(exportPolicyKey(exportPolicy(pools, configs, 'n1', blocks)), exportPolicyKey(exportPolicy([...pools], configs, 'n1', [...blocks])));
    assert.notEqual(exportPolicyKey(exportPolicy(pools, configs, 'n1', blocks)), exportPolicyKey(exportPolicy(pools.slice(1), configs, 'n1', blocks)));
    assert.notEqual(exportPolicyKey(exportPolicy(pools, configs, 'n1', blocks)), exportPolicyKey(exportPolicy(pools, configs, 'n1', blocks.slice(1))), 'a claimed block changes the policy');
  });

  test('originations: affine blocks in exportable pools and service CIDRs, with communities by name or value', () => {
    const res = {
      pools,
      blocks: [block('10.244.1.0/26', 'n1', 'a'), block('10.244.130.0/26', 'n1', 'quiet'), block('10.244.2.0/26', 'n2', 'a')],
      configs: [config({
        serviceClusterIPs: [{ cidr: '10.101.0.0/16' }],
        communities: [{ name: 'gold', value: '65000:100' }],
        prefixAdvertisements: [{ cidr: '10.244.0.0/16', communities: ['gold', '65000:1:2'] }],
      })],
    };
    assert.deepEqual(originations('n1', res), [
      { prefix: '10.244.1.0/26', communities: ['65000:100', '65000:1:2'] },
      { prefix: '10.101.0.0/16', communities: [] },
    ]);
  });
});

describe('IPAM needs', () => {
  test('a block of every enabled pool that selects the node, and the VXLAN tunnel address with a VXLAN pool', () => {
    const me = node('n1', '10.0.0.1/24', {}, { rack: 'r1' });
    const pools = [pool('a', '10.244.0.0/16'), pool('r2', '10.245.0.0/16', { nodeSelector: "rack == 'r2'" }), pool('off', '10.246.0.0/16', { disabled: true })];
    assert.deepEqual(ipamNeeds(me, { pools, blocks: [] }), { satisfied: false, missingPools: ['a'], vxlanTunnelAddress: false, vxlanTunnelAddressV6: false });
    assert.deepEqual(ipamNeeds(me, { pools, blocks: [block('10.244.1.0/26', 'n1', 'a')] }).satisfied, true);
    const vx = [pool('v', '10.96.0.0/16', { vxlanMode: 'CrossSubnet' })];
    assert.deepEqual(ipamNeeds(me, { pools: vx, blocks: [block('10.96.1.0/26', 'n1', 'v')] }), { satisfied: false, missingPools: [], vxlanTunnelAddress: true, vxlanTunnelAddressV6: false });
    const withAddr = node('n1', '10.0.0.1/24', { ipv4VXLANTunnelAddr: '10.96.1.0' });
    assert.equal(ipamNeeds(withAddr, { pools: vx, blocks: [block('10.96.1.0/26', 'n1', 'v')] }).satisfied, true);
  });

  test('an IPv6 VXLAN pool asks for the IPv6 tunnel address alone, once the node has an IPv6 block (calico-node allocateip, vxlan-v6-tunnel-addr-NODE)', () => {
    const me = node('n1', '10.0.0.1/24');
    const pools = [pool('v4', '10.244.0.0/16'), pool('v6', 'fd00:96::/48', { blockSize: 122, vxlanMode: 'Always' })];
    const blocks = [block('10.244.1.0/26', 'n1', 'v4'), block('fd00:96::/122', 'n1', 'v6')];
    assert.deepEqual(ipamNeeds(me, { pools, blocks: blocks.slice(0, 1) }), { satisfied: false, missingPools: ['v6'], vxlanTunnelAddress: false, vxlanTunnelAddressV6: false });
    assert.deepEqual(ipamNeeds(me, { pools, blocks }), { satisfied: false, missingPools: [], vxlanTunnelAddress: false, vxlanTunnelAddressV6: true });
    assert.equal(ipamNeeds(node('n1', '10.0.0.1/24', { ipv6VXLANTunnelAddr: 'fd00:96::' }), { pools, blocks }).satisfied, true);
  });
});

describe('CIDR table', () => {
  test('the most specific CIDR holding a prefix, IPv4 by numbers, IPv6 too', () => {
    const t = new CidrTable(['10.0.0.0/8', '10.244.0.0/16', '10.244.8.0/21', 'fd00::/48', 'fd00:0:1::/64']);
    assert.equal(t.lookup('10.244.9.0/26'), 2);
    assert.equal(t.lookup('10.244.1.0/26'), 1);
    assert.equal(t.lookup('10.1.0.0/16'), 0);
    assert.equal(t.lookup('10.0.0.0/7'), -1, 'wider than every entry');
    assert.equal(t.lookup('11.0.0.0/8'), -1);
    assert.equal(t.lookup('fd00:0:1::/64'), 4);
    assert.equal(t.lookup('fd00:0:0:2::/64'), 3);
    assert.equal(t.lookup('fd01::/64'), -1);
    assert.equal(new CidrTable([]).lookup('10.0.0.0/8'), -1);
  });
});
