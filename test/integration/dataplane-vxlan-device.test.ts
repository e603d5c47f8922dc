// vxlan.tabby declared then applied: created as Calico's vxlan.calico is, adopted when
// right (no change at all), repaired when drifted (MTU, address, stale or wrong
// neighbour and FDB entries), recreated when a fixed attribute is wrong, removed when
// no VTEP is declared.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { linkList } from '../../src/native/links.js';
import { fdbList, neighList } from '../../src/native/neighbours.js';
import { VxlanDevice } from '../../src/dataplane/links/vxlan-device.js';
import { TestNetns, run } from './netlink-netns.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ root: true, tools: ['ip'] });

const peers = [
  { node: 'b', nodeIP: '10.0.0.2', tunnelIP: '10.244.2.1', mac: '66:00:00:00:00:02' },
  { node: 'c', nodeIP: '10.0.0.3', tunnelIP: '10.244.3.1', mac: '66:00:00:00:00:03' },
];
const local = { tunnelIP: '10.244.1.1', mac: '66:00:00:00:00:01' };

describe('VxlanDevice', NEEDS, () => {
  let ns: TestNetns;
  let dev: VxlanDevice;

  before(() => {
    ns = new TestNetns('tbt-vxdev');
    try {
      ns.veth('eth0', 'eth0p', '10.0.0.1/24');
    } catch (err) {
      ns.destroy();
      throw err;
    }
    dev = new VxlanDevice({ netns: ns.name, parent: 'eth0', local: '10.0.0.1', mtu: 1450 });
  });

  after(() => ns?.destroy());

  const state = async () => {
    const link = (await linkList({ netns: ns.name })).find((l) => l.name === 'vxlan.tabby');
    const neigh = (await neighList({ netns: ns.name, family: 4 })).filter((n) => n.ifname === 'vxlan.tabby' && n.permanent)
      .map((n) => `${n.ip} ${n.mac}`).sort();
    const fdb = (await fdbList({ netns: ns.name })).filter((f) => f.ifname === 'vxlan.tabby')
      .map((f) => `${f.mac} ${f.dst} ${f.permanent ? 'permanent' : f.state}`).sort();
    const addr = link ? ns.ip('-4', '-br', 'addr', 'show', 'dev', 'vxlan.tabby').trim().split(/\s+/).slice(2) : [];
    return { link, neigh, fdb, addr };
  };

  test('creates the device with Calico\'s attributes, its address, a neighbour and an FDB entry per peer', async () => {
    dev.set({ local, peers });
    const r = await dev.apply();
    assert.deepStrictEqual(r.errors, []);
    const s = await state();
    assert.equal(s.link?.mtu, 1450);
    assert.equal(s.link?.mac, local.mac);
    assert.ok(s.link?.up);
    assert.deepStrictEqual(s.link?.vxlan && [s.link.vxlan.vni, s.link.vxlan.port, s.link.vxlan.local, s.link.vxlan.parent, s.link.vxlan.learning],
      [4096, 4789, '10.0.0.1', 'eth0', false]);
    assert.deepStrictEqual(s.addr, ['10.244.1.1/32']);
    assert.deepStrictEqual(s.neigh, ['10.244.2.1 66:00:00:00:00:02', '10.244.3.1 66:00:00:00:00:03']);
    assert.deepStrictEqual(s.fdb, ['66:00:00:00:00:02 10.0.0.2 permanent', '66:00:00:00:00:03 10.0.0.3 permanent']);
    assert.deepStrictEqual(await dev.apply(), { changes: 0, errors: [] }, 'a second apply changes nothing');
    // A new instance (an agent restart) adopts it all.
    const again = new VxlanDevice({ netns: ns.name, parent: 'eth0', local: '10.0.0.1', mtu: 1450 });
    again.set({ local, peers });
    assert.deepStrictEqual(await again.apply(), { changes: 0, errors: [] });
  });

  test('drift is repaired and stale entries go; the peers that are right are not touched', async () => {
    ns.ip('link', 'set', 'vxlan.tabby', 'mtu', '1400');
    ns.ip('addr', 'add', '10.244.9.9/32', 'dev', 'vxlan.tabby');
    ns.ip('neigh', 'replace', '10.244.2.1', 'lladdr', '66:00:00:00:00:99', 'dev', 'vxlan.tabby', 'nud', 'permanent');
    ns.ip('neigh', 'add', '10.244.7.1', 'lladdr', '66:00:00:00:00:07', 'dev', 'vxlan.tabby', 'nud', 'permanent');
    run('ip', 'netns', 'exec', ns.name, 'bridge', 'fdb', 'del', '66:00:00:00:00:03', 'dev', 'vxlan.tabby', 'dst', '10.0.0.3', 'self');
    run('ip', 'netns', 'exec', ns.name, 'bridge', 'fdb', 'add', '66:00:00:00:00:03', 'dev', 'vxlan.tabby', 'dst', '10.0.0.9', 'self', 'permanent');
    run('ip', 'netns', 'exec', ns.name, 'bridge', 'fdb', 'add', '66:00:00:00:00:07', 'dev', 'vxlan.tabby', 'dst', '10.0.0.7', 'self', 'permanent');
    const r = await dev.apply();
    assert.deepStrictEqual(r.errors, []);
    // MTU; address delete; neighbour delete + replace; FDB 2 deletes + 1 append.
    assert.equal(r.changes, 1 + 1 + 2 + 3);
    const s = await state();
    assert.equal(s.link?.mtu, 1450);
    assert.deepStrictEqual(s.addr, ['10.244.1.1/32']);
    assert.deepStrictEqual(s.neigh, ['10.244.2.1 66:00:00:00:00:02', '10.244.3.1 66:00:00:00:00:03']);
    assert.deepStrictEqual(s.fdb, ['66:00:00:00:00:02 10.0.0.2 permanent', '66:00:00:00:00:03 10.0.0.3 permanent']);
  });

  test('a peer leaving takes its entries; a wrong VNI means a new device; no VTEP, no device', async () => {
    dev.set({ local, peers: peers.slice(0, 1) });
    assert.equal((await dev.apply()).changes, 2);
    assert.deepStrictEqual((await state()).fdb, ['66:00:00:00:00:02 10.0.0.2 permanent']);

    const index = (await state()).link!.index;
    const other = new VxlanDevice({ netns: ns.name, parent: 'eth0', local: '10.0.0.1', mtu: 1450, vni: 4097 });
    other.set({ local, peers: peers.slice(0, 1) });
    assert.deepStrictEqual((await other.apply()).errors, []);
    const s = await state();
    assert.notEqual(s.link!.index, index);
    assert.equal(s.link!.vxlan?.vni, 4097);
    assert.deepStrictEqual(s.neigh, ['10.244.2.1 66:00:00:00:00:02']);

    other.set({ peers: [] });
    assert.equal((await other.apply()).changes, 1);
    assert.equal((await state()).link, undefined);
    assert.equal(await other.remove(), false);
  });
});

// IPv6: Calico's vxlan-v6.calico (felix/dataplane/linux/vxlan_mgr.go with ipVersion 6) as
// vxlan-v6.tabby over an IPv6 underlay: local = the node's IPv6 address, MTU host − 70,
// its tunnel address /128, NDP neighbours and FDB entries towards IPv6 VTEPs; adopted
// unchanged by a new instance however the addresses were written.
describe('VxlanDevice, IPv6', NEEDS, () => {
  let ns: TestNetns;
  const peers6 = [{ node: 'b', nodeIP: 'fd00:a::2', tunnelIP: 'fd00:244:2::', mac: '66:00:00:00:06:02' }];
  const local6 = { tunnelIP: 'fd00:244:1::', mac: '66:00:00:00:06:01' };

  before(() => {
    ns = new TestNetns('tbt-vxdev6');
    try {
      ns.veth('eth0', 'eth0p');
      ns.ip('addr', 'add', 'fd00:a::1/64', 'dev', 'eth0', 'nodad');
    } catch (err) {
      ns.destroy();
      throw err;
    }
  });

  after(() => ns?.destroy());

  test('created with the IPv6 attributes, adopted without a change, removed with its entries', async () => {
    const dev = new VxlanDevice({ netns: ns.name, family: 6, parent: 'eth0', local: 'fd00:a::1', mtu: 1430 });
    assert.equal(dev.name, 'vxlan-v6.tabby');
    dev.set({ local: local6, peers: peers6 });
    assert.deepStrictEqual((await dev.apply()).errors, []);
    const link = (await linkList({ netns: ns.name })).find((l) => l.name === 'vxlan-v6.tabby');
    assert.deepStrictEqual(link?.vxlan && [link.vxlan.vni, link.vxlan.port, link.vxlan.local, link.vxlan.parent, link.vxlan.learning, link.vxlan.udp6ZeroCsumRx],
      [4096, 4789, 'fd00:a::1', 'eth0', false, true]);
    assert.equal(link?.mtu, 1430);
    assert.match(ns.ip('-6', 'addr', 'show', 'dev', 'vxlan-v6.tabby'), /inet6 fd00:244:1::\/128 /);
    const neigh = (await neighList({ netns: ns.name, family: 6 })).filter((n) => n.ifname === 'vxlan-v6.tabby' && n.permanent).map((n) => `${n.ip} ${n.mac}`);
    assert.deepStrictEqual(neigh, ['fd00:244:2:: 66:00:00:00:06:02']);
    const fdb = (await fdbList({ netns: ns.name })).filter((f) => f.ifname === 'vxlan-v6.tabby' && f.permanent).map((f) => `${f.mac} ${f.dst}`);
    assert.deepStrictEqual(fdb, ['66:00:00:00:06:02 fd00:a::2']);
    assert.deepStrictEqual(await dev.apply(), { changes: 0, errors: [] }, 'a second apply changes nothing');
    // A restarted agent, given the same addresses spelt otherwise, adopts it all.
    const again = new VxlanDevice({ netns: ns.name, family: 6, parent: 'eth0', local: 'FD00:A:0::1', mtu: 1430 });
    again.set({ local: { ...local6, tunnelIP: 'fd00:244:1:0::' }, peers: [{ ...peers6[0]!, nodeIP: 'fd00:a:0:0::2', tunnelIP: 'FD00:244:2::0' }] });
    assert.deepStrictEqual(await again.apply(), { changes: 0, errors: [] });
    again.set({ peers: [] });
    assert.equal((await again.apply()).changes, 1);
    assert.equal((await linkList({ netns: ns.name })).some((l) => l.name === 'vxlan-v6.tabby'), false);
  });
});
