// The route reconciler against a real namespace: converge from empty, adopt its own
// routes after a restart without sending anything, repair routes deleted or changed
// by hand on resync, never touch routes of other protocols, and isolate bad routes.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { RTPROT_TABBY } from '../../src/dataplane/routes/route-protocol.js';
import { type Route, routeDump } from '../../src/native/routes.js';
import type { DesiredRoute } from '../../src/dataplane/routes/desired-route.js';
import { RouteReconciler } from '../../src/dataplane/routes/route-reconciler.js';
import { TestNetns, waitFor } from './netlink-netns.js';
import { routingNetns } from '../helpers/netns.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ root: true, tools: ['ip'] });

const hosts: DesiredRoute[] = Array.from({ length: 500 }, (_, i) => ({
  dst: `10.66.${i >> 8}.${i & 255}/32`, gateway: '10.0.0.2', device: 'v0',
}));

const desired: DesiredRoute[] = [
  { dst: '10.65.0.0/26', gateway: '10.0.0.2', device: 'v0' },
  { dst: '10.65.0.64/26', gateway: '172.31.0.5', device: 'v1', onlink: true },
  { dst: '10.65.1.0/24', type: 'blackhole' },
  { dst: '10.65.2.0/24', nexthops: [{ gateway: '10.0.1.2', device: 'v1' }, { gateway: '10.0.0.2', device: 'v0' }] },
  { dst: '10.65.3.0/24', gateway: '10.0.0.3', mtu: 1450 },
  { dst: '10.65.4.0/24', device: 'v0' },
  { dst: '10.65.5.0/24', device: 'v1', table: 1000, metric: 5 },
  { dst: '2001:db8:65::/64', type: 'blackhole' },
  { dst: '2001:db8:66::/64', gateway: '2001:db8:a::2' },
  { dst: '2001:db8:67::/64', nexthops: [{ gateway: '2001:db8:a::2', device: 'v0' }, { gateway: '2001:db8:b::2', device: 'v1', weight: 2 }] },
  ...hosts,
];

describe('RouteReconciler', NEEDS, () => {
  let ns: TestNetns;
  const ours = async (): Promise<Route[]> => routeDump({ netns: ns.name, protocol: RTPROT_TABBY });
  const find = async (dst: string): Promise<Route | undefined> => (await ours()).find((r) => r.dst === dst);

  before(() => {
    ns = routingNetns('tbt-rrec', (n) => {
      // Other owners: one on a prefix Tabby also wants (another metric), one on a prefix of its own.
      n.ip('route', 'add', '10.65.0.0/26', 'via', '10.0.0.9', 'metric', '100', 'proto', 'static');
      n.ip('route', 'add', '10.65.9.0/24', 'via', '10.0.0.9', 'proto', 'bird');
    });
  });

  after(() => ns?.destroy());

  function foreignIntact(): void {
    assert.match(ns.ip('route', 'show', '10.65.0.0/26', 'proto', 'static'), /via 10\.0\.0\.9 dev v0 metric 100/);
    assert.match(ns.ip('route', 'show', '10.65.9.0/24'), /via 10\.0\.0\.9 dev v0 proto bird/);
  }

  test('converges from empty, then a second apply sends nothing', async () => {
    const rec = new RouteReconciler({ netns: ns.name });
    assert.deepStrictEqual(rec.setRoutes(desired), []);
    const first = await rec.apply();
    assert.deepStrictEqual(first.errors, []);
    assert.equal(first.added, desired.length);
    assert.equal(rec.routesProgrammed, desired.length);
    assert.equal((await ours()).length, desired.length);
    assert.equal((await find('10.65.3.0/24'))?.mtu, 1450);
    assert.equal((await find('10.65.4.0/24'))?.scope, 253);

    const second = await rec.apply();
    assert.equal(second.ops, 0, 'normalised comparison: nothing to redo');
    assert.equal(rec.stats.routesProgrammed, desired.length);
    assert.equal(rec.stats.applies, 2);
    assert.equal(rec.stats.opsSent, desired.length);
    foreignIntact();
  });

  test('a new instance adopts the routes: zero operations after a restart', async () => {
    const restarted = new RouteReconciler({ netns: ns.name });
    restarted.setRoutes([...desired].reverse());
    const res = await restarted.apply();
    assert.equal(res.ops, 0);
    assert.equal(restarted.routesProgrammed, desired.length);
  });

  test('resync repairs routes deleted or changed by hand', async () => {
    const rec = new RouteReconciler({ netns: ns.name, resyncIntervalMs: 50 });
    rec.setRoutes(desired);
    rec.start();
    try {
      // Drift after the first (immediate) run, so only the periodic resync can repair it.
      assert.ok(await waitFor(() => rec.stats.applies >= 1 && rec.stats.lastApplyMs > 0));
      const applies = rec.stats.applies;
      ns.ip('route', 'del', '10.65.0.0/26', 'proto', String(RTPROT_TABBY));
      ns.ip('route', 'change', '10.65.0.64/26', 'via', '10.0.0.7', 'dev', 'v0', 'proto', String(RTPROT_TABBY));
      ns.ip('-6', 'route', 'del', '2001:db8:67::/64', 'proto', String(RTPROT_TABBY));
      ns.ip('route', 'add', '10.65.7.0/24', 'via', '10.0.0.2', 'proto', String(RTPROT_TABBY)); // stray of ours
      const repaired = await waitFor(async () => {
        const byDst = new Map((await ours()).map((r) => [r.dst, r]));
        const onlink = byDst.get('10.65.0.64/26');
        return byDst.has('10.65.0.0/26') && byDst.has('2001:db8:67::/64') && !byDst.has('10.65.7.0/24') &&
          onlink?.gateway === '172.31.0.5' && onlink.dev === 'v1' && onlink.onlink;
      });
      assert.ok(repaired, 'resync did not repair the drift');
      assert.ok(rec.stats.applies > applies);
    } finally {
      await rec.stop();
    }
    assert.equal((await rec.apply()).ops, 0);
    foreignIntact();
  });

  test('bad routes fail alone, are reported, and are retried', async () => {
    const rec = new RouteReconciler({ netns: ns.name });
    const invalid = rec.setRoutes([
      ...desired,
      { dst: '10.65.20.0/24', gateway: '10.99.0.1' }, // unreachable gateway
      { dst: '10.65.9.0/24', gateway: '10.0.0.2' }, // BIRD's prefix and metric: EEXIST, not a takeover
      { dst: '10.65.21.1/24', gateway: '10.0.0.2' }, // host bits: invalid
    ]);
    assert.deepStrictEqual(invalid.map((e) => [e.dst, e.op]), [['10.65.21.1/24', 'invalid']]);
    const res = await rec.apply();
    assert.equal(res.ops, 2);
    const errs = new Map(res.errors.map((e) => [e.dst, e]));
    assert.equal(errs.get('10.65.20.0/24')?.errno, constants.errno.ENETUNREACH);
    assert.equal(errs.get('10.65.9.0/24')?.errno, constants.errno.EEXIST);
    assert.equal(errs.get('10.65.21.1/24')?.op, 'invalid');
    assert.equal(rec.lastErrors.length, 3);
    assert.equal(rec.routesProgrammed, desired.length);
    foreignIntact();

    assert.equal((await rec.apply()).ops, 0, 'failed routes wait for the resync their failure causes');
    rec.requestResync();
    const again = await rec.apply();
    assert.equal(again.ops, 2, 'failed routes are retried after a resync');
    assert.equal(rec.stats.opErrors, 4);
  });

  test('shrinking the desired set deletes only Tabby routes', async () => {
    const rec = new RouteReconciler({ netns: ns.name });
    rec.setRoutes(desired.slice(0, 3));
    const res = await rec.apply();
    assert.equal(res.deleted, desired.length - 3);
    assert.deepStrictEqual(res.errors, []);
    assert.equal((await ours()).length, 3);
    rec.setRoutes([]);
    await rec.apply();
    assert.equal((await ours()).length, 0);
    foreignIntact();
  });
});
