import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeUpdate, decodeUpdate, INITIAL_OPTIONS, type CodecOptions } from '../../../../src/bgp/wire/index.js';
import { Rib, type RibAttributes } from '../../../../src/bgp/rib/index.js';
import { LOCAL_AS, RR_SELF, SELF, announce, attrs, ebgpPeer, nextHops, peer, ribWith, seq, withdraw } from './helpers.js';

const PFX = '192.168.1.0/26';

test('ECMP: a second equal path adds a next hop; removing the best leaves the next', () => {
  const rib = ribWith([peer(2), peer(3), peer(4)]);
  let diff = announce(rib, 'peer2', [PFX], attrs('10.0.0.2'));
  assert.equal(diff.length, 1);
  assert.equal(diff[0]!.previous, null);
  assert.deepEqual(nextHops(diff[0]!.multipath), ['10.0.0.2']);

  diff = announce(rib, 'peer3', [PFX], attrs('10.0.0.3'));
  assert.equal(diff.length, 1);
  assert.equal(diff[0]!.best!.peer.id, 'peer2', 'best unchanged (lower router id)');
  assert.equal(diff[0]!.previous!.peer.id, 'peer2');
  assert.deepEqual(nextHops(diff[0]!.multipath), ['10.0.0.2', '10.0.0.3']);
  assert.equal(diff[0]!.multipath[0], diff[0]!.best, 'best first');

  // Not equal (lower LOCAL_PREF): no change at all.
  diff = announce(rib, 'peer4', [PFX], attrs('10.0.0.4', { localPref: 50 }));
  assert.deepEqual(diff, []);

  diff = withdraw(rib, 'peer2', [PFX]);
  assert.equal(diff.length, 1);
  assert.equal(diff[0]!.best!.peer.id, 'peer3');
  assert.equal(diff[0]!.previous!.peer.id, 'peer2');
  assert.deepEqual(nextHops(diff[0]!.multipath), ['10.0.0.3']);
});

test('ECMP: one next hop reached through two paths counts once, and yields no diff', () => {
  // Two route reflectors reflecting the same route: same next hop, different router ids.
  const rib = ribWith([peer(2), peer(3)]);
  const a = attrs('10.0.0.9', { originatorId: '10.0.0.9', clusterList: ['2.2.2.2'] });
  announce(rib, 'peer2', [PFX], a);
  assert.deepEqual(announce(rib, 'peer3', [PFX], { ...a, clusterList: ['3.3.3.3'] }), []);
  assert.deepEqual(nextHops(rib.multipath('ipv4', PFX)), ['10.0.0.9']);
  assert.equal(rib.candidates('ipv4', PFX).length, 2);
});

test('ECMP: eBGP and iBGP paths are not mixed; different MEDs from one AS are not equal', () => {
  const rib = ribWith([peer(2), ebgpPeer(3, { asn: 65010 }), ebgpPeer(4, { asn: 65010 }), ebgpPeer(5, { asn: 65010 })]);
  announce(rib, 'peer2', [PFX], attrs('10.0.0.2', { asPath: seq(65010) }));
  announce(rib, 'peer3', [PFX], attrs('10.0.0.3', { asPath: seq(65010) }));
  announce(rib, 'peer4', [PFX], attrs('10.0.0.4', { asPath: seq(65010) }));
  announce(rib, 'peer5', [PFX], attrs('10.0.0.5', { asPath: seq(65010), med: 5 }));
  assert.deepEqual(nextHops(rib.multipath('ipv4', PFX)), ['10.0.0.3', '10.0.0.4']);
});

test('withdrawing the only path yields best null', () => {
  const rib = ribWith([peer(2)]);
  announce(rib, 'peer2', [PFX], attrs('10.0.0.2'));
  const diff = withdraw(rib, 'peer2', [PFX]);
  assert.equal(diff.length, 1);
  assert.equal(diff[0]!.best, null);
  assert.equal(diff[0]!.previous!.peer.id, 'peer2');
  assert.deepEqual(diff[0]!.multipath, []);
  assert.equal(rib.best('ipv4', PFX), undefined);
  assert.equal(rib.prefixCount('ipv4'), 0);
  // Withdrawing what is not there changes nothing.
  assert.deepEqual(withdraw(rib, 'peer2', [PFX]), []);
});

test('identical re-announcement is silent; changed attributes are a change', () => {
  const rib = ribWith([peer(2)]);
  announce(rib, 'peer2', [PFX, '192.168.2.0/26'], attrs('10.0.0.2'));
  assert.deepEqual(announce(rib, 'peer2', [PFX], attrs('10.0.0.2')), []);
  const diff = announce(rib, 'peer2', [PFX], attrs('10.0.0.2', { med: 7 }));
  assert.equal(diff.length, 1);
  assert.equal(diff[0]!.best!.attributes.med, 7);
  assert.equal(diff[0]!.previous!.attributes.med, undefined);
});

test('paths from one UPDATE share one attributes object; equal attributes are interned', () => {
  const rib = ribWith([peer(2), peer(3)]);
  announce(rib, 'peer2', ['10.1.0.0/24', '10.2.0.0/24'], attrs('10.0.0.2', { communities: [1, 2] }));
  announce(rib, 'peer2', ['10.3.0.0/24'], attrs('10.0.0.2', { communities: [1, 2] }));
  const a = rib.best('ipv4', '10.1.0.0/24')!;
  const b = rib.best('ipv4', '10.2.0.0/24')!;
  const c = rib.best('ipv4', '10.3.0.0/24')!;
  assert.equal(a, b);
  assert.equal(a.attributes, c.attributes);
  assert.ok(Object.isFrozen(a.attributes));
  assert.equal(rib.attributeSets, 1);
  withdraw(rib, 'peer2', ['10.1.0.0/24', '10.2.0.0/24', '10.3.0.0/24']);
  assert.equal(rib.attributeSets, 0, 'released when nothing uses them');
});

test('the same prefix withdrawn and announced in one UPDATE is one change', () => {
  const rib = ribWith([peer(2)]);
  announce(rib, 'peer2', [PFX], attrs('10.0.0.2'));
  const diff = rib.update('peer2', { family: 'ipv4', withdrawn: [PFX], announced: [PFX], attributes: attrs('10.0.0.2', { med: 1 }) });
  assert.equal(diff.length, 1);
  assert.equal(diff[0]!.best!.attributes.med, 1);
});

test('applyUpdate takes a decoded UPDATE, IPv4 and MP_REACH IPv6 alike', () => {
  const rib = ribWith([peer(2)]);
  const opts: CodecOptions = { ...INITIAL_OPTIONS, fourOctetAs: true };
  const msg = encodeUpdate(
    {
      withdrawn: [],
      nlri: ['10.9.0.0/24'],
      attributes: { origin: 0, asPath: [], nextHop: '10.0.0.2', localPref: 100, mpReach: { family: 'ipv6', nextHop: 'fd00::2', linkLocalNextHop: 'fe80::2', nlri: ['fd10::/64'] } },
    },
    opts,
  );
  const diff = rib.applyUpdate('peer2', decodeUpdate(msg, opts));
  assert.deepEqual(
    diff.map((d) => [d.family, d.prefix, d.best!.attributes.nextHop]),
    [
      ['ipv4', '10.9.0.0/24', '10.0.0.2'],
      ['ipv6', 'fd10::/64', 'fd00::2'],
    ],
  );
  const v6 = rib.best('ipv6', 'fd10::/64')!.attributes;
  assert.equal(v6.linkLocalNextHop, 'fe80::2');
  assert.equal((v6 as { mpReach?: unknown }).mpReach, undefined, 'the NLRI arrays are not kept');
});

test('add-path: several paths from one peer, withdrawn by path id', () => {
  const rib = ribWith([peer(2)]);
  announce(rib, 'peer2', [PFX], attrs('10.0.0.7'), [1]);
  const diff = announce(rib, 'peer2', [PFX], attrs('10.0.0.8'), [2]);
  assert.equal(diff.length, 1);
  assert.deepEqual(nextHops(diff[0]!.multipath), ['10.0.0.7', '10.0.0.8']);
  assert.equal(rib.accepted('peer2', 'ipv4'), 2);
  assert.equal(rib.best('ipv4', PFX)!.pathId, 1);

  // Withdraw id 1 and announce id 3 in one UPDATE: one change for the prefix.
  const both = rib.update('peer2', { family: 'ipv4', withdrawn: [PFX], withdrawnPathIds: [1], announced: [PFX], announcedPathIds: [3], attributes: attrs('10.0.0.9') });
  assert.equal(both.length, 1);
  assert.deepEqual(nextHops(both[0]!.multipath), ['10.0.0.8', '10.0.0.9']);
  assert.equal(both[0]!.best!.pathId, 2);

  const gone = rib.removePeer('peer2');
  assert.equal(gone.length, 1, 'one change per prefix, not per path');
  assert.equal(gone[0]!.best, null);
});

test('graceful restart: stale paths keep forwarding, refreshed ones are kept, the rest swept', () => {
  const rib = ribWith([peer(2), peer(3)]);
  announce(rib, 'peer2', ['10.1.0.0/24', '10.2.0.0/24', '10.3.0.0/24'], attrs('10.0.0.2'));
  announce(rib, 'peer3', ['10.3.0.0/24'], attrs('10.0.0.3'));
  rib.markStale('peer2', ['ipv4']);
  assert.equal(rib.best('ipv4', '10.1.0.0/24')!.stale, true);
  assert.equal(rib.best('ipv4', '10.1.0.0/24')!.peer.id, 'peer2', 'still used');

  // The peer is back: same attributes again → fresh, no change; new attributes → a change.
  assert.deepEqual(announce(rib, 'peer2', ['10.1.0.0/24'], attrs('10.0.0.2')), []);
  assert.equal(rib.best('ipv4', '10.1.0.0/24')!.stale, false);
  const changed = announce(rib, 'peer2', ['10.2.0.0/24'], attrs('10.0.0.2', { med: 3 }));
  assert.equal(changed.length, 1);

  // End-of-RIB: 10.3.0.0/24 was not refreshed; it falls back to peer3.
  const swept = rib.sweepStale('peer2', 'ipv4');
  assert.deepEqual(
    swept.map((d) => [d.prefix, d.best?.peer.id ?? null]),
    [['10.3.0.0/24', 'peer3']],
  );
  assert.equal(rib.accepted('peer2', 'ipv4'), 2);
  assert.deepEqual(rib.sweepStale('peer2', 'ipv4'), []);
});

test('graceful restart: markStale only touches the given families', () => {
  const rib = ribWith([peer(2)]);
  announce(rib, 'peer2', ['10.1.0.0/24'], attrs('10.0.0.2'));
  announce(rib, 'peer2', ['fd10::/64'], { origin: 0, asPath: [], mpReach: { family: 'ipv6', nextHop: 'fd00::2', nlri: ['fd10::/64'] } }, undefined, 'ipv6');
  rib.markStale('peer2', ['ipv6']);
  assert.equal(rib.best('ipv4', '10.1.0.0/24')!.stale, false);
  assert.equal(rib.best('ipv6', 'fd10::/64')!.stale, true);
  assert.deepEqual(rib.sweepStale('peer2', 'ipv4'), []);
  assert.equal(rib.sweepStale('peer2', 'ipv6').length, 1);
});

test('removePeer withdraws everything the peer sent', () => {
  const rib = ribWith([peer(2), peer(3)]);
  announce(rib, 'peer2', ['10.1.0.0/24', '10.2.0.0/24'], attrs('10.0.0.2'));
  announce(rib, 'peer3', ['10.2.0.0/24'], attrs('10.0.0.3'));
  const diff = rib.removePeer('peer2');
  assert.deepEqual(
    diff.map((d) => [d.prefix, d.best?.peer.id ?? null]),
    [
      ['10.1.0.0/24', null],
      ['10.2.0.0/24', 'peer3'],
    ],
  );
  assert.equal(rib.peer('peer2'), undefined);
  assert.equal(rib.attributeSets, 1);
  assert.throws(() => announce(rib, 'peer2', [PFX], attrs('10.0.0.2')), RangeError);
});

test('AS path loop: our AS in the path is rejected, allowLocalAs tolerates that many', () => {
  const looped = attrs('10.0.0.5', { asPath: seq(65005, LOCAL_AS, 65009) });
  const twice = attrs('10.0.0.5', { asPath: seq(65005, LOCAL_AS, LOCAL_AS) });
  let rib = ribWith([ebgpPeer(5)]);
  assert.deepEqual(announce(rib, 'peer5', [PFX], looped), []);
  assert.equal(rib.received('peer5', 'ipv4'), 1);
  assert.equal(rib.accepted('peer5', 'ipv4'), 0);

  rib = ribWith([ebgpPeer(5, { allowLocalAs: 1 })]);
  assert.equal(announce(rib, 'peer5', [PFX], looped).length, 1);
  // Now looped twice: the announcement withdraws the accepted path.
  const diff = announce(rib, 'peer5', [PFX], twice);
  assert.equal(diff.length, 1);
  assert.equal(diff[0]!.best, null);
  assert.equal(rib.accepted('peer5', 'ipv4'), 0);
  assert.equal(rib.received('peer5', 'ipv4'), 1);
});

test('route reflection loops: our ORIGINATOR_ID or our cluster id in CLUSTER_LIST is rejected', () => {
  const rib = ribWith([peer(2, { rrClient: true })], RR_SELF);
  assert.deepEqual(announce(rib, 'peer2', ['10.1.0.0/24'], attrs('10.0.0.9', { originatorId: SELF.routerId })), []);
  assert.deepEqual(announce(rib, 'peer2', ['10.2.0.0/24'], attrs('10.0.0.9', { originatorId: '10.0.0.9', clusterList: ['5.5.5.5', RR_SELF.clusterId!] })), []);
  assert.equal(announce(rib, 'peer2', ['10.3.0.0/24'], attrs('10.0.0.9', { originatorId: '10.0.0.9', clusterList: ['5.5.5.5'] })).length, 1);
  assert.equal(rib.received('peer2', 'ipv4'), 3);
  assert.equal(rib.accepted('peer2', 'ipv4'), 1);
});

test('ORIGINATOR_ID and CLUSTER_LIST from an eBGP peer are dropped on import', () => {
  const rib = ribWith([ebgpPeer(5)]);
  announce(rib, 'peer5', [PFX], attrs('10.0.0.5', { asPath: seq(65005), originatorId: '1.2.3.4', clusterList: ['1.1.1.1'] }));
  const a = rib.best('ipv4', PFX)!.attributes;
  assert.equal(a.originatorId, undefined);
  assert.equal(a.clusterList, undefined);
});

test('eBGP peers are never route-reflector clients; eBGP paths get the configured LOCAL_PREF', () => {
  const rib = new Rib({ ...RR_SELF, defaultLocalPref: 120 });
  rib.setPeer(ebgpPeer(5, { rrClient: true }));
  rib.setPeer(ebgpPeer(6, { defaultLocalPref: 300 }));
  assert.equal(rib.peer('peer5')!.rrClient, false);
  assert.equal(rib.peer('peer5')!.defaultLocalPref, 120);
  assert.equal(rib.peer('peer6')!.defaultLocalPref, 300);
  assert.throws(() => rib.setPeer(peer(1, { id: 'local' })), RangeError);
});

test('import policy: reject, accept, modify (interned once for many prefixes)', () => {
  const rib = new Rib(SELF);
  const raised: RibAttributes = { origin: 0, asPath: [], nextHop: '10.0.0.2', localPref: 500 };
  const calls: string[] = [];
  rib.setPeer(peer(2), (prefix, a) => {
    calls.push(prefix);
    if (prefix.startsWith('10.66.')) return 'reject';
    if (prefix.startsWith('10.77.')) return raised;
    return 'accept';
  });
  const diff = announce(rib, 'peer2', ['10.66.0.0/24', '10.77.0.0/24', '10.77.1.0/24', '10.88.0.0/24'], attrs('10.0.0.2'));
  assert.deepEqual(
    diff.map((d) => d.prefix),
    ['10.77.0.0/24', '10.77.1.0/24', '10.88.0.0/24'],
  );
  assert.equal(calls.length, 4);
  assert.equal(rib.best('ipv4', '10.77.0.0/24')!.attributes.localPref, 500);
  assert.equal(rib.best('ipv4', '10.77.0.0/24'), rib.best('ipv4', '10.77.1.0/24'));
  assert.equal(rib.received('peer2', 'ipv4'), 4);
  assert.equal(rib.accepted('peer2', 'ipv4'), 3);
  withdraw(rib, 'peer2', ['10.66.0.0/24']);
  assert.equal(rib.received('peer2', 'ipv4'), 3);
});

test('setPeer with a new router id reselects', () => {
  const rib = ribWith([peer(2), peer(3)]);
  announce(rib, 'peer2', [PFX], attrs('10.0.0.2'));
  announce(rib, 'peer3', [PFX], attrs('10.0.0.2'));
  assert.equal(rib.best('ipv4', PFX)!.peer.id, 'peer2');
  const diff = rib.setPeer(peer(2, { routerId: '10.0.0.200' }));
  assert.equal(diff.length, 1);
  assert.equal(diff[0]!.best!.peer.id, 'peer3');
});

test('local routes: originate, prefer over learned, declarative setOriginated', () => {
  const rib = ribWith([peer(2)]);
  announce(rib, 'peer2', ['192.168.0.0/26'], attrs('10.0.0.2'));
  let diff = rib.setOriginated(
    'ipv4',
    new Map([
      ['192.168.0.0/26', {}],
      ['192.168.0.64/26', {}],
    ]),
  );
  assert.equal(diff.length, 2);
  const own = rib.best('ipv4', '192.168.0.0/26')!;
  assert.equal(own.peer.type, 'local');
  assert.equal(own.attributes.origin, 0);
  assert.deepEqual(own.attributes.asPath, []);
  // Same desired state again: nothing.
  assert.deepEqual(rib.setOriginated('ipv4', new Map([['192.168.0.0/26', {}], ['192.168.0.64/26', {}]])), []);
  diff = rib.setOriginated('ipv4', new Map([['192.168.0.64/26', {}]]));
  assert.deepEqual(
    diff.map((d) => [d.prefix, d.best?.peer.id]),
    [['192.168.0.0/26', 'peer2']],
  );
});
