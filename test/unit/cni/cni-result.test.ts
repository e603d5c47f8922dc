// Results as SPEC.md section 5 shapes them: interfaces, ips with the index of the container
// interface, routes, dns; a prevResult from earlier plugins of the chain is kept and added
// to; 0.3.x/0.4.0 IPs carry "version" (SPEC.md 0.4.0), 1.0.0 dropped it, 1.1.0 added
// interface "mtu".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressesIn, attachmentResult, type Attachment } from '../../../src/cni/cni-result.js';

const att: Attachment = {
  host: { name: 'cali0123456789a', mac: 'ee:ee:ee:ee:ee:ee', mtu: 1480 },
  container: { name: 'eth0', mac: '02:00:00:00:00:01', sandbox: '/run/netns/c1', mtu: 1480 },
  addresses: ['10.244.1.5/32', 'fd00:10::5/128'],
  routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }, { dst: '::/0', gw: 'fe80::ecee:eeff:feee:eeee' }],
};

test('1.0.0: two interfaces, the IPs on the container one, no version, no mtu', () => {
  assert.deepEqual(attachmentResult('1.0.0', att), {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'cali0123456789a', mac: 'ee:ee:ee:ee:ee:ee' }, { name: 'eth0', mac: '02:00:00:00:00:01', sandbox: '/run/netns/c1' }],
    ips: [{ address: '10.244.1.5/32', interface: 1 }, { address: 'fd00:10::5/128', interface: 1 }],
    routes: att.routes,
    dns: {},
  });
});

test('0.4.0 adds the IP version; 1.1.0 keeps the interface MTU', () => {
  assert.deepEqual(attachmentResult('0.4.0', att).ips.map((i) => i.version), ['4', '6']);
  assert.deepEqual(attachmentResult('1.1.0', att).interfaces.map((i) => i.mtu), [1480, 1480]);
});

test('a prevResult is extended, indices shifted past its interfaces, its dns kept', () => {
  const prev = { cniVersion: '1.0.0', interfaces: [{ name: 'br0' }], ips: [{ address: '192.168.9.2/24', interface: 0 }], routes: [{ dst: '192.168.0.0/16' }], dns: { nameservers: ['10.0.0.10'] } };
  const r = attachmentResult('1.0.0', att, prev);
  assert.deepEqual(r.interfaces.map((i) => i.name), ['br0', 'cali0123456789a', 'eth0']);
  assert.deepEqual(r.ips.map((i) => i.interface), [0, 2, 2]);
  assert.equal(r.routes.length, 3);
  assert.deepEqual(r.dns, { nameservers: ['10.0.0.10'] });
  assert.deepEqual(addressesIn(r as unknown as Record<string, unknown>, 'eth0', '/run/netns/c1'), ['10.244.1.5/32', 'fd00:10::5/128']);
  assert.deepEqual(addressesIn(r as unknown as Record<string, unknown>, 'eth0', '/run/netns/other'), []);
});
