// The binary route records TypeScript hands to the addon (layout in
// addon/src/netlink_route_record.h) and the validation in front of them; no root or
// addon build needed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../../src/errors.js';
import { routeApply } from '../../../src/native/routes.js';
import { encodeRouteOps, ipv4ToU32, NEXTHOP_REC_SIZE, ROUTE_REC_SIZE } from '../../../src/native/route-records.js';

test('ipv4ToU32 accepts only strict dotted quads', () => {
  assert.equal(ipv4ToU32('10.0.0.1'), 0x0a000001);
  assert.equal(ipv4ToU32('255.255.255.255'), 0xffffffff);
  assert.equal(ipv4ToU32('0.0.0.0'), 0);
  for (const bad of ['10.0.0', '10.0.0.1.2', '256.0.0.1', '01.0.0.1', '1..2.3', '1.2.3.4 ', '', 'a.b.c.d', '1.2.3.1000']) {
    assert.equal(ipv4ToU32(bad), -1, bad);
  }
});

test('record layout: header fields, addresses in network order, next hops after the header', () => {
  const { buf, count, names } = encodeRouteOps([
    { op: 'replace', route: { dst: '10.1.2.0/24', gateway: '192.168.0.1', dev: 'eth0', onlink: true, metric: 7, mtu: 1400, table: 1000 } },
    { op: 'add', route: { dst: '2001:db8::/32', nexthops: [{ gateway: 'fe80::1', dev: 'eth1', weight: 3 }, { gateway: 'fe80::2', oif: 9 }] } },
    { op: 'delete', route: { dst: '10.9.0.0/16', protocol: 12 } },
  ], 88);
  assert.equal(count, 3);
  assert.deepStrictEqual(names, ['eth0', 'eth1']);
  assert.equal(buf.length, 3 * ROUTE_REC_SIZE + 2 * NEXTHOP_REC_SIZE);
  // first record
  assert.deepStrictEqual([...buf.subarray(0, 8)], [1, 4, 24, 1, 88, 0, 1 | 2 | 8 | 16, 0]);
  assert.deepStrictEqual([buf.readUInt32LE(8), buf.readUInt32LE(12), buf.readUInt32LE(16), buf.readUInt32LE(20), buf.readUInt32LE(24)], [1000, 7, 1400, 0, 1]);
  assert.deepStrictEqual([...buf.subarray(32, 36)], [10, 1, 2, 0]);
  assert.deepStrictEqual([...buf.subarray(48, 52)], [192, 168, 0, 1]);
  // second: IPv6 with two next hops
  const o = ROUTE_REC_SIZE;
  assert.deepStrictEqual([buf[o], buf[o + 1], buf[o + 2], buf[o + 7]], [0, 6, 32, 2]);
  assert.equal(buf.subarray(o + 32, o + 48).toString('hex'), '20010db8000000000000000000000000');
  const h = o + ROUTE_REC_SIZE;
  assert.equal(buf.subarray(h, h + 16).toString('hex'), 'fe800000000000000000000000000001');
  assert.deepStrictEqual([buf.readUInt32LE(h + 16), buf.readUInt32LE(h + 20), buf[h + 24], buf[h + 25]], [0, 2, 2, 2]);
  assert.deepStrictEqual([buf.readUInt32LE(h + NEXTHOP_REC_SIZE + 16), buf.readUInt32LE(h + NEXTHOP_REC_SIZE + 20)], [9, 0]);
  // third: delete with no type (matches any), its own protocol, table main
  const d = 2 * ROUTE_REC_SIZE + 2 * NEXTHOP_REC_SIZE;
  assert.deepStrictEqual([buf[d], buf[d + 3], buf[d + 4], buf.readUInt32LE(d + 8)], [2, 0, 12, 254]);
});

test('realms: u32 at 28 of the route record and at 28 of each next hop record', () => {
  const { buf } = encodeRouteOps([
    { op: 'add', route: { dst: '10.1.2.0/24', gateway: '192.168.0.1', realm: 0x1234 } },
    { op: 'add', route: { dst: '10.1.3.0/24', nexthops: [{ gateway: '192.168.0.1', realm: 7 }, { gateway: '192.168.0.2' }] } },
  ], 88);
  assert.equal(buf.readUInt32LE(28), 0x1234);
  const h = 2 * ROUTE_REC_SIZE;
  assert.equal(buf.readUInt32LE(ROUTE_REC_SIZE + 28), 0, 'no route-level realm on a multipath route');
  assert.deepStrictEqual([buf.readUInt32LE(h + 28), buf.readUInt32LE(h + NEXTHOP_REC_SIZE + 28)], [7, 0]);
});

const rejected: Array<[string, unknown, string]> = [
  ['bad CIDR', { op: 'add', route: { dst: '10.0.0.0' } }, 'ops[0].route.dst'],
  ['prefix too long', { op: 'add', route: { dst: '10.0.0.0/33', dev: 'eth0' } }, 'ops[0].route.dst'],
  ['gateway of the other family', { op: 'add', route: { dst: '10.0.0.0/8', gateway: '::1' } }, 'ops[0].route.gateway'],
  ['unknown op', { op: 'upsert', route: { dst: '10.0.0.0/8' } }, 'ops[0].op'],
  ['blackhole with a gateway', { op: 'add', route: { dst: '10.0.0.0/8', type: 'blackhole', gateway: '10.0.0.1' } }, 'ops[0].route'],
  ['long ifname', { op: 'add', route: { dst: '10.0.0.0/8', dev: 'x'.repeat(16) } }, 'ops[0].route.dev'],
  ['weight 0', { op: 'add', route: { dst: '10.0.0.0/8', nexthops: [{ dev: 'eth0', weight: 0 }] } }, 'ops[0].route.nexthops[0].weight'],
  ['both nexthops and gateway', { op: 'add', route: { dst: '10.0.0.0/8', gateway: '10.0.0.1', nexthops: [{ dev: 'eth0' }] } }, 'ops[0].route'],
  ['realm above 16 bits', { op: 'add', route: { dst: '10.0.0.0/8', dev: 'eth0', realm: 65536 } }, 'ops[0].route.realm'],
  ['IPv6 realm', { op: 'add', route: { dst: '2001:db8::/32', dev: 'eth0', realm: 1 } }, 'ops[0].route.realm'],
  ['route realm on multipath', { op: 'add', route: { dst: '10.0.0.0/8', realm: 1, nexthops: [{ dev: 'eth0' }] } }, 'ops[0].route.realm'],
  ['protocol > 255', { op: 'add', route: { dst: '10.0.0.0/8', dev: 'eth0', protocol: 300 } }, 'ops[0].route.protocol'],
];

for (const [name, op, path] of rejected) {
  test(`routeApply rejects ${name} before sending anything`, async () => {
    await assert.rejects(routeApply([op as never], { netns: 'x' }), (err: unknown) => err instanceof ValidationError && err.path === path);
  });
}
