// vethCreate (peer born in another namespace, addressed by name or by path) and
// sysctlWrite inside a namespace, checked with iproute2 and sysctl(8).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { NetlinkError, ValidationError } from '../../src/errors.js';
import { linkDelete, linkList, vethCreate } from '../../src/native/links.js';
import { routeApply } from '../../src/native/routes.js';
import { sysctlWrite } from '../../src/native/sysctl.js';
import { needs } from '../helpers/require.js';
import { TestNetns, run } from './netlink-netns.js';

describe('veth pairs across namespaces and per-namespace sysctls', needs({ root: true, tools: ['ip', 'sysctl'] }), () => {
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

  test('dumps while links come and go: an interrupted dump is drained before the retry (was EPROTO)', async () => {
    // libmnl stops at the first NLM_F_DUMP_INTR message; the rest of that dump used to meet
    // the retried request as stale-sequence replies ("RTM_GETLINK: Protocol error").
    // Enough links that a dump spans several reads, so a change can land in the middle.
    const batch = Array.from({ length: 150 }, (_, i) => `link add many${i} type veth peer name manyp${i}`).join('\n');
    execFileSync('ip', ['-n', host.name, '-batch', '-'], { input: batch, timeout: 60_000 });
    let stop = false;
    const churn = (async () => {
      for (let i = 0; i < 400 && !stop; i++) {
        await vethCreate({ netns: host.name, name: `churn${i % 8}`, peerName: `churnp${i % 8}` }).catch(() => undefined);
        await linkDelete({ netns: host.name, name: `churn${(i + 4) % 8}` }).catch(() => undefined);
      }
    })();
    try {
      for (let i = 0; i < 150; i++) {
        await linkList({ netns: host.name });
        // Device names are resolved by a link dump inside the route batch.
        await routeApply([{ op: 'replace', route: { dst: '10.99.0.0/24', dev: 'cali0123456789a', protocol: 3 } }], { netns: host.name });
      }
    } finally {
      stop = true;
      await churn;
    }
  });
});
