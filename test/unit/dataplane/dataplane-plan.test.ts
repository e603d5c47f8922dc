// Route intents to what each dataplane mode programs, with plain data: routes, realms
// per next hop (bpf), vxlan.tabby peers (iptables), and what each mode refuses.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteIntent, RemoteVtep } from '../../../src/calc/routes.js';
import type { Route } from '../../../src/native/routes.js';
import {
  IPIP_UNSUPPORTED, planDataplane, underlayResolver, type DataplaneMode, type PlanInput,
} from '../../../src/dataplane/dataplane-plan.js';
import { RealmAllocator } from '../../../src/dataplane/encap/realm-allocator.js';

// Node B (192.168.1.3) is on our subnet; C (192.168.2.4) is behind the router 192.168.1.1.
const underlay = underlayResolver([
  { family: 4, dst: '192.168.1.0/24', table: 254, protocol: 2, scope: 253, type: 'unicast', dev: 'eth0', onlink: false },
  { family: 4, dst: '192.168.2.0/24', table: 254, protocol: 4, scope: 0, type: 'unicast', gateway: '192.168.1.1', dev: 'eth0', onlink: false },
  { family: 4, dst: '172.16.0.0/16', table: 254, protocol: 2, scope: 253, type: 'unicast', dev: 'eth1', onlink: false },
  // Tabby's own routes never count as underlay.
  { family: 4, dst: '192.168.2.4/32', table: 254, protocol: 88, scope: 0, type: 'unicast', gateway: '192.168.1.9', dev: 'eth0', onlink: true },
  // IPv6: fd00:1::/64 connected, fd00:2::/64 behind the router fd00:1::1, fd00:3::/64 on eth1;
  // fe80::/64 is on every link (here eth1 first): a link-local next hop is on-link by definition.
  { family: 6, dst: 'fd00:1::/64', table: 254, protocol: 2, scope: 0, type: 'unicast', dev: 'eth0', onlink: false, metric: 256 },
  { family: 6, dst: 'fd00:2::/64', table: 254, protocol: 3, scope: 0, type: 'unicast', gateway: 'fd00:1::1', dev: 'eth0', onlink: false, metric: 1024 },
  { family: 6, dst: 'fd00:3::/64', table: 254, protocol: 2, scope: 0, type: 'unicast', dev: 'eth1', onlink: false, metric: 256 },
  { family: 6, dst: 'fe80::/64', table: 254, protocol: 2, scope: 0, type: 'unicast', dev: 'eth1', onlink: false, metric: 256 },
  { family: 6, dst: 'fd00:2::4/128', table: 254, protocol: 88, scope: 0, type: 'unicast', gateway: 'fd00:1::9', dev: 'eth0', onlink: true, metric: 1024 },
] satisfies Route[], 'eth0', 88);

const vtepC: RemoteVtep = { node: 'c', nodeIP: '192.168.2.4', tunnelIP: '10.244.9.0', mac: '66:aa:bb:cc:dd:04', blocks: ['10.244.2.0/26'] };
const intents: RouteIntent[] = [
  { kind: 'blackhole', dst: '10.244.0.0/26' },
  { kind: 'learned', dst: '10.244.1.0/26', nexthops: [{ address: '192.168.1.3', encap: 'none' }] },
  { kind: 'learned', dst: '10.244.3.0/26', nexthops: [{ address: '192.168.2.4', encap: 'ipip' }] },
  { kind: 'learned', dst: '10.99.0.0/24', nexthops: [{ address: '192.168.1.3', encap: 'none' }, { address: '192.168.2.4', encap: 'ipip' }] },
  { kind: 'vxlan', dst: '10.244.2.0/26', vtep: vtepC },
];
const localVtep = { tunnelIP: '10.244.0.0', mac: '66:aa:bb:cc:dd:01' };

function plan(mode: DataplaneMode, extra: Partial<PlanInput> = {}) {
  const realms = new RealmAllocator();
  return planDataplane({
    mode, intents, hostIfname: 'eth0', hostMtu: 1500, underlayVia: underlay, localVtep,
    realmFor: (k, ip) => realms.get(k, ip), ...extra,
  });
}

test('underlay: connected means the address itself, otherwise the gateway; other interfaces are unreachable', () => {
  assert.equal(underlay('192.168.1.3'), '192.168.1.3');
  assert.equal(underlay('192.168.2.4'), '192.168.1.1');
  assert.equal(underlay('172.16.0.5'), undefined);
  assert.equal(underlay('8.8.8.8'), undefined);
});

test('underlay, IPv6: the same rules; a link-local next hop is itself, on the host interface', () => {
  assert.equal(underlay('fd00:1::3'), 'fd00:1::3');
  assert.equal(underlay('fd00:2::4'), 'fd00:1::1', 'our own /128 (protocol 88) is not underlay');
  assert.equal(underlay('fd00:3::5'), undefined);
  assert.equal(underlay('2001:db8::1'), undefined);
  assert.equal(underlay('fe80::a8c1:abff:fe00:1'), 'fe80::a8c1:abff:fe00:1');
  assert.equal(underlay('::ffff:192.168.1.3'), undefined, 'a v4-mapped address is IPv6: no IPv6 route holds it');
});

test('IPv6 learned routes: global and link-local next hops, ECMP, on-link through the host interface', () => {
  const p = planDataplane({
    mode: 'iptables', hostIfname: 'eth0', hostMtu: 1500, underlayVia: underlay,
    intents: [
      { kind: 'learned', dst: '2001:db8:1::/48', nexthops: [{ address: 'fd00:2::4', encap: 'none' }] },
      { kind: 'learned', dst: '2001:db8:2::/48', nexthops: [{ address: 'fe80::1', encap: 'none' }] },
      { kind: 'learned', dst: '2001:db8:3::/48', nexthops: [{ address: 'fd00:1::3', encap: 'none' }, { address: 'fe80::2', encap: 'none' }] },
      { kind: 'learned', dst: '2001:db8:4::/48', nexthops: [{ address: 'fd00:3::5', encap: 'none' }] },
    ],
  });
  assert.deepStrictEqual(p.routes, [
    { dst: '2001:db8:1::/48', gateway: 'fd00:1::1', device: 'eth0', onlink: true },
    { dst: '2001:db8:2::/48', gateway: 'fe80::1', device: 'eth0', onlink: true },
    { dst: '2001:db8:3::/48', nexthops: [{ gateway: 'fd00:1::3', device: 'eth0', onlink: true }, { gateway: 'fe80::2', device: 'eth0', onlink: true }] },
  ]);
  assert.deepStrictEqual(p.errors, [{ dst: '2001:db8:4::/48', message: 'next hop fd00:3::5 is not reachable through eth0' }]);
});

test('bpf: tunnel routes carry realms per next hop; a mixed ECMP set gives its plain hop a realm of kind none', () => {
  const p = plan('bpf');
  assert.deepStrictEqual(p.errors, []);
  assert.deepStrictEqual(p.routes, [
    { dst: '10.244.0.0/26', type: 'blackhole' },
    { dst: '10.244.1.0/26', gateway: '192.168.1.3', device: 'eth0', onlink: true },
    { dst: '10.244.3.0/26', gateway: '192.168.1.1', device: 'eth0', onlink: true, realm: 1, mtu: 1480 },
    { dst: '10.99.0.0/24', mtu: 1480, nexthops: [
      { gateway: '192.168.1.3', device: 'eth0', onlink: true, realm: 2 },
      { gateway: '192.168.1.1', device: 'eth0', onlink: true, realm: 1 },
    ] },
    { dst: '10.244.2.0/26', gateway: '192.168.1.1', device: 'eth0', onlink: true, realm: 3, mtu: 1450 },
  ]);
  assert.deepStrictEqual(p.realms, [
    { realm: 1, remoteIP: '192.168.2.4', kind: 'ipip' },
    { realm: 2, remoteIP: '192.168.1.3', kind: 'none' },
    { realm: 3, remoteIP: '192.168.2.4', kind: 'vxlan', vtepMac: '66:aa:bb:cc:dd:04' },
  ]);
});

test('iptables: VXLAN through vxlan.tabby with a peer per VTEP; IPIP without tunl0 is refused, with tunl0 it goes through it', () => {
  const p = plan('iptables');
  assert.deepStrictEqual(p.errors.map((e) => [e.dst, e.message]), [['10.244.3.0/26', IPIP_UNSUPPORTED], ['10.99.0.0/24', IPIP_UNSUPPORTED]]);
  assert.match(IPIP_UNSUPPORTED, /--dataplane bpf/);
  assert.deepStrictEqual(p.routes.at(-1), { dst: '10.244.2.0/26', gateway: '10.244.9.0', device: 'vxlan.tabby', onlink: true, mtu: 1450 });
  assert.deepStrictEqual(p.vxlanPeers, [{ node: 'c', nodeIP: '192.168.2.4', tunnelIP: '10.244.9.0', mac: '66:aa:bb:cc:dd:04' }]);
  assert.deepStrictEqual(p.realms, []);
  const t = plan('iptables', { haveTunl0: true });
  assert.deepStrictEqual(t.errors, []);
  assert.deepStrictEqual(t.routes.find((r) => r.dst === '10.99.0.0/24'), { dst: '10.99.0.0/24', mtu: 1480, nexthops: [
    { gateway: '192.168.1.3', device: 'eth0', onlink: true },
    { gateway: '192.168.2.4', device: 'tunl0', onlink: true },
  ] });
});

test('none: everything plain, with a warning where encapsulation was asked for', () => {
  const p = plan('none');
  assert.deepStrictEqual(p.errors, []);
  assert.ok(p.routes.every((r) => r.realm === undefined && r.mtu === undefined && !r.nexthops?.some((h) => h.realm)));
  assert.deepStrictEqual(p.warnings.map((w) => w.dst), ['10.244.3.0/26', '10.99.0.0/24', '10.244.2.0/26']);
  assert.deepStrictEqual(p.routes.at(-1), { dst: '10.244.2.0/26', gateway: '192.168.1.1', device: 'eth0', onlink: true });
});

test('what cannot be planned is reported per destination, the rest goes ahead', () => {
  const p = planDataplane({
    mode: 'bpf', hostIfname: 'eth0', hostMtu: 1500, underlayVia: underlay, realmFor: () => 1,
    intents: [
      { kind: 'learned', dst: '10.1.0.0/24', nexthops: [{ address: '172.16.0.9', encap: 'ipip' }] },
      { kind: 'learned', dst: '10.2.0.0/24', nexthops: [{ address: '172.16.0.9', encap: 'none' }, { address: '192.168.1.3', encap: 'none' }] },
      { kind: 'vxlan', dst: '10.3.0.0/24', vtep: vtepC },
      { kind: 'learned', dst: '10.4.0.0/24', nexthops: [] },
    ],
  });
  assert.deepStrictEqual(p.errors.map((e) => e.dst), ['10.1.0.0/24', '10.2.0.0/24', '10.3.0.0/24', '10.4.0.0/24']);
  assert.deepStrictEqual(p.routes, [{ dst: '10.2.0.0/24', gateway: '192.168.1.3', device: 'eth0', onlink: true }]);
});

test('realm allocator: stable per (kind, node), seeded from the kernel, freed numbers reused last', () => {
  const a = new RealmAllocator();
  assert.ok(a.seed('ipip', '10.0.0.2', 40));
  assert.ok(!a.seed('vxlan', '10.0.0.3', 40), 'a number already taken');
  assert.ok(!a.seed('ipip', '10.0.0.2', 41), 'a key already seeded');
  assert.equal(a.get('ipip', '10.0.0.2'), 40);
  assert.equal(a.get('none', '10.0.0.2'), 41);
  assert.equal(a.get('ipip', '10.0.0.3'), 42);
  a.retain(new Set([40, 42]));
  assert.equal(a.size, 2);
  assert.equal(a.get('vxlan', '10.0.0.9'), 43, 'not 41 again right away');
  assert.equal(a.get('ipip', '10.0.0.3'), 42);
});

// IPv6 VXLAN: Calico's vxlan-v6.calico rides the IPv6 underlay, route `block via remote
// ipv6VXLANTunnelAddr dev vxlan-v6.calico onlink` with MTU host − 70 (Felix
// felix/dataplane/linux/vxlan_mgr.go route() with ipVersion 6: GW = vtep.Ipv6Addr; the
// device's MTU is VXLANMTUV6, host MTU − 70 for the 40-byte IPv6 header).
const vtepV6: RemoteVtep = { node: 'c', nodeIP: 'fd00:2::4', tunnelIP: 'fd00:244:9::', mac: '66:aa:bb:cc:dd:14', blocks: ['fd00:244:2::/122'] };
const localVtepV6 = { tunnelIP: 'fd00:244::', mac: '66:aa:bb:cc:dd:11' };

test('iptables: IPv6 VXLAN through vxlan-v6.tabby, its peers apart from the IPv4 ones', () => {
  const v6 = [...intents, { kind: 'vxlan', dst: 'fd00:244:2::/122', vtep: vtepV6 } as const];
  const p = plan('iptables', { haveTunl0: true, intents: v6, localVtepV6 });
  assert.deepStrictEqual(p.errors, []);
  assert.deepStrictEqual(p.routes.at(-1), { dst: 'fd00:244:2::/122', gateway: 'fd00:244:9::', device: 'vxlan-v6.tabby', onlink: true, mtu: 1430 });
  assert.deepStrictEqual(p.vxlanPeersV6, [{ node: 'c', nodeIP: 'fd00:2::4', tunnelIP: 'fd00:244:9::', mac: '66:aa:bb:cc:dd:14' }]);
  assert.deepStrictEqual(p.vxlanPeers.map((v) => v.tunnelIP), ['10.244.9.0']);
  // Without this node's IPv6 VTEP the route cannot be planned; the IPv4 ones still are.
  const q = plan('iptables', { haveTunl0: true, intents: v6 });
  assert.deepStrictEqual(q.errors.map((e) => e.dst), ['fd00:244:2::/122']);
  assert.match(q.errors[0]!.message, /IPv6 VTEP/);
  assert.deepStrictEqual(q.vxlanPeers.map((v) => v.tunnelIP), ['10.244.9.0']);
});

test('bpf: IPv6 VXLAN goes out of the host interface towards the remote node, its block in encap_routes6 (IPv6 routes carry no realm)', () => {
  const v6 = [{ kind: 'vxlan', dst: 'fd00:244:2::/122', vtep: vtepV6 } as const];
  const p = plan('bpf', { intents: v6, localVtepV6 });
  assert.deepStrictEqual(p.errors, []);
  // C (fd00:2::4) is behind the router fd00:1::1 on eth0.
  assert.deepStrictEqual(p.routes, [{ dst: 'fd00:244:2::/122', gateway: 'fd00:1::1', device: 'eth0', onlink: true, mtu: 1430 }]);
  assert.deepStrictEqual(p.encapEntries, [{ block: 'fd00:244:2::/122', remoteIP: 'fd00:2::4', kind: 'vxlan', vtepMac: '66:aa:bb:cc:dd:14' }]);
  assert.deepStrictEqual(p.realms, []);
  const far = plan('bpf', { intents: [{ kind: 'vxlan', dst: 'fd00:244:3::/122', vtep: { ...vtepV6, nodeIP: 'fd00:3::5' } }], localVtepV6 });
  assert.deepStrictEqual(far.errors.map((e) => e.message), ['next hop fd00:3::5 is not reachable through eth0']);
});
