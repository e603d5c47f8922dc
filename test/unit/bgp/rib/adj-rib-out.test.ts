import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeUpdate, encodeUpdate, routeChanges, type CodecOptions } from '../../../../src/bgp/wire/index.js';
import { AdjRibOut, announcement, withdrawal, type ExportFilter } from '../../../../src/bgp/rib/index.js';
import { LOCAL_AS, RR_SELF, SELF, announce, attrs, ebgpPeer, peer, ribWith, seq, withdraw } from './helpers.js';

const OPTS: CodecOptions = { fourOctetAs: true, addPath: { receive: new Set(), send: new Set() }, extendedMessage: false };

test('identical attributes are not sent twice, even from a different best path', () => {
  const rib = ribWith([peer(2), peer(3), ebgpPeer(7)]);
  const out = new AdjRibOut(ebgpPeer(7), SELF);
  let sent = out.apply(announce(rib, 'peer2', ['10.1.0.0/24'], attrs('10.0.0.2')));
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0]!.announced[0]!.prefixes, ['10.1.0.0/24']);
  assert.deepEqual(sent[0]!.announced[0]!.attributes.asPath, seq(LOCAL_AS));
  // Same change again: nothing.
  assert.deepEqual(out.apply(announce(rib, 'peer2', ['10.1.0.0/24'], attrs('10.0.0.2', { med: 1 }))), [], 'MED is stripped to eBGP, so no difference');
  // peer3 takes over (higher LOCAL_PREF); towards eBGP the attributes are the same.
  const diff = announce(rib, 'peer3', ['10.1.0.0/24'], attrs('10.0.0.3', { localPref: 200 }));
  assert.equal(diff.length, 1);
  sent = out.apply(diff);
  assert.deepEqual(sent, []);
  assert.equal(out.advertised('ipv4'), 1);
});

test('withdrawals only for prefixes that were advertised', () => {
  const rib = ribWith([peer(2), ebgpPeer(7)]);
  const filter: ExportFilter = (prefix) => prefix !== '10.2.0.0/24';
  const out = new AdjRibOut(ebgpPeer(7), SELF, filter);
  out.apply(announce(rib, 'peer2', ['10.1.0.0/24', '10.2.0.0/24'], attrs('10.0.0.2')));
  assert.equal(out.advertised('ipv4'), 1);
  const sent = out.apply(withdraw(rib, 'peer2', ['10.1.0.0/24', '10.2.0.0/24']));
  assert.deepEqual(sent, [{ family: 'ipv4', withdrawn: ['10.1.0.0/24'], announced: [] }]);
  assert.deepEqual(out.apply(withdraw(rib, 'peer2', ['10.1.0.0/24'])), []);
});

test('a best path that may not go to the peer withdraws what was sent', () => {
  const rib = ribWith([peer(2), ebgpPeer(7, { asn: 65007 })]);
  const out = new AdjRibOut(rib.peer('peer7')!, SELF);
  assert.equal(out.apply(announce(rib, 'peer2', ['10.1.0.0/24'], attrs('10.0.0.2', { asPath: seq(65007) }))).length, 1);
  // The eBGP peer's own path wins (eBGP over iBGP): never sent back to it.
  const diff = announce(rib, 'peer7', ['10.1.0.0/24'], attrs('10.0.0.7', { asPath: seq(65007) }));
  assert.deepEqual(out.apply(diff), [{ family: 'ipv4', withdrawn: ['10.1.0.0/24'], announced: [] }]);
});

test('initial dump is grouped by identical attributes', () => {
  const rib = ribWith([peer(2), peer(3)]);
  const a2 = Array.from({ length: 600 }, (_, i) => `10.2.${i >> 8}.${i & 255}/32`);
  const a3 = Array.from({ length: 400 }, (_, i) => `10.3.${i >> 8}.${i & 255}/32`);
  announce(rib, 'peer2', a2, attrs('10.0.0.2'));
  announce(rib, 'peer3', a3, attrs('10.0.0.3'));
  rib.setOriginated('ipv4', new Map([['192.168.0.0/26', {}]]));
  const out = new AdjRibOut(ebgpPeer(7), SELF);
  const dump = out.sync('ipv4', rib.bestPaths('ipv4'));
  // Towards eBGP every path gets next hop self and AS_PATH [our AS]: the learned paths
  // and the local route all collapse into one group.
  assert.equal(dump.withdrawn.length, 0);
  assert.equal(dump.announced.length, 1);
  assert.equal(dump.announced[0]!.prefixes.length, 1001);

  // Towards an iBGP client of a route reflector the next hops differ: three groups.
  const rr = new AdjRibOut(peer(9, { rrClient: true }), RR_SELF);
  const ribRr = ribWith([peer(2), peer(3)], RR_SELF);
  announce(ribRr, 'peer2', a2, attrs('10.0.0.2'));
  announce(ribRr, 'peer3', a3, attrs('10.0.0.3'));
  ribRr.setOriginated('ipv4', new Map([['192.168.0.0/26', {}]]));
  const groups = rr.sync('ipv4', ribRr.bestPaths('ipv4')).announced.map((g) => [g.attributes.nextHop, g.prefixes.length]);
  assert.deepEqual(groups, [
    ['10.0.0.2', 600],
    ['10.0.0.3', 400],
    ['10.0.0.1', 1],
  ]);
  // A second sync sends nothing; after a withdrawal it sends only the withdrawal.
  assert.deepEqual(rr.sync('ipv4', ribRr.bestPaths('ipv4')).announced, []);
  withdraw(ribRr, 'peer3', a3.slice(0, 10));
  const resync = rr.sync('ipv4', ribRr.bestPaths('ipv4'));
  assert.deepEqual(resync.withdrawn, a3.slice(0, 10));
  assert.deepEqual(resync.announced, []);
});

test('clear() forgets what was sent (session down), so the next sync is a full dump', () => {
  const rib = ribWith([peer(2)]);
  announce(rib, 'peer2', ['10.1.0.0/24'], attrs('10.0.0.2'));
  const out = new AdjRibOut(ebgpPeer(7), SELF);
  out.sync('ipv4', rib.bestPaths('ipv4'));
  out.clear();
  assert.equal(out.advertised('ipv4'), 0);
  assert.equal(out.sync('ipv4', rib.bestPaths('ipv4')).announced.length, 1);
});

test('a prefix twice in one batch is sent once, with its final state', () => {
  const rib = ribWith([peer(2)]);
  const out = new AdjRibOut(ebgpPeer(7), SELF);
  const batch = [...announce(rib, 'peer2', ['10.1.0.0/24'], attrs('10.0.0.2')), ...withdraw(rib, 'peer2', ['10.1.0.0/24'])];
  assert.deepEqual(out.apply(batch), []);
});

test('announcement() and withdrawal() build UPDATEs that encode and decode back', () => {
  const rib = ribWith([peer(2)]);
  announce(rib, 'peer2', ['10.1.0.0/24', '10.2.0.0/24'], attrs('10.0.0.2', { communities: [0x00010002] }));
  announce(rib, 'peer2', ['fd10::/64'], { origin: 0, asPath: [], mpReach: { family: 'ipv6', nextHop: 'fd00::2', nlri: ['fd10::/64'] } }, undefined, 'ipv6');
  const out = new AdjRibOut(ebgpPeer(7, { localAddress6: 'fd00::1', localLinkLocal6: 'fe80::1' }), SELF);
  for (const family of ['ipv4', 'ipv6'] as const) {
    const dump = out.sync(family, rib.bestPaths(family));
    const g = dump.announced[0]!;
    const decoded = decodeUpdate(encodeUpdate(announcement(family, g.attributes, g.prefixes), OPTS), OPTS);
    const [c] = routeChanges(decoded);
    assert.equal(c!.family, family);
    assert.deepEqual(c!.announced, g.prefixes);
    assert.equal(c!.nextHop, g.attributes.nextHop);
    assert.deepEqual(decoded.attributes.asPath, seq(LOCAL_AS));
    if (family === 'ipv6') assert.equal(c!.linkLocalNextHop, 'fe80::1');
    else assert.deepEqual(decoded.attributes.communities, [0x00010002]);
    const w = routeChanges(decodeUpdate(encodeUpdate(withdrawal(family, g.prefixes), OPTS), OPTS));
    assert.deepEqual(w[0]!.withdrawn, g.prefixes);
  }
});

test('setTarget then sync applies a changed session (next hop mode) to what was sent', () => {
  const rib = ribWith([ebgpPeer(5)]);
  announce(rib, 'peer5', ['10.1.0.0/24'], attrs('10.0.0.5', { asPath: seq(65005) }));
  const out = new AdjRibOut(ebgpPeer(7), SELF);
  out.sync('ipv4', rib.bestPaths('ipv4'));
  assert.equal(out.advertisedAttributes('ipv4', '10.1.0.0/24')!.nextHop, '10.0.0.1');
  out.setTarget(ebgpPeer(7, { nextHopMode: 'Keep' }));
  const resync = out.sync('ipv4', rib.bestPaths('ipv4'));
  assert.equal(resync.announced[0]!.attributes.nextHop, '10.0.0.5');
});

test('a best path that comes back after a detour is sent again correctly', () => {
  const rib = ribWith([peer(2), peer(3)], RR_SELF);
  const out = new AdjRibOut(peer(9, { rrClient: true }), RR_SELF);
  const nh = (o: ReturnType<AdjRibOut['apply']>) => o.flatMap((x) => x.announced.map((g) => g.attributes.nextHop));
  assert.deepEqual(nh(out.apply(announce(rib, 'peer2', ['10.1.0.0/24', '10.2.0.0/24'], attrs('10.0.0.2')))), ['10.0.0.2']);
  assert.deepEqual(nh(out.apply(announce(rib, 'peer3', ['10.1.0.0/24', '10.2.0.0/24'], attrs('10.0.0.3', { localPref: 200 })))), ['10.0.0.3']);
  assert.deepEqual(nh(out.apply(withdraw(rib, 'peer3', ['10.1.0.0/24', '10.2.0.0/24']))), ['10.0.0.2']);
  assert.equal(out.advertisedAttributes('ipv4', '10.1.0.0/24')!.nextHop, '10.0.0.2');
  assert.equal(out.advertisedAttributes('ipv4', '10.1.0.0/24'), out.advertisedAttributes('ipv4', '10.2.0.0/24'));
});
