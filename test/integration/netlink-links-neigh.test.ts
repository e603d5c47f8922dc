// Links, neighbours, bridge FDB entries and addresses through the addon, checked with
// iproute2 (`ip -d -j link`, `ip neigh`, `bridge fdb`, `ip addr`).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { NetlinkError } from '../../src/errors.js';
import { addrApply, addrList } from '../../src/native/addresses.js';
import { linkDelete, linkList, linkSet, vxlanCreate } from '../../src/native/links.js';
import { fdbApply, fdbList, neighApply, neighList } from '../../src/native/neighbours.js';
import { TestNetns, run } from './netlink-netns.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ root: true, tools: ['ip'] });

interface IpLinkJson {
  ifname: string;
  mtu: number;
  address: string;
  flags: string[];
  linkinfo?: { info_kind: string; info_data?: Record<string, unknown> };
}

describe('links, neighbours, FDB and addresses', NEEDS, () => {
  let ns: TestNetns;
  const linkJson = (name: string): IpLinkJson => (JSON.parse(ns.ip('-d', '-j', 'link', 'show', name)) as IpLinkJson[])[0]!;

  before(() => {
    ns = new TestNetns('tbt-nlln');
    try {
      ns.veth('eth0', 'eth0p', '192.168.50.1/24');
    } catch (err) {
      ns.destroy();
      throw err;
    }
  });

  after(() => ns?.destroy());

  test('vxlanCreate: VNI 4096, port 4789, learning off, local and parent, MTU and MAC', async () => {
    await vxlanCreate({
      netns: ns.name, name: 'vxlan.calico', vni: 4096, port: 4789, local: '192.168.50.1', parent: 'eth0',
      learning: false, mtu: 1450, mac: '66:0a:0b:0c:0d:0e', up: true,
    });
    const j = linkJson('vxlan.calico');
    assert.equal(j.linkinfo?.info_kind, 'vxlan');
    const d = j.linkinfo!.info_data!;
    assert.equal(d.id, 4096);
    assert.equal(d.port, 4789);
    assert.equal(d.learning, false);
    assert.equal(d.local, '192.168.50.1');
    assert.equal(d.link, 'eth0');
    assert.equal(j.mtu, 1450);
    assert.equal(j.address, '66:0a:0b:0c:0d:0e');
    assert.ok(j.flags.includes('UP'));

    const listed = (await linkList({ netns: ns.name })).find((l) => l.name === 'vxlan.calico');
    assert.deepStrictEqual(listed?.vxlan, {
      vni: 4096, port: 4789, local: '192.168.50.1', parentIndex: (await linkList({ netns: ns.name })).find((l) => l.name === 'eth0')!.index,
      parent: 'eth0', learning: false, external: false, udp6ZeroCsumRx: false,
    });
    assert.equal(listed?.kind, 'vxlan');
    assert.equal(listed?.up, true);

    await assert.rejects(vxlanCreate({ netns: ns.name, name: 'vxlan.calico', vni: 4096 }), (err: unknown) =>
      err instanceof NetlinkError && err.errno === constants.errno.EEXIST && err.op === 'vxlan-create');
  });

  test('vxlanCreate external (collect metadata), linkSet, linkDelete', async () => {
    await vxlanCreate({ netns: ns.name, name: 'vx-ext', external: true, port: 4790 });
    const d = linkJson('vx-ext').linkinfo!.info_data!;
    assert.equal(d.external, true);
    assert.equal(d.port, 4790);
    assert.equal(d.learning, false);

    await linkSet({ netns: ns.name, name: 'vx-ext', up: true, mtu: 1400, mac: '66:00:00:00:00:01' });
    const j = linkJson('vx-ext');
    assert.equal(j.mtu, 1400);
    assert.equal(j.address, '66:00:00:00:00:01');
    assert.ok(j.flags.includes('UP'));
    await linkSet({ netns: ns.name, name: 'vx-ext', up: false });
    assert.ok(!linkJson('vx-ext').flags.includes('UP'));

    await linkDelete({ netns: ns.name, name: 'vx-ext' });
    assert.ok(!(await linkList({ netns: ns.name })).some((l) => l.name === 'vx-ext'));
    await assert.rejects(linkDelete({ netns: ns.name, name: 'vx-ext' }), (err: unknown) =>
      err instanceof NetlinkError && err.errno === constants.errno.ENODEV);
  });

  test('permanent neighbour entries: add, replace, delete', async () => {
    const out = await neighApply([
      { op: 'add', ifname: 'vxlan.calico', ip: '10.244.1.0', mac: '66:aa:bb:cc:dd:01' },
      { op: 'add', ifname: 'vxlan.calico', ip: '10.244.2.0', mac: '66:aa:bb:cc:dd:02' },
      { op: 'add', ifname: 'nosuch', ip: '10.244.3.0', mac: '66:aa:bb:cc:dd:03' },
    ], { netns: ns.name });
    assert.deepStrictEqual(out.results.map((r) => r.ok), [true, true, false]);
    assert.match(ns.ip('neigh', 'show', 'dev', 'vxlan.calico'), /^10\.244\.1\.0 lladdr 66:aa:bb:cc:dd:01 PERMANENT/m);

    await neighApply([{ op: 'replace', ifname: 'vxlan.calico', ip: '10.244.1.0', mac: '66:aa:bb:cc:dd:11' }], { netns: ns.name });
    await neighApply([{ op: 'delete', ifname: 'vxlan.calico', ip: '10.244.2.0' }], { netns: ns.name });
    const listed = (await neighList({ netns: ns.name, family: 4 })).filter((n) => n.ifname === 'vxlan.calico');
    assert.deepStrictEqual(listed.map((n) => [n.ip, n.mac, n.state, n.permanent]), [['10.244.1.0', '66:aa:bb:cc:dd:11', 'permanent', true]]);
  });

  test('FDB entries on the vxlan device, as `bridge fdb append … dst IP self permanent`', async () => {
    const out = await fdbApply([
      { op: 'append', ifname: 'vxlan.calico', mac: '66:aa:bb:cc:dd:11', dst: '192.168.50.7' },
      { op: 'append', ifname: 'vxlan.calico', mac: '66:aa:bb:cc:dd:12', dst: '192.168.50.8' },
    ], { netns: ns.name });
    assert.equal(out.failed, 0);
    const text = run('bridge', '-n', ns.name, 'fdb', 'show', 'dev', 'vxlan.calico');
    assert.match(text, /^66:aa:bb:cc:dd:11 dst 192\.168\.50\.7 self permanent/m);
    assert.match(text, /^66:aa:bb:cc:dd:12 dst 192\.168\.50\.8 self permanent/m);

    await fdbApply([{ op: 'replace', ifname: 'vxlan.calico', mac: '66:aa:bb:cc:dd:11', dst: '192.168.50.9' }], { netns: ns.name });
    await fdbApply([{ op: 'delete', ifname: 'vxlan.calico', mac: '66:aa:bb:cc:dd:12', dst: '192.168.50.8' }], { netns: ns.name });
    const entries = (await fdbList({ netns: ns.name })).filter((e) => e.ifname === 'vxlan.calico' && e.dst);
    assert.deepStrictEqual(entries.map((e) => [e.mac, e.dst, e.self, e.permanent]), [['66:aa:bb:cc:dd:11', '192.168.50.9', true, true]]);
  });

  test('addresses: add, list, delete, per-address results', async () => {
    const out = await addrApply([
      { op: 'add', ifname: 'vxlan.calico', cidr: '10.244.0.0/32' },
      { op: 'add', ifname: 'eth0', cidr: '2001:db8:50::1/64', nodad: true },
      { op: 'add', ifname: 'eth0', cidr: '192.168.50.1/24' }, // already there
    ], { netns: ns.name });
    assert.deepStrictEqual(out.results.map((r) => r.ok || r.errno), [true, true, constants.errno.EEXIST]);
    assert.match(ns.ip('addr', 'show', 'dev', 'vxlan.calico'), /inet 10\.244\.0\.0\/32 /);
    const listed = await addrList({ netns: ns.name });
    assert.ok(listed.some((a) => a.ifname === 'eth0' && a.cidr === '2001:db8:50::1/64' && a.family === 6 && !a.tentative));
    assert.ok(listed.some((a) => a.ifname === 'eth0' && a.cidr === '192.168.50.1/24'));
    await addrApply([{ op: 'delete', ifname: 'vxlan.calico', cidr: '10.244.0.0/32' }], { netns: ns.name });
    assert.ok(!(await addrList({ netns: ns.name, family: 4 })).some((a) => a.ifname === 'vxlan.calico'));
  });
});
