// vethCreate (peer born in another namespace, addressed by name or by path) and
// sysctlWrite inside a namespace, checked with iproute2 and sysctl(8).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NetlinkError, ValidationError } from '../../src/errors.js';
import { linkList, sysctlWrite, vethCreate } from '../../src/native/addon.js';
import { needs } from '../helpers/needs.js';
import { TestNetns, run } from './netlink-netns.js';

describe('veth pairs across namespaces and per-namespace sysctls', { skip: needs({ root: true }) }, () => {
  let host: TestNetns;
  let box: TestNetns;
  const sysctl = (ns: TestNetns, key: string) => run('ip', 'netns', 'exec', ns.name, 'sysctl', '-n', key).trim();

  before(() => {
    host = new TestNetns('tbt-veth-h');
    box = new TestNetns('tbt-veth-c');
  });
  after(() => {
    host?.destroy();
    box?.destroy();
  });

  test('the peer is created in the namespace given by path, with MTU and MACs', async () => {
    await vethCreate({ netns: host.name, name: 'cali0123456789a', peerName: 'eth0', peerNetns: `/var/run/netns/${box.name}`, mtu: 1450, mac: 'ee:ee:ee:ee:ee:ee' });
    const h = (await linkList({ netns: host.name })).find((l) => l.name === 'cali0123456789a');
    const c = (await linkList({ netns: `/run/netns/${box.name}` })).find((l) => l.name === 'eth0');
    assert.equal(h?.kind, 'veth');
    assert.equal(h?.mac, 'ee:ee:ee:ee:ee:ee');
    assert.equal(h?.mtu, 1450);
    assert.equal(c?.mtu, 1450);
    assert.match(box.ip('-d', 'link', 'show', 'eth0'), /veth/);
    await assert.rejects(vethCreate({ netns: host.name, name: 'cali0123456789a', peerName: 'x0' }), (e: unknown) => e instanceof NetlinkError && e.errno === 17);
  });

  test('sysctls land in the namespace named, not in the caller\'s', async () => {
    await sysctlWrite([['net/ipv4/conf/cali0123456789a/proxy_arp', '1'], ['net/ipv4/neigh/cali0123456789a/proxy_delay', '0']], { netns: host.name });
    await sysctlWrite([['net/ipv4/ip_forward', '1']], { netns: `/var/run/netns/${box.name}` });
    assert.equal(sysctl(host, 'net.ipv4.conf.cali0123456789a.proxy_arp'), '1');
    assert.equal(sysctl(host, 'net.ipv4.neigh.cali0123456789a.proxy_delay'), '0');
    assert.equal(sysctl(box, 'net.ipv4.ip_forward'), '1');
    assert.equal(sysctl(host, 'net.ipv4.ip_forward'), '0', 'a fresh namespace starts with forwarding off');
    await assert.rejects(sysctlWrite([['net/ipv4/conf/nosuchif/proxy_arp', '1']], { netns: host.name }), (e: unknown) => e instanceof NetlinkError && e.errno === 2);
    await assert.rejects(sysctlWrite([['net/../../etc/passwd', '1']]), ValidationError);
    await assert.rejects(linkList({ netns: '/var/run/netns/../x' }), ValidationError);
  });
});
