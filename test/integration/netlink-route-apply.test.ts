// routeApply against a namespace of its own: batches of thousands of routes with
// per-route results, replace and delete, every route shape the reconciler uses
// (blackhole, onlink, MTU, ECMP over two devices, IPv6), checked both with routeDump
// and with iproute2's own text.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { RTPROT_TABBY } from '../../src/dataplane/routes/route-protocol.js';
import { routeApply, routeDump, type RouteOp } from '../../src/native/routes.js';
import { TestNetns } from './netlink-netns.js';
import { routingNetns } from '../helpers/netns.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ root: true, tools: ['ip'] });

const { ENETUNREACH, ESRCH, EEXIST, ENODEV, ENOBUFS } = constants.errno;

function hostRoutes(n: number, second: number, extra: Partial<RouteOp['route']> = {}): RouteOp[] {
  const ops: RouteOp[] = [];
  for (let i = 0; i < n; i++) {
    ops.push({ op: 'add', route: { dst: `10.${second}.${(i >> 8) & 255}.${i & 255}/32`, gateway: '10.0.0.2', dev: 'v0', ...extra } });
  }
  return ops;
}

describe('routeApply', NEEDS, () => {
  let ns: TestNetns;

  before(() => {
    ns = routingNetns('tbt-nlra');
  });

  after(() => ns?.destroy());

  test('5,000 /32 adds in batches, one bad route in the middle failing alone', async (t) => {
    const ops = hostRoutes(5000, 100);
    ops[2500] = { op: 'add', route: { dst: '10.101.0.0/24', gateway: '10.99.99.1' } }; // gateway not on any link
    const started = performance.now();
    const out = await routeApply(ops, { netns: ns.name, protocol: RTPROT_TABBY });
    const ms = performance.now() - started;
    t.diagnostic(`5000 routes in ${ms.toFixed(1)} ms over ${out.sends} sends`);
    assert.equal(out.failed, 1);
    assert.equal(out.results.length, 5000);
    const bad = out.results[2500]!;
    assert.ok(!bad.ok);
    assert.equal(bad.errno, ENETUNREACH);
    assert.match(bad.message, /gateway/i, 'the kernel extended-ack text is kept');
    assert.ok(out.results.every((r, i) => r.ok === (i !== 2500)));
    assert.ok(out.sends <= 25, `expected batching, got ${out.sends} sends`);

    const dumped = await routeDump({ netns: ns.name, family: 4, protocol: RTPROT_TABBY });
    assert.equal(dumped.length, 4999);
    assert.ok(dumped.every((r) => r.gateway === '10.0.0.2' && r.dev === 'v0' && r.table === 254));
    const text = ns.ip('route', 'show', 'proto', String(RTPROT_TABBY));
    assert.equal(text.trim().split('\n').length, 4999);
    assert.ok(!text.includes('10.101.0.0'));

    // Adding again is EEXIST for every one (NLM_F_EXCL), still one result each.
    const again = await routeApply(ops.slice(0, 10), { netns: ns.name, protocol: RTPROT_TABBY });
    assert.ok(again.results.every((r) => !r.ok && r.errno === EEXIST));
  });

  test('replace and delete, per route', async () => {
    const replaced = hostRoutes(300, 100, { gateway: '10.0.1.2', dev: 'v1' }).map((o) => ({ ...o, op: 'replace' as const }));
    const out = await routeApply(replaced, { netns: ns.name, protocol: RTPROT_TABBY });
    assert.equal(out.failed, 0);
    const dumped = await routeDump({ netns: ns.name, family: 4, protocol: RTPROT_TABBY });
    assert.equal(dumped.filter((r) => r.dev === 'v1' && r.gateway === '10.0.1.2').length, 300);

    const deletes: RouteOp[] = hostRoutes(5000, 100).map((o) => ({ op: 'delete', route: { dst: o.route.dst } }));
    deletes.push({ op: 'delete', route: { dst: '10.102.0.0/24' } }); // not there
    const del = await routeApply(deletes, { netns: ns.name, protocol: RTPROT_TABBY });
    assert.equal(del.failed, 2); // 10.100.9.196 was never added (the bad one took its place) and the extra
    assert.ok(del.results.filter((r) => !r.ok).every((r) => !r.ok && r.errno === ESRCH));
    assert.equal((await routeDump({ netns: ns.name, family: 4, protocol: RTPROT_TABBY })).length, 0);
  });

  test('blackhole, onlink via, MTU, metric, table > 255, and ECMP over two devices', async () => {
    const out = await routeApply([
      { op: 'add', route: { dst: '10.60.0.0/24', type: 'blackhole' } },
      { op: 'add', route: { dst: '10.61.0.0/24', gateway: '172.31.9.9', dev: 'v0', onlink: true, mtu: 1400, metric: 20 } },
      { op: 'add', route: { dst: '10.62.0.0/24', nexthops: [
        { gateway: '10.0.0.2', dev: 'v0', weight: 1 },
        { gateway: '172.31.9.10', dev: 'v1', onlink: true, weight: 3 },
      ] } },
      { op: 'add', route: { dst: '10.63.0.0/24', dev: 'v1', table: 1000, prefsrc: '10.0.1.1' } },
      { op: 'add', route: { dst: '10.64.0.0/24', dev: 'nosuchdev' } },
    ], { netns: ns.name, protocol: RTPROT_TABBY });
    assert.deepStrictEqual(out.results.slice(0, 4).map((r) => r.ok), [true, true, true, true]);
    assert.ok(!out.results[4]!.ok && out.results[4]!.errno === ENODEV);

    const text = ns.ip('-d', 'route', 'show', 'proto', String(RTPROT_TABBY));
    assert.match(text, /^blackhole 10\.60\.0\.0\/24 /m);
    assert.match(text, /^unicast 10\.61\.0\.0\/24 via 172\.31\.9\.9 dev v0 .*metric 20 onlink mtu 1400/m);
    assert.match(text, /^unicast 10\.62\.0\.0\/24 .*\n\s+nexthop via 10\.0\.0\.2 dev v0 weight 1 \n\s+nexthop via 172\.31\.9\.10 dev v1 weight 3 onlink/m);
    assert.match(ns.ip('route', 'show', 'table', '1000'), /^10\.63\.0\.0\/24 dev v1 proto 88 scope link src 10\.0\.1\.1/m);

    const byDst = new Map((await routeDump({ netns: ns.name, family: 4, protocol: RTPROT_TABBY })).map((r) => [r.dst, r]));
    assert.equal(byDst.get('10.61.0.0/24')?.mtu, 1400);
    assert.equal(byDst.get('10.61.0.0/24')?.onlink, true);
    assert.deepStrictEqual(byDst.get('10.62.0.0/24')?.nexthops?.map((h) => [h.gateway, h.dev, h.weight, h.onlink]), [
      ['10.0.0.2', 'v0', 1, false],
      ['172.31.9.10', 'v1', 3, true],
    ]);
    assert.equal(byDst.get('10.63.0.0/24')?.table, 1000);
  });

  test('IPv6: via gateway, unreachable, multipath over two devices', async () => {
    const out = await routeApply([
      { op: 'add', route: { dst: '2001:db8:100::/64', gateway: '2001:db8:a::2', mtu: 1380 } },
      { op: 'add', route: { dst: '2001:db8:101::/64', type: 'unreachable' } },
      { op: 'add', route: { dst: '2001:db8:102::/64', nexthops: [
        { gateway: '2001:db8:a::2', dev: 'v0' },
        { gateway: '2001:db8:b::2', dev: 'v1', weight: 2 },
      ] } },
    ], { netns: ns.name, protocol: RTPROT_TABBY });
    assert.equal(out.failed, 0, JSON.stringify(out.results));
    const v6 = new Map((await routeDump({ netns: ns.name, family: 6, protocol: RTPROT_TABBY })).map((r) => [r.dst, r]));
    assert.equal(v6.get('2001:db8:100::/64')?.dev, 'v0');
    assert.equal(v6.get('2001:db8:100::/64')?.mtu, 1380);
    assert.equal(v6.get('2001:db8:100::/64')?.metric, 1024);
    assert.equal(v6.get('2001:db8:101::/64')?.type, 'unreachable');
    assert.deepStrictEqual(v6.get('2001:db8:102::/64')?.nexthops?.map((h) => [h.gateway, h.dev, h.weight]), [
      ['2001:db8:a::2', 'v0', 1],
      ['2001:db8:b::2', 'v1', 2],
    ]);
    const text = ns.ip('-6', '-d', 'route', 'show', 'proto', String(RTPROT_TABBY));
    assert.match(text, /2001:db8:102::\/64 .*\n\s+nexthop via 2001:db8:a::2 dev v0 weight 1 \n\s+nexthop via 2001:db8:b::2 dev v1 weight 2/m);

    const del = await routeApply([{ op: 'delete', route: { dst: '2001:db8:102::/64' } }], { netns: ns.name, protocol: RTPROT_TABBY });
    assert.equal(del.failed, 0);
    assert.ok(!(await routeDump({ netns: ns.name, family: 6, protocol: RTPROT_TABBY })).some((r) => r.dst === '2001:db8:102::/64'));
  });

  test('a delete under Tabby\'s protocol never removes another owner\'s route', async () => {
    ns.ip('route', 'add', '10.70.0.0/24', 'via', '10.0.0.2', 'proto', 'static');
    const out = await routeApply([{ op: 'delete', route: { dst: '10.70.0.0/24' } }], { netns: ns.name, protocol: RTPROT_TABBY });
    assert.ok(!out.results[0]!.ok && out.results[0]!.errno === ESRCH);
    assert.match(ns.ip('route', 'show', '10.70.0.0/24'), /proto static/);
  });

  // iproute2's ip/iproute.c iproute_modify(): rtm_protocol = RTPROT_BOOT unless the
  // command is a delete, which then matches a route of any owner.
  test('without a protocol, routes are written as `ip route` writes them: boot, deleted by any owner', async () => {
    const out = await routeApply([{ op: 'add', route: { dst: '10.71.0.0/24', gateway: '10.0.0.2' } }], { netns: ns.name });
    assert.equal(out.failed, 0);
    assert.match(ns.ip('route', 'show', '10.71.0.0/24'), /^10\.71\.0\.0\/24 via 10\.0\.0\.2 dev v0 \n?$/);
    assert.equal((await routeDump({ netns: ns.name, protocol: 3 })).filter((r) => r.dst === '10.71.0.0/24').length, 1);
    ns.ip('route', 'add', '10.72.0.0/24', 'via', '10.0.0.2', 'proto', 'static');
    const del = await routeApply([
      { op: 'delete', route: { dst: '10.71.0.0/24' } },
      { op: 'delete', route: { dst: '10.72.0.0/24' } },
    ], { netns: ns.name });
    assert.deepEqual(del.results, [{ ok: true }, { ok: true }]);
  });

  test('acks lost to a tiny receive buffer are reported as ENOBUFS, not as success', async () => {
    const ops = hostRoutes(512, 110);
    const out = await routeApply(ops, { netns: ns.name, protocol: RTPROT_TABBY, rcvbuf: 1 });
    const lost = out.results.filter((r) => !r.ok);
    assert.ok(lost.length > 0, 'expected some acknowledgements to be dropped');
    assert.ok(lost.every((r) => !r.ok && r.errno === ENOBUFS && /acknowledgement lost/.test(r.message)));
    // The kernel still processed every request; only the answers were lost.
    assert.equal((await routeDump({ netns: ns.name, family: 4, protocol: RTPROT_TABBY })).filter((r) => r.dst.startsWith('10.110.')).length, 512);
    const one = await routeApply(ops.slice(0, 3).map((o) => ({ op: 'delete' as const, route: { dst: o.route.dst } })), { netns: ns.name, protocol: RTPROT_TABBY, batchSize: 1 });
    assert.equal(one.sends, 3);
    assert.equal(one.failed, 0);
  });
});
