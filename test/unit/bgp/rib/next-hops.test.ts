// Next-hop tracking in the RIB. RFC 4271 §9.1.2 (Phase 2): "If the NEXT_HOP attribute of
// a BGP route depicts an address that is not resolvable ... the BGP route MUST be
// excluded from the Phase 2 decision function", and §9.1.2.1: its resolvability is
// decided by the routing table. BIRD (`gateway recursive`) and FRR (nexthop tracking)
// both take such a route out of selection and put it back when the next hop resolves.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { announce, attrs, nextHops, peer, ribWith, withdraw } from './helpers.js';

const PFX = '192.168.1.0/26';
const PFX2 = '192.168.2.0/26';

test('next hop unreachable: its paths leave selection, the other next hop takes over; back again when it resolves (RFC 4271 §9.1.2)', () => {
  const rib = ribWith([peer(2), peer(3)]);
  announce(rib, 'peer2', [PFX, PFX2], attrs('10.0.0.2'));
  announce(rib, 'peer3', [PFX], attrs('10.0.0.3', { localPref: 50 }));
  assert.equal(rib.best('ipv4', PFX)!.peer.id, 'peer2');
  assert.deepEqual([...rib.nextHops()].sort(), ['10.0.0.2', '10.0.0.3']);

  let diff = rib.setNextHopReachable('10.0.0.2', false);
  assert.deepEqual(diff.map((c) => [c.prefix, c.best?.peer.id ?? null]).sort(), [[PFX, 'peer3'], [PFX2, null]]);
  assert.equal(rib.accepted('peer2', 'ipv4'), 2, 'the paths are still held');
  assert.deepEqual(rib.setNextHopReachable('10.0.0.2', false), [], 'no change, no diff');

  // A new announcement through the unreachable next hop is held, not selected.
  assert.deepEqual(announce(rib, 'peer2', ['192.168.3.0/26'], attrs('10.0.0.2')), []);
  // Replacing it with a reachable next hop selects it at once.
  assert.equal(announce(rib, 'peer2', [PFX2], attrs('10.0.0.4'))[0]!.best!.peer.id, 'peer2');

  diff = rib.setNextHopReachable('10.0.0.2', true);
  assert.deepEqual(diff.map((c) => [c.prefix, c.best?.peer.id]).sort(), [[PFX, 'peer2'], ['192.168.3.0/26', 'peer2']]);
  assert.deepEqual(nextHops(rib.multipath('ipv4', PFX)), ['10.0.0.2']);
});

test('next hop unreachable: withdrawing a held path is silent; ECMP sets lose only that next hop', () => {
  const rib = ribWith([peer(2), peer(3)]);
  announce(rib, 'peer2', [PFX], attrs('10.0.0.2'));
  announce(rib, 'peer3', [PFX], attrs('10.0.0.3'));
  assert.deepEqual(nextHops(rib.multipath('ipv4', PFX)), ['10.0.0.2', '10.0.0.3']);
  const [c] = rib.setNextHopReachable('10.0.0.3', false);
  assert.deepEqual(nextHops(c!.multipath), ['10.0.0.2']);
  assert.deepEqual(withdraw(rib, 'peer3', [PFX]), [], 'it was not selected: nothing changes');
  assert.deepEqual(rib.setNextHopReachable('10.0.0.3', true), [], 'nothing left through it');
  rib.retainNextHops(rib.nextHops());
  assert.equal(rib.nextHopState('10.0.0.3'), undefined, 'forgotten once no path uses it');
});
