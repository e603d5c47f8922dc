// RouteReconciler against an in-memory kernel model: the diff, the normalisation that
// keeps a converged set quiet, deltas that send only what changed (the kernel is dumped
// only on a resync), adoption after a restart, coalescing of concurrent apply() calls,
// per-route failures and the resync timers (fake timers). The same behaviours run
// against the real kernel in test/integration/route-reconciler.test.ts.

import { describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetlinkResult } from '../../../src/native/batch.js';
import type { Route, RouteOp, RouteSpec } from '../../../src/native/routes.js';
import { RouteReconciler } from '../../../src/dataplane/routes/route-reconciler.js';
import type { RouteKernel } from '../../../src/dataplane/routes/route-kernel.js';
import { routeDiff, sameRoute } from '../../../src/dataplane/routes/route-diff.js';
import { normaliseDesiredRoute } from '../../../src/dataplane/routes/desired-route.js';

const PROTO = 88;

/** Stores routes the way the kernel reports them (IPv6 metric 1024, lo for device-less IPv6, a resolved device). */
class ModelKernel implements RouteKernel {
  readonly routes = new Map<string, Route>();
  applyCalls = 0;
  dumps = 0;
  opsSeen: RouteOp[] = [];
  fail = new Map<string, number>();
  gate: Promise<void> | undefined;

  static key(table: number, dst: string, metric: number): string {
    return `${table} ${dst} ${metric}`;
  }

  private toRoute(s: RouteSpec): Route {
    const family = s.dst.includes(':') ? 6 : 4;
    const type = s.type ?? 'unicast';
    const r: Route = { family, dst: s.dst, table: s.table ?? 254, protocol: s.protocol ?? PROTO, scope: s.scope ?? 0, type, onlink: s.onlink === true };
    const metric = family === 6 ? (s.metric || 1024) : (s.metric ?? 0);
    if (family === 6 || metric !== 0) r.metric = metric;
    if (s.gateway) r.gateway = s.gateway;
    if (s.mtu) r.mtu = s.mtu;
    if (s.prefsrc) r.prefsrc = s.prefsrc;
    if (s.realm) r.realm = s.realm;
    if (s.nexthops) {
      r.nexthops = s.nexthops.map((h) => ({
        gateway: h.gateway, dev: h.dev ?? 'eth0', weight: h.weight ?? 1, onlink: h.onlink === true, ...(h.realm ? { realm: h.realm } : {}),
      }));
    } else if (type !== 'unicast' && family === 6) {
      r.dev = 'lo';
      r.oif = 1;
    } else if (type === 'unicast') {
      r.dev = s.dev ?? 'eth0';
    }
    return r;
  }

  add(r: Route): void {
    this.routes.set(ModelKernel.key(r.table, r.dst, r.metric ?? 0), r);
  }

  async dump(): Promise<Route[]> {
    this.dumps++;
    return [...this.routes.values()].filter((r) => r.protocol === PROTO).map((r) => structuredClone(r));
  }

  async apply(ops: readonly RouteOp[]): Promise<NetlinkResult[]> {
    this.applyCalls++;
    this.opsSeen.push(...ops);
    if (this.gate) await this.gate;
    return ops.map((op) => {
      const errno = this.fail.get(op.route.dst);
      if (errno) return { ok: false, errno, message: 'model failure' };
      const r = this.toRoute(op.route);
      const key = ModelKernel.key(r.table, r.dst, r.metric ?? 0);
      const have = this.routes.get(key);
      if (op.op === 'delete') {
        if (!have || have.protocol !== PROTO) return { ok: false, errno: 3, message: 'No such process' };
        this.routes.delete(key);
      } else if (op.op === 'add' && have) {
        return { ok: false, errno: 17, message: 'File exists' };
      } else {
        this.routes.set(key, r);
      }
      return { ok: true };
    });
  }
}

const desired = [
  { dst: '10.1.0.0/26', gateway: '192.168.0.2', device: 'eth0' },
  { dst: '10.1.0.64/26', gateway: '192.168.0.3' }, // device left to the kernel
  { dst: '10.1.1.0/24', type: 'blackhole' as const },
  { dst: '10.1.2.0/24', device: 'eth0' },
  { dst: '10.1.3.0/24', nexthops: [{ gateway: '192.168.0.3', device: 'eth1' }, { gateway: '192.168.0.2', device: 'eth0', weight: 2 }] },
  { dst: '10.1.4.0/24', nexthops: [{ gateway: '192.168.0.4', device: 'eth1' }] }, // one hop: a plain route
  { dst: '2001:db8::/64', type: 'unreachable' as const },
  { dst: '2001:db8:1::/64', gateway: '2001:db8::2', metric: 0 },
  { dst: '10.1.5.0/24', gateway: '192.168.0.2', table: 1000, mtu: 1400, metric: 7 },
];

describe('RouteReconciler (model kernel)', () => {
  test('converges, then stays quiet: the model reports routes the way the kernel does', async () => {
    const kernel = new ModelKernel();
    const rec = new RouteReconciler({ kernel, protocol: PROTO });
    assert.deepStrictEqual(rec.setRoutes(desired), []);
    const first = await rec.apply();
    assert.equal(first.added, desired.length);
    assert.equal((await rec.apply()).ops, 0);
    assert.equal(rec.routesProgrammed, desired.length);
    const restarted = new RouteReconciler({ kernel, protocol: PROTO });
    restarted.setRoutes(desired);
    assert.equal((await restarted.apply()).ops, 0);
  });

  test('other protocols are invisible: never deleted, never replaced', async () => {
    const kernel = new ModelKernel();
    kernel.add({ family: 4, dst: '10.9.0.0/24', table: 254, protocol: 12, scope: 0, type: 'unicast', gateway: '192.168.0.9', dev: 'eth0', onlink: false });
    const rec = new RouteReconciler({ kernel, protocol: PROTO });
    rec.setRoutes([]);
    assert.equal((await rec.apply()).ops, 0);
    rec.setRoutes([{ dst: '10.9.0.0/24', gateway: '192.168.0.2' }]);
    const res = await rec.apply();
    assert.deepStrictEqual(kernel.opsSeen.map((o) => o.op), ['add']); // EXCL add, never replace
    assert.equal(res.errors[0]?.errno, 17);
    assert.equal(kernel.routes.get(ModelKernel.key(254, '10.9.0.0/24', 0))?.protocol, 12);
  });

  test('drift is invisible to a delta and repaired by a resync: changed routes replaced, strays deleted, missing ones added', async () => {
    const kernel = new ModelKernel();
    const rec = new RouteReconciler({ kernel, protocol: PROTO });
    rec.setRoutes(desired);
    await rec.apply();
    kernel.routes.get(ModelKernel.key(254, '10.1.0.0/26', 0))!.gateway = '192.168.0.99';
    kernel.routes.get(ModelKernel.key(1000, '10.1.5.0/24', 7))!.mtu = 9000;
    kernel.routes.delete(ModelKernel.key(254, '10.1.1.0/24', 0)); // deleted behind our back
    kernel.add({ family: 4, dst: '10.1.9.0/24', table: 254, protocol: PROTO, scope: 0, type: 'blackhole', onlink: false });
    const dumps = kernel.dumps;
    assert.equal((await rec.apply()).ops, 0, 'no change declared: nothing sent, nothing dumped');
    assert.equal(kernel.dumps, dumps);
    rec.requestResync();
    const res = await rec.apply();
    assert.equal(res.resynced, true);
    assert.deepStrictEqual([res.deleted, res.replaced, res.added], [1, 2, 1]);
    assert.ok(kernel.routes.has(ModelKernel.key(254, '10.1.1.0/24', 0)), 'the deleted route is back');
    assert.equal((await rec.apply()).ops, 0);
  });

  test('deltas: one route added, replaced, deleted sends one operation each, and no dump', async () => {
    const kernel = new ModelKernel();
    const rec = new RouteReconciler({ kernel, protocol: PROTO });
    rec.setRoutes(desired);
    await rec.apply();
    const base = kernel.opsSeen.length;
    const via = (gw: string) => rec.normalise({ dst: '10.7.0.0/24', gateway: gw, device: 'eth0' }).shape;
    rec.setRoute('10.7.0.0/24', via('192.168.0.2'));
    rec.setRoute('10.7.0.0/24', via('192.168.0.3')); // coalesced: only the latest goes
    let r = await rec.apply();
    assert.deepStrictEqual([r.ops, r.added, r.resynced], [1, 1, false]);
    assert.equal(kernel.routes.get(ModelKernel.key(254, '10.7.0.0/24', 0))?.gateway, '192.168.0.3');
    rec.setRoute('10.7.0.0/24', via('192.168.0.4'));
    r = await rec.apply();
    assert.deepStrictEqual([r.ops, r.replaced], [1, 1]);
    rec.setRoute('10.7.0.0/24', via('192.168.0.4')); // the same shape: nothing to do
    assert.equal((await rec.apply()).ops, 0);
    rec.remove('10.7.0.0/24');
    r = await rec.apply();
    assert.deepStrictEqual([r.ops, r.deleted], [1, 1]);
    assert.ok(!kernel.routes.has(ModelKernel.key(254, '10.7.0.0/24', 0)));
    assert.deepStrictEqual(kernel.opsSeen.slice(base).map((o) => o.op), ['add', 'replace', 'delete']);
    assert.equal(kernel.dumps, 1, 'only the first apply dumped');
    // A route added and withdrawn before an apply never reaches the kernel.
    rec.setRoute('10.8.0.0/24', via('192.168.0.2'));
    rec.remove('10.8.0.0/24');
    assert.equal((await rec.apply()).ops, 0);
  });

  test('adoption after a restart: a new instance with the same routes sends nothing; with one changed, that one', async () => {
    const kernel = new ModelKernel();
    const first = new RouteReconciler({ kernel, protocol: PROTO });
    first.setRoutes(desired);
    await first.apply();
    const restarted = new RouteReconciler({ kernel, protocol: PROTO });
    restarted.setRoutes([...desired.slice(1), { dst: '10.1.0.0/26', gateway: '192.168.0.7', device: 'eth0' }]);
    const r = await restarted.apply();
    assert.deepStrictEqual([r.ops, r.replaced, r.added, r.deleted], [1, 1, 0, 0]);
  });

  test('sources: resolved when sent, shared by every route; an unresolvable one is reported and its route removed', async () => {
    const kernel = new ModelKernel();
    const shapes = { ok: undefined as unknown, bad: false };
    let resolves = 0;
    const src = { routeSource: true as const };
    const rec = new RouteReconciler({
      kernel, protocol: PROTO,
      resolve: () => {
        resolves++;
        return shapes.bad ? 'next hop 192.0.2.9 is not reachable through eth0' : (shapes.ok as never);
      },
    });
    shapes.ok = rec.normalise({ dst: '0.0.0.0/0', gateway: '192.168.0.2', device: 'eth0', onlink: true }).shape;
    rec.setRoutes([]);
    for (let i = 0; i < 100; i++) rec.setSource(`10.9.${i}.0/24`, src);
    const r = await rec.apply();
    assert.equal(r.added, 100);
    assert.equal(kernel.routes.get(ModelKernel.key(254, '10.9.7.0/24', 0))?.gateway, '192.168.0.2');
    assert.equal(rec.routesProgrammed, 100);
    shapes.bad = true;
    const other = { routeSource: true as const };
    rec.setSource('10.9.7.0/24', other);
    const bad = await rec.apply();
    assert.deepStrictEqual(bad.errors.map((e) => [e.dst, e.op, e.message]), [['10.9.7.0/24', 'invalid', 'next hop 192.0.2.9 is not reachable through eth0']]);
    assert.equal(bad.deleted, 1, 'the route it had goes');
    assert.ok(resolves > 0);
  });

  test('hold: undesired routes stay until the hold is released', async () => {
    const kernel = new ModelKernel();
    const rec = new RouteReconciler({ kernel, protocol: PROTO });
    rec.setRoutes(desired);
    await rec.apply();
    const restarted = new RouteReconciler({ kernel, protocol: PROTO });
    restarted.hold = true;
    restarted.setRoutes(desired.slice(0, 2));
    assert.equal((await restarted.apply()).ops, 0, 'nothing deleted while holding');
    restarted.setRoute('10.7.0.0/24', restarted.normalise({ dst: '10.7.0.0/24', device: 'eth0' }).shape);
    assert.equal((await restarted.apply()).added, 1, 'adds go ahead');
    restarted.hold = false;
    const r = await restarted.apply();
    assert.equal(r.deleted, desired.length - 2);
    assert.equal(kernel.routes.size, 3);
  });

  test('a failing route fails alone, is reported, and is retried after the resync its failure causes', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const kernel = new ModelKernel();
      kernel.fail.set('10.1.2.0/24', 101);
      const rec = new RouteReconciler({ kernel, protocol: PROTO, errorResyncMs: 1000 });
      const invalid = rec.setRoutes([...desired, { dst: '10.1.7.1/24', device: 'eth0' }, { dst: '10.1.0.0/26', device: 'eth9' }]);
      assert.deepStrictEqual(invalid.map((e) => e.dst), ['10.1.7.1/24', '10.1.0.0/26']);
      assert.match(invalid[1]!.message, /duplicate/);
      const res = await rec.apply();
      assert.equal(res.added, desired.length - 1);
      assert.deepStrictEqual(res.errors.map((e) => [e.dst, e.op, e.errno]), [
        ['10.1.7.1/24', 'invalid', 0], ['10.1.0.0/26', 'invalid', 0], ['10.1.2.0/24', 'add', 101],
      ]);
      assert.equal(rec.lastErrors.length, 3);
      assert.equal(rec.routesProgrammed, desired.length - 1);
      assert.equal((await rec.apply()).ops, 0, 'not hammered before the resync');
      kernel.fail.clear();
      const dumps = kernel.dumps;
      mock.timers.tick(1000); // the resync after the error runs apply() by itself
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      assert.equal(kernel.dumps, dumps + 1);
      assert.ok(kernel.routes.has(ModelKernel.key(254, '10.1.2.0/24', 0)), 'retried');
      assert.equal(rec.lastErrors.length, 2); // only the invalid ones remain
      assert.equal(rec.stats.opErrors, 1);
    } finally {
      mock.timers.reset();
    }
  });

  test('a big set goes in chunks, two in flight', async () => {
    const kernel = new ModelKernel();
    let inFlight = 0;
    let most = 0;
    const apply = kernel.apply.bind(kernel);
    kernel.apply = async (ops) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      return apply(ops);
    };
    const rec = new RouteReconciler({ kernel, protocol: PROTO, chunk: 100 });
    const shape = rec.normalise({ dst: '0.0.0.0/0', device: 'eth0' }).shape;
    rec.setRoutes([]);
    for (let i = 0; i < 1000; i++) rec.setRoute(`10.${i >> 8}.${i & 255}.0/24`, shape);
    const r = await rec.apply();
    assert.equal(r.added, 1000);
    assert.equal(kernel.applyCalls, 10);
    assert.equal(most, 2);
  });

  test('concurrent apply() calls: one in flight, one pending shared by the rest', async () => {
    const kernel = new ModelKernel();
    let open!: () => void;
    kernel.gate = new Promise((r) => (open = r));
    const rec = new RouteReconciler({ kernel, protocol: PROTO });
    rec.setRoutes(desired);
    const a = rec.apply();
    const b = rec.apply();
    const c = rec.apply();
    assert.notEqual(a, b);
    assert.equal(b, c);
    await new Promise((r) => setImmediate(r));
    open();
    const [ra, rb, rc] = await Promise.all([a, b, c]);
    assert.equal(ra.added, desired.length);
    assert.equal(rb.ops, 0);
    assert.equal(rb, rc);
    assert.equal(rec.stats.applies, 2);
    assert.equal(kernel.applyCalls, 1);
  });

  test('a failed dump rejects apply() and is counted', async () => {
    const kernel = new ModelKernel();
    kernel.dump = async () => { throw new Error('netns gone'); };
    const rec = new RouteReconciler({ kernel, protocol: PROTO });
    await assert.rejects(rec.apply(), /netns gone/);
    assert.equal(rec.stats.applyFailures, 1);
  });

  test('start() applies at once and resyncs on every interval (±10 %); stop() ends it', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const kernel = new ModelKernel();
      const errors: unknown[] = [];
      const rec = new RouteReconciler({ kernel, protocol: PROTO, resyncIntervalMs: 1000, onError: (e) => errors.push(e) });
      rec.setRoutes(desired);
      rec.start();
      await new Promise((r) => setImmediate(r));
      assert.equal(rec.stats.applies, 1);
      kernel.routes.clear();
      mock.timers.tick(1100);
      await new Promise((r) => setImmediate(r));
      assert.equal(rec.stats.applies, 2);
      assert.equal(rec.stats.resyncs, 2);
      assert.equal(kernel.routes.size, desired.length, 'resync put the routes back');
      await rec.stop();
      mock.timers.tick(5000);
      await new Promise((r) => setImmediate(r));
      assert.equal(rec.stats.applies, 2);
      assert.deepStrictEqual(errors, []);
    } finally {
      mock.timers.reset();
    }
  });
});

describe('route normalisation', () => {
  const kernelRoute = (r: Partial<Route>): Route => ({ family: 4, dst: '10.1.0.0/24', table: 254, protocol: PROTO, scope: 0, type: 'unicast', onlink: false, ...r });

  test('defaults: table main, IPv4 metric 0, IPv6 metric 1024, link scope for device routes', () => {
    const dev = normaliseDesiredRoute({ dst: '10.1.0.0/24', device: 'eth0' });
    assert.deepStrictEqual([dev.table, dev.metric, dev.scope, dev.key], [254, 0, 253, '10.1.0.0/24'], 'main table, default metric: the prefix is the key');
    assert.equal(normaliseDesiredRoute({ dst: '10.1.0.0/24', device: 'eth0', table: 7, metric: 3 }).key, '7 10.1.0.0/24 3');
    const v6 = normaliseDesiredRoute({ dst: '2001:DB8:0::/64', type: 'blackhole' });
    assert.deepStrictEqual([v6.dst, v6.metric], ['2001:db8::/64', 1024]);
  });

  test('ECMP next hops compare in any order; an unset device matches whatever the kernel chose', () => {
    const want = normaliseDesiredRoute({ dst: '10.1.0.0/24', nexthops: [{ gateway: '10.0.0.2' }, { gateway: '10.0.0.1', device: 'eth1' }] });
    const got = kernelRoute({ nexthops: [
      { gateway: '10.0.0.1', dev: 'eth1', weight: 1, onlink: false },
      { gateway: '10.0.0.2', dev: 'eth0', weight: 1, onlink: false },
    ] });
    assert.ok(sameRoute(want, got));
    assert.ok(!sameRoute(want, { ...got, nexthops: [got.nexthops![0]!, { ...got.nexthops![1]!, weight: 2 }] }));
    assert.ok(!sameRoute(want, kernelRoute({ gateway: '10.0.0.1', dev: 'eth1' })));
  });

  test('type, MTU, onlink and gateway differences are drift', () => {
    const want = normaliseDesiredRoute({ dst: '10.1.0.0/24', gateway: '172.16.0.1', device: 'vxlan.calico', onlink: true });
    const got = kernelRoute({ gateway: '172.16.0.1', dev: 'vxlan.calico', onlink: true });
    assert.ok(sameRoute(want, got));
    assert.ok(!sameRoute(want, { ...got, onlink: false }));
    assert.ok(!sameRoute(want, { ...got, mtu: 1400 }));
    assert.ok(!sameRoute(want, { ...got, gateway: '172.16.0.2' }));
    assert.ok(!sameRoute(want, { ...got, type: 'blackhole' }));
  });

  test('realms: per route or per next hop, part of the comparison, IPv4 only', () => {
    const one = normaliseDesiredRoute({ dst: '10.1.0.0/24', gateway: '10.0.0.1', device: 'eth0', onlink: true, realm: 5 });
    const got = kernelRoute({ gateway: '10.0.0.1', dev: 'eth0', onlink: true, realm: 5 });
    assert.ok(sameRoute(one, got));
    assert.ok(!sameRoute(one, { ...got, realm: 6 }));
    assert.ok(!sameRoute(one, { ...got, realm: undefined }));
    assert.ok(!sameRoute(one, { ...got, realmFrom: 1 }));
    // A single next hop collapses to a plain route and keeps its realm.
    assert.equal(normaliseDesiredRoute({ dst: '10.1.0.0/24', nexthops: [{ gateway: '10.0.0.1', realm: 9 }] }).realm, 9);
    const ecmp = normaliseDesiredRoute({ dst: '10.1.0.0/24', nexthops: [
      { gateway: '10.0.0.1', device: 'eth0', onlink: true, realm: 2 },
      { gateway: '10.0.0.1', device: 'eth0', onlink: true, realm: 1 },
    ] });
    const kernel = kernelRoute({ nexthops: [
      { gateway: '10.0.0.1', dev: 'eth0', weight: 1, onlink: true, realm: 1 },
      { gateway: '10.0.0.1', dev: 'eth0', weight: 1, onlink: true, realm: 2 },
    ] });
    assert.ok(sameRoute(ecmp, kernel), 'same gateway twice: the realm tells the next hops apart');
    assert.ok(!sameRoute(ecmp, { ...kernel, nexthops: kernel.nexthops!.map((h) => ({ ...h, realm: 3 })) }));
    assert.equal(routeDiff(new Map([[ecmp.key, ecmp]]), [], PROTO).ops[0]!.route.nexthops!.map((h) => h.realm).join(), '1,2');
    assert.throws(() => normaliseDesiredRoute({ dst: '2001:db8::/64', gateway: '2001:db8::1', realm: 1 }), /IPv4 only/);
    assert.throws(() => normaliseDesiredRoute({ dst: '10.1.0.0/24', gateway: '10.0.0.1', realm: 65536 }), /realm/);
    assert.throws(() => normaliseDesiredRoute({ dst: '10.1.0.0/24', realm: 1, nexthops: [{ gateway: '10.0.0.1' }, { gateway: '10.0.0.2' }] }), /per next hop/);
  });

  test('routeDiff ignores routes of other protocols and orders deletes before adds', () => {
    const d = new Map([normaliseDesiredRoute({ dst: '10.2.0.0/24', type: 'blackhole' })].map((n) => [n.key, n]));
    const diff = routeDiff(d, [
      kernelRoute({ dst: '10.3.0.0/24', type: 'blackhole' }),
      kernelRoute({ dst: '10.2.0.0/24', protocol: 4, type: 'blackhole' }),
    ], PROTO);
    assert.deepStrictEqual(diff.ops.map((o) => [o.op, o.route.dst]), [['delete', '10.3.0.0/24'], ['add', '10.2.0.0/24']]);
  });

  test('invalid routes are refused with the field named', () => {
    for (const [r, re] of [
      [{ dst: '10.1.0.1/24', device: 'eth0' }, /host bits/],
      [{ dst: '10.1.0.0/24' }, /needs a gateway/],
      [{ dst: '10.1.0.0/24', type: 'blackhole', gateway: '10.0.0.1' }, /no gateway/],
      [{ dst: '10.1.0.0/24', gateway: '2001:db8::1' }, /gateway must be an IPv4/],
      [{ dst: '10.1.0.0/24', device: 'eth0', onlink: true }, /onlink needs a gateway/],
      [{ dst: '10.1.0.0/24', device: 'eth0', mtu: 10 }, /mtu/],
    ] as const) {
      assert.throws(() => normaliseDesiredRoute(r as never), re);
    }
  });
});
