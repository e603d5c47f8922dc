import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WellKnownCommunity, type PathAttributes } from '../../../../src/bgp/wire/index.js';
import { exportAttributes, exportBlock, type PathSource, type PeerDescriptor } from '../../../../src/bgp/rib/index.js';
import { CONFED_SEQ, LOCAL, LOCAL_AS, RR_SELF, SELF, SEQ, attrs, ebgpPeer, path, peer, seq } from './helpers.js';

const client2 = peer(2, { rrClient: true });
const client3 = peer(3, { rrClient: true });
const nonClient4 = peer(4);
const nonClient5 = peer(5);
const ext6 = ebgpPeer(6);
const ext7 = ebgpPeer(7);

function out(src: PathSource, a: PathAttributes, target: PeerDescriptor, self = SELF, family: 'ipv4' | 'ipv6' = 'ipv4') {
  return exportAttributes(path(src, a, 0, family), family, target, self);
}

const REFLECTION: [string, PathSource, PeerDescriptor, boolean][] = [
  ['client → client', client2, client3, true],
  ['client → non-client', client2, nonClient4, true],
  ['non-client → client', nonClient4, client2, true],
  ['non-client → non-client', nonClient4, nonClient5, false],
];

for (const [name, src, target, reflected] of REFLECTION) {
  test(`route reflection: ${name} ${reflected ? 'is reflected' : 'is not reflected'}`, () => {
    const a = out(src, attrs('10.0.0.9', { localPref: 150 }), target, RR_SELF);
    if (!reflected) {
      assert.equal(a, null);
      return;
    }
    assert.ok(a);
    assert.equal(a.nextHop, '10.0.0.9', 'a reflector leaves the next hop alone');
    assert.equal(a.originatorId, src.routerId);
    assert.deepEqual(a.clusterList, [RR_SELF.clusterId]);
    assert.equal(a.localPref, 150);
    assert.deepEqual(a.asPath, []);
  });
}

test('route reflection: an existing ORIGINATOR_ID is kept and our cluster id goes in front', () => {
  const a = out(client2, attrs('10.0.0.9', { originatorId: '10.0.0.9', clusterList: ['7.7.7.7'] }), nonClient4, RR_SELF)!;
  assert.equal(a.originatorId, '10.0.0.9');
  assert.deepEqual(a.clusterList, [RR_SELF.clusterId, '7.7.7.7']);
});

test('without a cluster id, iBGP routes never go to iBGP peers (clients or not)', () => {
  assert.equal(out(client2, attrs('10.0.0.2'), client3), null);
  assert.equal(exportBlock(path(nonClient4, attrs('10.0.0.4')), nonClient5, SELF), 'iBGP to iBGP without route reflection');
});

test('local and eBGP-learned routes go to every iBGP peer without ORIGINATOR_ID/CLUSTER_LIST', () => {
  for (const src of [LOCAL, ext6] as PathSource[]) {
    const a = out(src, attrs('10.0.0.6', { asPath: src === LOCAL ? [] : seq(65006) }), nonClient4, RR_SELF)!;
    assert.ok(a);
    assert.equal(a.originatorId, undefined);
    assert.equal(a.clusterList, undefined);
  }
});

test('eBGP peers flagged as clients are treated as eBGP: prepend, no reflection attributes', () => {
  const extClient = ebgpPeer(8, { rrClient: true });
  const a = out(client2, attrs('10.0.0.9', { originatorId: '10.0.0.9', clusterList: ['7.7.7.7'], localPref: 300 }), extClient, RR_SELF)!;
  assert.deepEqual(a.asPath, seq(LOCAL_AS));
  assert.equal(a.originatorId, undefined);
  assert.equal(a.clusterList, undefined);
  assert.equal(a.localPref, undefined);
  assert.equal(a.nextHop, '10.0.0.1');
});

test('never back to the peer it came from', () => {
  assert.equal(out(ext6, attrs('10.0.0.6', { asPath: seq(65006) }), ext6), null);
  assert.equal(out(client2, attrs('10.0.0.2'), client2, RR_SELF), null);
});

test('next hop: self towards eBGP, unchanged towards iBGP, per the session mode', () => {
  const a = attrs('10.0.0.6', { asPath: seq(65006) });
  assert.equal(out(ext6, a, ext7)!.nextHop, '10.0.0.1');
  assert.equal(out(ext6, a, ebgpPeer(7, { nextHopMode: 'Keep' }))!.nextHop, '10.0.0.6');
  assert.equal(out(ext6, a, nonClient4)!.nextHop, '10.0.0.6');
  assert.equal(out(ext6, a, peer(4, { nextHopMode: 'Self', localAddress4: '10.0.0.100' }))!.nextHop, '10.0.0.100');
  // A local route without a next hop always gets ours.
  assert.equal(out(LOCAL, { origin: 0, asPath: [] }, nonClient4)!.nextHop, '10.0.0.1');
  assert.equal(out(LOCAL, { origin: 0, asPath: [] }, ebgpPeer(7, { nextHopMode: 'Keep' }))!.nextHop, '10.0.0.1');
});

test('next hop self for IPv6 uses the session IPv6 addresses; none configured means not advertised', () => {
  const v6 = { origin: 0, asPath: seq(65006), nextHop: 'fd00::6', linkLocalNextHop: 'fe80::6' } as const;
  const a = out(ext6, v6, ebgpPeer(7, { localAddress6: 'fd00::1', localLinkLocal6: 'fe80::1' }), SELF, 'ipv6')!;
  assert.equal(a.nextHop, 'fd00::1');
  assert.equal(a.linkLocalNextHop, 'fe80::1');
  const kept = out(ext6, v6, nonClient4, SELF, 'ipv6')!;
  assert.equal(kept.nextHop, 'fd00::6');
  assert.equal(kept.linkLocalNextHop, undefined, 'a link-local next hop does not cross links');
  assert.equal(out(ext6, v6, ebgpPeer(7, { localAddress6: undefined }), SELF, 'ipv6'), null);
});

test('AS prepend towards eBGP only', () => {
  assert.deepEqual(out(ext6, attrs('10.0.0.6', { asPath: seq(65006, 65100) }), ext7)!.asPath, seq(LOCAL_AS, 65006, 65100));
  assert.deepEqual(out(LOCAL, attrs('10.0.0.1'), ext7)!.asPath, seq(LOCAL_AS));
  assert.deepEqual(out(ext6, attrs('10.0.0.6', { asPath: seq(65006) }), nonClient4)!.asPath, seq(65006));
  // The session's local AS (Calico localASNumber), a set in front, confederation segments dropped.
  assert.deepEqual(out(LOCAL, attrs('10.0.0.1'), ebgpPeer(7, { localAsn: 65333 }))!.asPath, seq(65333));
  assert.deepEqual(out(ext6, attrs('10.0.0.6', { asPath: [{ type: 1, asns: [1, 2] }] }), ext7)!.asPath, [
    { type: SEQ, asns: [LOCAL_AS] },
    { type: 1, asns: [1, 2] },
  ]);
  assert.deepEqual(out(client2, attrs('10.0.0.2', { asPath: [{ type: CONFED_SEQ, asns: [9] }] }), ext7)!.asPath, seq(LOCAL_AS));
});

test('LOCAL_PREF: sent only to iBGP, 100 when absent, the eBGP default for eBGP-learned paths', () => {
  assert.equal(out(client2, attrs('10.0.0.2', { localPref: 250 }), ext7)!.localPref, undefined);
  assert.equal(out(LOCAL, attrs('10.0.0.1'), nonClient4)!.localPref, 100);
  assert.equal(out(client2, attrs('10.0.0.2', { localPref: 250 }), nonClient4, RR_SELF)!.localPref, 250);
  assert.equal(out(ebgpPeer(6, { defaultLocalPref: 180 }), attrs('10.0.0.6', { asPath: seq(65006), localPref: 999 }), nonClient4)!.localPref, 180);
});

test('MED: kept within the AS, not passed from one neighbour AS to another', () => {
  const a = attrs('10.0.0.6', { asPath: seq(65006), med: 40 });
  assert.equal(out(ext6, a, ext7)!.med, undefined);
  assert.equal(out(ext6, a, nonClient4)!.med, 40);
  assert.equal(out(LOCAL, attrs('10.0.0.1', { med: 5 }), ext7)!.med, 5, 'our own MED may go out');
});

test('ORIGINATOR_ID and CLUSTER_LIST are stripped towards eBGP', () => {
  const a = out(client2, attrs('10.0.0.9', { originatorId: '10.0.0.9', clusterList: ['7.7.7.7'] }), ext7, RR_SELF)!;
  assert.equal(a.originatorId, undefined);
  assert.equal(a.clusterList, undefined);
});

test('NO_EXPORT stays inside the AS; NO_ADVERTISE goes nowhere', () => {
  const noExport = attrs('10.0.0.6', { asPath: seq(65006), communities: [WellKnownCommunity.NO_EXPORT] });
  assert.equal(out(ext6, noExport, ext7), null);
  assert.deepEqual(out(ext6, noExport, nonClient4)!.communities, [WellKnownCommunity.NO_EXPORT]);
  const subconfed = attrs('10.0.0.6', { asPath: seq(65006), communities: [WellKnownCommunity.NO_EXPORT_SUBCONFED] });
  assert.equal(out(ext6, subconfed, ext7), null);
  const noAdvertise = attrs('10.0.0.6', { asPath: seq(65006), communities: [65000 * 65536 + 1, WellKnownCommunity.NO_ADVERTISE] });
  assert.equal(out(ext6, noAdvertise, ext7), null);
  assert.equal(out(ext6, noAdvertise, nonClient4), null);
  assert.equal(out(ext6, noAdvertise, client2, RR_SELF), null);
});
