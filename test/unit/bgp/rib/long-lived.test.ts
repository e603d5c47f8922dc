// The RIB's side of long-lived graceful restart (RFC 9494): stale paths turn into
// LLGR-stale ones (LLGR_STALE added, NO_LLGR ones removed), still shared between prefixes,
// least preferred in selection, and exported only to peers that sent the LLGR capability.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdjRibOut, exportAttributes } from '../../../../src/bgp/rib/index.js';
import { SELF, announce, attrs, ebgpPeer, peer, ribWith, seq } from './helpers.js';

/** RFC 9494 §3.2 and §3.3: LLGR_STALE 65535:6, NO_LLGR 65535:7. */
const LLGR_STALE = 0xffff0006;
const NO_LLGR = 0xffff0007;

test('longLivedStale: LLGR_STALE added once per shared path, NO_LLGR paths removed, only stale paths touched', () => {
  const rib = ribWith([peer(2), peer(3)]);
  announce(rib, 'peer2', ['10.1.0.0/24', '10.1.1.0/24'], attrs('10.0.0.2', { communities: [100] }));
  announce(rib, 'peer2', ['10.1.9.0/24'], attrs('10.0.0.2', { communities: [NO_LLGR] }));
  announce(rib, 'peer3', ['10.3.0.0/24'], attrs('10.0.0.3'));
  rib.markStale('peer2', ['ipv4']);
  const changes = rib.longLivedStale('peer2', 'ipv4');
  assert.deepEqual(changes.map((c) => `${c.prefix} ${c.best === null ? 'gone' : c.best.attributes.communities!.join(',')}`).sort(), [
    `10.1.0.0/24 100,${LLGR_STALE}`,
    `10.1.1.0/24 100,${LLGR_STALE}`,
    '10.1.9.0/24 gone',
  ]);
  assert.equal(rib.best('ipv4', '10.1.0.0/24'), rib.best('ipv4', '10.1.1.0/24'), 'still one path for both prefixes');
  assert.equal(rib.best('ipv4', '10.1.0.0/24')!.stale, true);
  assert.equal(rib.best('ipv4', '10.3.0.0/24')!.attributes.communities, undefined, "another peer's paths are untouched");
  assert.deepEqual(rib.longLivedStale('peer2', 'ipv4'), [], 'a second call changes nothing');
  // End-of-RIB (or the long-lived stale time) sweeps them like any stale path.
  assert.equal(rib.sweepStale('peer2', 'ipv4').length, 2);
  assert.equal(rib.prefixCount('ipv4'), 1);
});

test('RFC 9494 §4.4 through the RIB: the LLGR-stale path loses to a fresh one with a longer AS_PATH and lower LOCAL_PREF', () => {
  const rib = ribWith([peer(2), peer(3)]);
  announce(rib, 'peer2', ['10.1.0.0/24'], attrs('10.0.0.2', { localPref: 300, asPath: seq(65001) }));
  announce(rib, 'peer3', ['10.1.0.0/24'], attrs('10.0.0.3', { localPref: 100, asPath: seq(65001, 65002, 65003) }));
  assert.equal(rib.best('ipv4', '10.1.0.0/24')!.peer.id, 'peer2');
  rib.markStale('peer2', ['ipv4']);
  assert.equal(rib.best('ipv4', '10.1.0.0/24')!.peer.id, 'peer2', 'plain (RFC 4724) stale paths keep their place');
  const [c] = rib.longLivedStale('peer2', 'ipv4');
  assert.equal(c!.best!.peer.id, 'peer3');
  assert.deepEqual(rib.multipath('ipv4', '10.1.0.0/24').map((p) => p.peer.id), ['peer3'], 'never ECMP with a stale path');
});

test('RFC 9494 §4.3: an LLGR_STALE path goes only to peers that sent the LLGR capability, with the community', () => {
  const rib = ribWith([ebgpPeer(2)]);
  announce(rib, 'peer2', ['10.1.0.0/24'], attrs('10.0.0.2', { asPath: seq(65002) }));
  rib.markStale('peer2', ['ipv4']);
  const changes = rib.longLivedStale('peer2', 'ipv4');
  const stale = rib.best('ipv4', '10.1.0.0/24')!;
  assert.equal(exportAttributes(stale, 'ipv4', ebgpPeer(4), SELF), null);
  assert.deepEqual(exportAttributes(stale, 'ipv4', ebgpPeer(5, { longLived: true }), SELF)?.communities, [LLGR_STALE]);

  // A peer without LLGR that had the fresh route is sent a withdrawal.
  const out = new AdjRibOut(ebgpPeer(4), SELF);
  const fresh = { ...changes[0]!, best: changes[0]!.previous, previous: null };
  out.apply([fresh]);
  assert.deepEqual(out.apply(changes), [{ family: 'ipv4', withdrawn: ['10.1.0.0/24'], announced: [] }]);
});
