// Speakers connected in memory exchange routes: eBGP and iBGP rules, IPv4 and IPv6 over
// one session, withdrawals, and route reflection between three speakers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryNet, table, until } from './helpers.js';

test('eBGP: IPv4 and IPv6 routes cross one session both ways, AS prepended, next hop self, withdrawals', async () => {
  const net = new MemoryNet();
  const a = net.speaker('192.0.2.1');
  const b = net.speaker('192.0.2.2');
  a.speaker.setPeers([{ id: 'B', address: '192.0.2.2', remoteAsn: 65002, localAddress6: '2001:db8::1' }]);
  b.speaker.setPeers([{ id: 'A', address: '192.0.2.1', remoteAsn: 65001, passive: true, localAddress6: '2001:db8::2' }]);
  a.speaker.setLocalRoutes([{ prefix: '10.1.0.0/24', communities: [0xfde90001] }, { prefix: '2001:db8:1::/64', med: 5 }]);
  b.speaker.setLocalRoutes([{ prefix: '10.2.0.0/24' }, { prefix: '2001:DB8:2:0::/64' }]);
  await a.speaker.start();
  await b.speaker.start();
  await until(net, () => b.speaker.bestPaths().length === 2 && a.speaker.bestPaths().length === 2);

  assert.deepEqual(table(b.speaker), ['10.1.0.0/24 192.0.2.1 A', '2001:db8:1::/64 2001:db8::1 A']);
  assert.deepEqual(table(a.speaker), ['10.2.0.0/24 192.0.2.2 B', '2001:db8:2::/64 2001:db8::2 B']);
  const v4 = b.speaker.bestPaths().find((x) => x.prefix === '10.1.0.0/24')!;
  assert.deepEqual(v4.attributes?.asPath, [{ type: 2, asns: [65001] }]);
  assert.deepEqual(v4.attributes?.communities, [0xfde90001]);
  assert.equal(v4.attributes?.localPref, undefined, 'no LOCAL_PREF over eBGP');
  assert.equal(b.speaker.bestPaths().find((x) => x.family === 'ipv6')!.attributes?.med, 5, 'our own MED goes to eBGP');
  // The learned view excludes our own routes.
  assert.ok(!b.speaker.bestPaths().some((x) => x.prefix === '10.2.0.0/24'));
  assert.ok(b.changes.some((c) => c.prefix === '10.1.0.0/24' && c.peerId === 'A'));

  const [sa] = a.speaker.status();
  assert.equal(sa!.state, 'Established');
  assert.equal(sa!.info, 'Established');
  assert.equal(sa!.type, 'ebgp');
  assert.equal(sa!.family, 'ipv4');
  assert.deepEqual(sa!.prefixes, { received: 2, accepted: 2, advertised: 2 });
  assert.deepEqual(sa!.negotiated?.families, ['ipv4', 'ipv6']);
  // One UPDATE per attribute set and family, and one End-of-RIB per family.
  assert.equal(sa!.counters.messagesOut.update, 4);

  b.changes.length = 0;
  a.speaker.setLocalRoutes([{ prefix: '2001:db8:1::/64', med: 5 }]);
  await net.advance(10);
  assert.deepEqual(b.changes, [{ family: 'ipv4', prefix: '10.1.0.0/24', nexthops: [], peerId: null }]);
  assert.deepEqual(table(b.speaker), ['2001:db8:1::/64 2001:db8::1 A']);

  // Origination of a prefix we also learn: ours wins, so it leaves the learned view.
  a.changes.length = 0;
  a.speaker.setLocalRoutes([{ prefix: '2001:db8:1::/64', med: 5 }, { prefix: '10.2.0.0/24' }]);
  assert.deepEqual(a.changes, [{ family: 'ipv4', prefix: '10.2.0.0/24', nexthops: [], peerId: null }]);
  await a.speaker.stop();
  await b.speaker.stop();
});

test('iBGP: LOCAL_PREF sent, no prepend, and an iBGP-learned route does not go to another iBGP peer', async () => {
  const net = new MemoryNet();
  const asn = 64512;
  const a = net.speaker('192.0.2.1', { localAsn: asn });
  const b = net.speaker('192.0.2.2', { localAsn: asn });
  const c = net.speaker('192.0.2.3', { localAsn: asn });
  a.speaker.setPeers([{ id: 'B', address: '192.0.2.2', remoteAsn: asn }]);
  b.speaker.setPeers([
    { id: 'A', address: '192.0.2.1', remoteAsn: asn, passive: true },
    { id: 'C', address: '192.0.2.3', remoteAsn: asn },
  ]);
  c.speaker.setPeers([{ id: 'B', address: '192.0.2.2', remoteAsn: asn, passive: true }]);
  a.speaker.setLocalRoutes([{ prefix: '10.1.0.0/26' }]);
  b.speaker.setLocalRoutes([]);
  c.speaker.setLocalRoutes([{ prefix: '10.3.0.0/26' }]);
  for (const n of [a, b, c]) await n.speaker.start();
  await until(net, () => b.speaker.bestPaths().length === 2);
  await net.advance(1000);
  const got = b.speaker.bestPaths().find((x) => x.prefix === '10.1.0.0/26')!;
  assert.equal(got.attributes?.localPref, 100);
  assert.deepEqual(got.attributes?.asPath, []);
  assert.deepEqual(table(c.speaker), [], 'no iBGP to iBGP without reflection');
  assert.deepEqual(table(a.speaker), []);
  for (const n of [a, b, c]) await n.speaker.stop();
});

test('route reflection: clients get each other\'s routes with ORIGINATOR_ID and CLUSTER_LIST, next hop unchanged', async () => {
  const net = new MemoryNet();
  const asn = 64512;
  const rr = net.speaker('192.0.2.10', { localAsn: asn, clusterId: '1.1.1.1' });
  const a = net.speaker('192.0.2.1', { localAsn: asn });
  const b = net.speaker('192.0.2.2', { localAsn: asn });
  rr.speaker.setPeers([
    { id: 'A', address: '192.0.2.1', remoteAsn: asn, rrClient: true, passive: true },
    { id: 'B', address: '192.0.2.2', remoteAsn: asn, rrClient: true, passive: true },
  ]);
  a.speaker.setPeers([{ id: 'RR', address: '192.0.2.10', remoteAsn: asn }]);
  b.speaker.setPeers([{ id: 'RR', address: '192.0.2.10', remoteAsn: asn }]);
  a.speaker.setLocalRoutes([{ prefix: '10.1.0.0/26' }]);
  b.speaker.setLocalRoutes([{ prefix: '10.2.0.0/26' }]);
  rr.speaker.setLocalRoutes([]);
  for (const n of [rr, a, b]) await n.speaker.start();
  await until(net, () => a.speaker.bestPaths().length === 1 && b.speaker.bestPaths().length === 1);

  const atB = b.speaker.bestPaths()[0]!;
  assert.equal(atB.prefix, '10.1.0.0/26');
  assert.deepEqual(atB.nexthops, ['192.0.2.1'], 'next hop of the originator, unchanged');
  assert.equal(atB.peerId, 'RR');
  assert.equal(atB.attributes?.originatorId, '10.0.0.1');
  assert.deepEqual(atB.attributes?.clusterList, ['1.1.1.1']);
  const atA = a.speaker.bestPaths()[0]!;
  assert.equal(atA.attributes?.originatorId, '10.0.0.2');
  assert.deepEqual(table(rr.speaker), ['10.1.0.0/26 192.0.2.1 A', '10.2.0.0/26 192.0.2.2 B']);

  // B stops being a client: its routes are no longer reflected to A... (both non-clients now
  // would be blocked, but A is still a client, so A's routes still reach B).
  rr.speaker.setPeers([
    { id: 'A', address: '192.0.2.1', remoteAsn: asn, rrClient: true, passive: true },
    { id: 'B', address: '192.0.2.2', remoteAsn: asn, rrClient: false, passive: true },
  ]);
  await net.advance(100);
  assert.deepEqual(table(b.speaker), ['10.1.0.0/26 192.0.2.1 RR']);
  assert.deepEqual(table(a.speaker), ['10.2.0.0/26 192.0.2.2 RR'], 'non-client routes still go to clients');
  rr.speaker.setPeers([
    { id: 'A', address: '192.0.2.1', remoteAsn: asn, rrClient: false, passive: true },
    { id: 'B', address: '192.0.2.2', remoteAsn: asn, rrClient: false, passive: true },
  ]);
  await net.advance(100);
  assert.deepEqual(table(a.speaker), [], 'non-client to non-client is not reflected');
  assert.deepEqual(table(b.speaker), []);
  assert.equal(rr.speaker.status().every((s) => s.state === 'Established' && s.counters.established === 1), true, 'no session restarted');
  for (const n of [rr, a, b]) await n.speaker.stop();
});

test('ECMP: the same prefix from two peers gives one best path with both next hops; losing one updates the set', async () => {
  const net = new MemoryNet();
  const asn = 64512;
  const a = net.speaker('192.0.2.1', { localAsn: asn });
  const b = net.speaker('192.0.2.2', { localAsn: asn });
  const c = net.speaker('192.0.2.3', { localAsn: asn });
  a.speaker.setPeers([
    { id: 'B', address: '192.0.2.2', remoteAsn: asn },
    { id: 'C', address: '192.0.2.3', remoteAsn: asn },
  ]);
  for (const n of [b, c]) {
    n.speaker.setPeers([{ id: 'A', address: '192.0.2.1', remoteAsn: asn, passive: true }]);
    n.speaker.setLocalRoutes([{ prefix: '10.9.0.0/24' }]);
  }
  a.speaker.setLocalRoutes([]);
  for (const n of [a, b, c]) await n.speaker.start();
  await until(net, () => a.speaker.bestPaths()[0]?.nexthops.length === 2);
  const [best] = a.speaker.bestPaths();
  assert.equal(best!.peerId, 'B', 'lowest router id first');
  assert.deepEqual(best!.nexthops, ['192.0.2.2', '192.0.2.3']);
  a.changes.length = 0;
  c.speaker.setLocalRoutes([]);
  await net.advance(10);
  assert.deepEqual(a.changes.map((x) => [x.prefix, x.peerId, x.nexthops.join()]), [['10.9.0.0/24', 'B', '192.0.2.2']]);
  for (const n of [a, b, c]) await n.speaker.stop();
});
