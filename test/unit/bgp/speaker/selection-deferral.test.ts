// The restarting speaker (RFC 4724 §4.1): after a restart with forwarding state kept,
// route selection — and so the initial tables, End-of-RIB and the dataplane's view —
// waits for End-of-RIB from every graceful-restart peer, or the selection deferral timer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endOfRib, type DecodedUpdate, type Update } from '../../../../src/bgp/wire/index.js';
import { MemoryNet, rawCapabilities, rawEstablish, settle, until, type RawPeer } from './helpers.js';

const RR = '192.0.2.1';
const AS = 64512;
const A = '192.0.2.11';
const B = '192.0.2.12';

function announce(nextHop: string, prefixes: string[]): { type: 'update'; update: Update } {
  return { type: 'update', update: { withdrawn: [], attributes: { origin: 0, asPath: [], nextHop, localPref: 100 }, nlri: prefixes } };
}

function updates(raw: RawPeer): DecodedUpdate[] {
  return raw.messages.flatMap((m) => (m.type === 'update' ? [m.update] : []));
}

/** What the raw peer got: announced IPv4 prefixes and End-of-RIB markers, in order. */
function seen(raw: RawPeer): string[] {
  return updates(raw).flatMap((u) => (u.endOfRib ? [`EoR ${u.endOfRib}`] : u.nlri));
}

function grOf(raw: RawPeer) {
  const open = raw.last('open')!.open;
  const c = open.capabilities.find((x) => x.kind === 'graceful-restart');
  return c?.kind === 'graceful-restart' ? { restarting: c.restarting, forwarding: c.families.map((f) => f.forwarding) } : undefined;
}

/** A restarting route reflector with two iBGP clients (raw peers at A and B). */
async function restartedReflector(opts: { deferral?: number } = {}) {
  const net = new MemoryNet();
  const ra = net.rawAt(A);
  const rb = net.rawAt(B);
  const rr = net.speaker(RR, {
    localAsn: AS,
    clusterId: '10.255.255.1',
    gracefulRestart: { restartTime: 120, restarting: true },
    timers: { connectDelay: 1, connectRetry: 5, ...(opts.deferral ? { selectionDeferral: opts.deferral } : {}) },
  });
  rr.speaker.setPeers([
    { id: 'A', address: A, remoteAsn: AS, rrClient: true, families: ['ipv4'] },
    { id: 'B', address: B, remoteAsn: AS, rrClient: true, families: ['ipv4'] },
  ]);
  rr.speaker.setLocalRoutes([{ prefix: '10.1.0.0/24' }]);
  await rr.speaker.start();
  await until(net, () => ra.length === 1 && rb.length === 1);
  return { net, rr, ra, rb };
}

const CAPS = rawCapabilities(AS, { time: 120, families: ['ipv4'] });

test('bug: a restarting route reflector sent its table and End-of-RIB to a client as soon as it was up, so the client swept the other client\'s routes (RFC 4724 §4.1)', async () => {
  const { rr, ra, rb } = await restartedReflector();
  const [a, b] = [ra[0]!, rb[0]!];
  assert.deepEqual(grOf(a), { restarting: true, forwarding: [true] }, 'R and F bits: we restarted with forwarding kept');

  await rawEstablish(a, AS, '10.0.0.11', CAPS);
  a.send(announce(A, ['10.11.0.0/24']));
  a.send({ type: 'update', update: endOfRib('ipv4') });
  await settle();
  assert.equal(rr.speaker.recovering, true);
  assert.deepEqual(seen(a), [], 'nothing for A while B has not sent End-of-RIB: A keeps its stale copy of B\'s routes');
  assert.equal(rr.changes.length, 0, 'nothing to the dataplane either');

  await rawEstablish(b, AS, '10.0.0.12', CAPS);
  b.send(announce(B, ['10.12.0.0/24']));
  await settle();
  assert.deepEqual(seen(a), [], 'B has not finished yet');
  b.send({ type: 'update', update: endOfRib('ipv4') });
  await settle();
  assert.equal(rr.speaker.recovering, false);
  // Each client gets the whole table, the other client's routes included, then End-of-RIB.
  assert.deepEqual(seen(a).sort(), ['10.1.0.0/24', '10.12.0.0/24', 'EoR ipv4'].sort());
  assert.equal(seen(a).at(-1), 'EoR ipv4');
  assert.deepEqual(seen(b).sort(), ['10.1.0.0/24', '10.11.0.0/24', 'EoR ipv4'].sort());
  assert.equal(seen(b).at(-1), 'EoR ipv4');
  // The dataplane gets the selected table in one go.
  assert.deepEqual(rr.changes.map((c) => `${c.prefix} ${c.nexthops.join(',')}`).sort(), ['10.11.0.0/24 192.0.2.11', '10.12.0.0/24 192.0.2.12']);
  await rr.speaker.stop();
});

test('selection deferral ends with the timer when a peer never comes back', async () => {
  const { net, rr, ra } = await restartedReflector({ deferral: 30 });
  const a = ra[0]!;
  await rawEstablish(a, AS, '10.0.0.11', CAPS);
  a.send({ type: 'update', update: endOfRib('ipv4') });
  // The timer started with the speaker, about a second (the connect delay) before now.
  await net.advance(27_000);
  assert.deepEqual(seen(a), []);
  await net.advance(3_000);
  assert.equal(rr.speaker.recovering, false);
  assert.deepEqual(seen(a), ['10.1.0.0/24', 'EoR ipv4']);
  await rr.speaker.stop();
});

test('peers without graceful restart, or restarting themselves (R bit), are not waited for (RFC 4724 §4.1)', async () => {
  const { rr, ra, rb } = await restartedReflector();
  const [a, b] = [ra[0]!, rb[0]!];
  await rawEstablish(a, AS, '10.0.0.11', [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'four-octet-as', asn: AS }]);
  assert.equal(rr.speaker.recovering, true, 'B may still send End-of-RIB');
  await rawEstablish(b, AS, '10.0.0.12', rawCapabilities(AS, { time: 120, restarting: true, families: ['ipv4'] }));
  assert.equal(rr.speaker.recovering, false, 'both excluded: nothing to wait for');
  assert.deepEqual(seen(a), ['10.1.0.0/24', 'EoR ipv4']);
  assert.deepEqual(seen(b), ['10.1.0.0/24', 'EoR ipv4']);
  await rr.speaker.stop();
});

test('R and F bits stay set on every OPEN while recovering, and go once recovery is over (as BIRD\'s gr_recovery)', async () => {
  const { net, rr, ra, rb } = await restartedReflector();
  // A's first session drops before it sends End-of-RIB: its next OPEN still says "restarting".
  await rawEstablish(ra[0]!, AS, '10.0.0.11', CAPS);
  ra[0]!.conn.destroy();
  await until(net, () => ra.length === 2);
  assert.deepEqual(grOf(ra[1]!), { restarting: true, forwarding: [true] });
  await rawEstablish(ra[1]!, AS, '10.0.0.11', CAPS);
  ra[1]!.send({ type: 'update', update: endOfRib('ipv4') });
  await rawEstablish(rb[0]!, AS, '10.0.0.12', CAPS);
  rb[0]!.send({ type: 'update', update: endOfRib('ipv4') });
  await settle();
  assert.equal(rr.speaker.recovering, false);
  // After recovery a session that resets comes back without R and F.
  rb[0]!.conn.destroy();
  await until(net, () => rb.length === 2);
  assert.deepEqual(grOf(rb[1]!), { restarting: false, forwarding: [false] });
  await rr.speaker.stop();
});

test('a speaker that did not restart defers nothing', async () => {
  const net = new MemoryNet();
  const ra = net.rawAt(A);
  const s = net.speaker(RR, { localAsn: AS });
  s.speaker.setPeers([{ id: 'A', address: A, remoteAsn: AS, families: ['ipv4'] }]);
  s.speaker.setLocalRoutes([{ prefix: '10.1.0.0/24' }]);
  await s.speaker.start();
  await until(net, () => ra.length === 1);
  assert.equal(s.speaker.recovering, false);
  assert.deepEqual(grOf(ra[0]!), { restarting: false, forwarding: [false] });
  await rawEstablish(ra[0]!, AS, '10.0.0.11', CAPS);
  assert.deepEqual(seen(ra[0]!), ['10.1.0.0/24', 'EoR ipv4']);
  await s.speaker.stop();
});
