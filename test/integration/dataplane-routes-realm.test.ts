// Route realms (RTA_FLOW) through the addon: per route and per ECMP next hop, read
// back by routeDump and by iproute2, and part of what the reconciler compares.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RTPROT_TABBY } from '../../src/dataplane/routes/route-protocol.js';
import { routeApply, routeDump } from '../../src/native/routes.js';
import { RouteReconciler } from '../../src/dataplane/routes/route-reconciler.js';
import { TestNetns } from './netlink-netns.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ root: true, tools: ['ip'] });

describe('route realms', NEEDS, () => {
  let ns: TestNetns;

  before(() => {
    ns = new TestNetns('tbt-realm');
    try {
      ns.ip('link', 'set', 'lo', 'up');
      ns.veth('v0', 'v0p', '10.0.0.1/24');
    } catch (err) {
      ns.destroy();
      throw err;
    }
  });

  after(() => ns?.destroy());

  test('routeApply writes them, routeDump and ip route read them back', async () => {
    const out = await routeApply([
      { op: 'add', route: { dst: '10.70.0.0/24', gateway: '10.0.0.2', dev: 'v0', onlink: true, realm: 17 } },
      { op: 'add', route: { dst: '10.70.1.0/24', nexthops: [
        { gateway: '10.0.0.2', dev: 'v0', onlink: true, realm: 3 },
        { gateway: '10.0.0.3', dev: 'v0', onlink: true, realm: 65535 },
      ] } },
    ], { netns: ns.name, protocol: RTPROT_TABBY });
    assert.deepStrictEqual(out.results, [{ ok: true }, { ok: true }]);
    const routes = await routeDump({ netns: ns.name, protocol: RTPROT_TABBY });
    const single = routes.find((r) => r.dst === '10.70.0.0/24');
    const multi = routes.find((r) => r.dst === '10.70.1.0/24');
    assert.equal(single?.realm, 17);
    assert.equal(single?.realmFrom, undefined);
    assert.deepStrictEqual(multi?.nexthops?.map((h) => [h.gateway, h.realm]), [['10.0.0.2', 3], ['10.0.0.3', 65535]]);
    assert.match(ns.ip('route', 'show', '10.70.0.0/24'), /realm 17/);
    const text = ns.ip('route', 'show', '10.70.1.0/24');
    assert.match(text, /via 10\.0\.0\.2 realm 3 dev v0 weight 1 onlink/);
    assert.match(text, /via 10\.0\.0\.3 realm 65535 dev v0 weight 1 onlink/);
  });

  test('the reconciler converges realms and repairs one changed by hand', async () => {
    const rec = new RouteReconciler({ netns: ns.name });
    rec.setRoutes([
      { dst: '10.70.0.0/24', gateway: '10.0.0.2', device: 'v0', onlink: true, realm: 17 },
      { dst: '10.70.1.0/24', nexthops: [
        { gateway: '10.0.0.3', device: 'v0', onlink: true, realm: 65535 },
        { gateway: '10.0.0.2', device: 'v0', onlink: true, realm: 3 },
      ] },
    ]);
    assert.equal((await rec.apply()).ops, 0, 'adopted as written by routeApply');
    ns.ip('route', 'replace', '10.70.0.0/24', 'via', '10.0.0.2', 'dev', 'v0', 'onlink', 'realm', '18', 'proto', String(RTPROT_TABBY));
    assert.equal((await rec.apply()).ops, 0, 'a change behind our back waits for a resync');
    rec.requestResync();
    const fix = await rec.apply();
    assert.equal(fix.replaced, 1);
    assert.match(ns.ip('route', 'show', '10.70.0.0/24'), /realm 17/);
    assert.equal((await rec.apply()).ops, 0);
  });
});
