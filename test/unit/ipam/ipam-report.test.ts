// ipam show and ipam check, computed from resources. The classes of problem follow
// calicoctl/calicoctl/commands/ipam/check.go: "allocated in IPAM but not actually in use"
// (leaked), "in use ... but have no corresponding IPAM allocation", "in-use IPs that are not
// in active IP pools"; owners are workload endpoints' ipNetworks and nodes' tunnel addresses.
// Usage per pool and per block as calicoctl ipam show --show-blocks counts it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IPPool, Node } from '../../../src/api/types.js';
import type { IpamBlock } from '../../../src/ipam/ipam.js';
import { ipamCheck, ipamUsage, type EndpointView } from '../../../src/ipam/ipam-report.js';

const pool = (name: string, cidr: string, disabled = false): IPPool => ({
  apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name }, spec: { cidr, blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, disabled, disableBGPExport: false, nodeSelector: 'all()' },
});
const NOW = Date.parse('2030-01-01T00:00:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();
const block = (cidr: string, owner: string, allocs: [string, string, number?][]): IpamBlock => ({
  apiVersion: 'projectcalico.org/v3', kind: 'IPAMBlock', metadata: { name: cidr },
  spec: { cidr, affinity: `host:${owner}`, pool: 'p', allocations: Object.fromEntries(allocs.map(([a, h]) => [a, h])), attributes: Object.fromEntries(allocs.map(([a, , age]) => [a, { node: owner, timestamp: ago(age ?? 3600) }])) },
});
const node = (name: string, vxlan?: string): Node => ({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name }, spec: vxlan ? { ipv4VXLANTunnelAddr: vxlan } : {} });
const wep = (name: string, nodeName: string, ips: string[], netns?: string): EndpointView => ({ metadata: { name, namespace: 'default', annotations: netns ? { 'tabby/netns': netns } : {} }, spec: { node: nodeName, ipNetworks: ips } });

test('usage per pool and block; blocks of a deleted pool in a row of their own', () => {
  const u = ipamUsage([pool('p', '10.244.0.0/16')], [block('10.244.0.0/26', 'a', [['10.244.0.1', 'h1'], ['10.244.0.2', 'h2']]), block('10.244.0.64/26', 'b', []), block('10.9.0.0/26', 'c', [['10.9.0.3', 'h3']])]);
  assert.deepEqual(u.map((p) => [p.name, p.cidr, p.total, p.inUse, p.free]), [['p', '10.244.0.0/16', 65536n, 2, 65534n], ['', '', 0n, 1, 0n]]);
  assert.deepEqual(u[0]!.blocks.map((b) => [b.cidr, b.affinity, b.total, b.inUse, b.free]), [['10.244.0.0/26', 'host:a', 64n, 2, 62n], ['10.244.0.64/26', 'host:b', 64n, 0, 64n]]);
});

test('check: owners, leaks (with a grace for ADDs in flight), containers gone, addresses without allocation', () => {
  const r = ipamCheck({
    pools: [pool('p', '10.244.0.0/16'), pool('off', '10.250.0.0/16', true)],
    blocks: [block('10.244.0.0/26', 'a', [['10.244.0.0', 'vxlan-tunnel-addr-a'], ['10.244.0.1', 'net.c1.eth0'], ['10.244.0.2', 'net.c2.eth0'], ['10.244.0.3', 'net.c3.eth0', 10], ['10.244.0.4', 'net.c4.eth0']])],
    nodes: [node('a', '10.244.0.0')],
    endpoints: [wep('a-cni-c1-eth0', 'a', ['10.244.0.1/32']), wep('a-cni-c4-eth0', 'a', ['10.244.0.4/32'], '/run/netns/gone'), wep('b-cni-c5-eth0', 'b', ['10.244.0.5/32'], '/run/netns/gone'), wep('a-cni-c6-eth0', 'a', ['10.250.0.6/32'])],
    localNode: 'a',
    netnsExists: (p) => p !== '/run/netns/gone',
    now: NOW,
    graceMs: 300_000,
    netnsAnnotation: 'tabby/netns',
  });
  assert.equal(r.allocations, 5);
  assert.deepEqual([r.blocks, r.activePools, r.nodeIPs, r.workloadIPs, r.inUse], [1, ['10.244.0.0/16'], 1, 4, 4], 'the counts check.go prints (in use: the node tunnel address, c1, c5, c6)');
  assert.deepEqual(r.problems.map((p) => [p.kind, p.address, p.fixable]), [
    ['container-gone', '10.244.0.4', true],
    ['leaked', '10.244.0.2', true],
    ['leaked', '10.244.0.3', false],
    ['not-allocated', '10.244.0.5', false],
    ['not-in-pool', '10.250.0.6', false],
  ]);
  assert.equal(r.problems[0]!.endpoint, 'a-cni-c4-eth0');
  assert.match(r.problems[2]!.detail, /an ADD may be in flight/);
  // Node b's namespaces are not visible here: its endpoint is not judged "gone".
  assert.equal(r.problems.find((p) => p.address === '10.244.0.5')!.kind, 'not-allocated');
});
