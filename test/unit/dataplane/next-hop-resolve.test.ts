// Which kernel routes resolve a BGP next hop (RFC 4271 §9.1.2.1: the routing table
// decides resolvability). The rule follows calico-node's BIRD, `gateway recursive` over
// the kernel routes its `protocol kernel { learn; }` imports (confd bird.cfg.template):
// the longest match decides, a non-unicast match resolves nothing, the default route
// counts; Tabby's own routes never do.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResolvingTable } from '../../../src/dataplane/routes/next-hop-watch.js';
import { RTPROT_TABBY } from '../../../src/dataplane/routes/route-protocol.js';
import type { Route } from '../../../src/native/routes.js';

function route(dst: string, o: Partial<Route> = {}): Route {
  return { family: dst.includes(':') ? 6 : 4, dst, table: 254, protocol: 2, scope: 0, type: 'unicast', onlink: false, ...o };
}

test('a next hop resolves through the longest matching unicast route of the main table', () => {
  const t = new ResolvingTable([route('10.0.0.0/24', { scope: 253 }), route('10.0.1.0/24', { gateway: '10.0.0.1' }), route('fd00::/64')]);
  assert.equal(t.reachable('10.0.0.7'), true, 'connected');
  assert.equal(t.reachable('10.0.1.7'), true, 'through a gateway');
  assert.equal(t.reachable('10.0.2.7'), false, 'no route');
  assert.equal(t.reachable('fd00::7'), true);
  assert.equal(t.reachable('fd01::7'), false);
  assert.equal(t.reachable('fe80::1'), true, 'link-local: on-link (RFC 4291 §2.5.6)');
});

test('a blackhole or unreachable route that matches longer hides a shorter unicast one', () => {
  const t = new ResolvingTable([route('10.0.0.0/16'), route('10.0.5.0/24', { type: 'blackhole' }), route('10.0.6.0/24', { type: 'unreachable' })]);
  assert.equal(t.reachable('10.0.4.1'), true);
  assert.equal(t.reachable('10.0.5.1'), false);
  assert.equal(t.reachable('10.0.6.1'), false);
});

test('the default route resolves (as BIRD); Tabby\'s own routes and other tables never do', () => {
  assert.equal(new ResolvingTable([route('0.0.0.0/0', { gateway: '192.0.2.1' })]).reachable('10.9.9.9'), true);
  assert.equal(new ResolvingTable([route('10.9.0.0/16', { protocol: RTPROT_TABBY })]).reachable('10.9.9.9'), false);
  assert.equal(new ResolvingTable([route('10.9.0.0/16', { table: 100 })]).reachable('10.9.9.9'), false);
});
