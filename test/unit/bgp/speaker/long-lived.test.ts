// Long-lived graceful restart (RFC 9494) in both roles, on fake time. As the receiving
// speaker: once the restart time is over (at once when it is 0), a restarting peer's
// routes stay for the long-lived stale time with LLGR_STALE (65535:6) added, least
// preferred, withdrawn from peers without the LLGR capability, sent with the community to
// peers with it; NO_LLGR (65535:7) routes go instead; End-of-RIB sweeps what was not
// refreshed. As the restarting speaker: the capability with the configured stale time.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsPathSegmentType, endOfRib, Origin, type Capability, type PathAttributes, type Update } from '../../../../src/bgp/wire/index.js';
import { MemoryNet, rawCapabilities, rawEstablish, settle, table, until, type RawPeer } from './helpers.js';

/** RFC 9494 §3.2 and §3.3. */
const LLGR_STALE = 0xffff0006;
const NO_LLGR = 0xffff0007;

const R = { address: '192.0.2.9', asn: 65009, id: '10.0.0.9' };
const N = { address: '192.0.2.10', asn: 65010, id: '10.0.0.10' };
const L = { address: '192.0.2.11', asn: 65011, id: '10.0.0.11' };

/** Graceful restart with `time`, plus the LLGR capability for both families with `stale`. */
function llgrCapabilities(asn: number, time: number, stale: number, gr: { restarting?: boolean; forwarding?: boolean } = {}): Capability[] {
  const caps = rawCapabilities(asn, { time, ...gr });
  const forwarding = gr.forwarding !== false;
  caps.push({ kind: 'long-lived-graceful-restart', families: [1, 2].map((afi) => ({ afi, safi: 1, forwarding, staleTime: stale })) });
  return caps;
}

function announce(from: { address: string; asn: number }, prefixes: string[], extra: { asPath?: number[]; communities?: number[] } = {}): { type: 'update'; update: Update } {
  const attributes: PathAttributes = { origin: Origin.IGP, asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns: extra.asPath ?? [from.asn] }], nextHop: from.address };
  if (extra.communities) attributes.communities = extra.communities;
  return { type: 'update', update: { withdrawn: [], attributes, nlri: prefixes } };
}

/**
 * A speaker at 192.0.2.2 with raw peers at the given addresses (ids R, N, L by address);
 * R's session has LLGR configured (restartMode LongLivedGracefulRestart) unless `rLlgr` is false.
 */
async function helper(peers: { address: string; asn: number }[], rLlgr = true) {
  const net = new MemoryNet();
  const raws = new Map(peers.map((p) => [p.address, net.rawAt(p.address)]));
  const b = net.speaker('192.0.2.2');
  const name = (a: string) => (a === R.address ? 'R' : a === N.address ? 'N' : 'L');
  b.speaker.setPeers(peers.map((p) => ({ id: name(p.address), address: p.address, remoteAsn: p.asn, ...(p === R && rLlgr ? { longLivedStaleTime: 3600 } : {}) })));
  b.speaker.setLocalRoutes([]);
  await b.speaker.start();
  await until(net, () => [...raws.values()].every((l) => l.length === 1));
  return { net, raws, b, first: (a: string) => raws.get(a)![0]! };
}

/**
 * R established with LLGR (restart time 0, long-lived stale time `stale`), `prefixes`
 * announced, then its connection dropped; resolves once R connects again.
 */
async function droppedPeer(stale: number, prefixes: string[]) {
  const h = await helper([R]);
  const r = h.first(R.address);
  await rawEstablish(r, R.asn, R.id, llgrCapabilities(R.asn, 0, stale));
  r.send(announce(R, prefixes));
  await settle();
  r.conn.destroy();
  await until(h.net, () => h.raws.get(R.address)!.length === 2);
  return h;
}

function communitiesOf(speaker: { bestPaths(): { prefix: string; attributes?: { communities?: number[] } }[] }, prefix: string): number[] | undefined {
  return speaker.bestPaths().find((p) => p.prefix === prefix)?.attributes?.communities;
}

function updates(raw: RawPeer): Update[] {
  return raw.messages.flatMap((m) => (m.type === 'update' ? [m.update] : []));
}

test('RFC 9494 §4.2: past the restart time the routes stay LLGR-stale for the long-lived stale time, then go', async () => {
  const { net, b, first } = await helper([R]);
  const r = first(R.address);
  await rawEstablish(r, R.asn, R.id, llgrCapabilities(R.asn, 30, 600));
  r.send(announce(R, ['10.9.1.0/24', '10.9.2.0/24'], { communities: [100] }));
  await settle();
  b.changes.length = 0;
  r.conn.destroy();
  await net.advance(30_000);
  // Still in the kernel's view (the dataplane keeps forwarding), now with LLGR_STALE.
  assert.deepEqual(table(b.speaker), ['10.9.1.0/24 192.0.2.9 R', '10.9.2.0/24 192.0.2.9 R']);
  assert.deepEqual(communitiesOf(b.speaker, '10.9.1.0/24'), [100, LLGR_STALE]);
  assert.ok(b.changes.every((c) => c.peerId === 'R' && c.nexthops.length === 1), 'no withdrawal reached the dataplane');
  assert.deepEqual(b.speaker.status()[0]!.gracefulRestart, { staleFamilies: ['ipv4', 'ipv6'], longLivedFamilies: ['ipv4', 'ipv6'] });

  await net.advance(599_000);
  assert.equal(table(b.speaker).length, 2);
  await net.advance(1_000);
  assert.deepEqual(table(b.speaker), []);
  assert.equal(b.speaker.status()[0]!.gracefulRestart, undefined);
  await b.speaker.stop();
});

test('RFC 9494 §4.2: restart time 0 goes straight to the long-lived period; NO_LLGR routes are removed instead', async () => {
  const { net, b, first } = await helper([R]);
  const r = first(R.address);
  await rawEstablish(r, R.asn, R.id, llgrCapabilities(R.asn, 0, 60));
  r.send(announce(R, ['10.9.1.0/24']));
  r.send(announce(R, ['10.9.7.0/24'], { communities: [NO_LLGR] }));
  await settle();
  assert.equal(table(b.speaker).length, 2);
  r.conn.destroy();
  await settle();
  assert.deepEqual(table(b.speaker), ['10.9.1.0/24 192.0.2.9 R']);
  assert.deepEqual(communitiesOf(b.speaker, '10.9.1.0/24'), [LLGR_STALE]);
  await net.advance(60_000);
  assert.deepEqual(table(b.speaker), []);
  await b.speaker.stop();
});

test('RFC 9494 §4.2 and §5: without the LLGR capability, with a stale time of 0, or without LLGR configured for the session (restartMode GracefulRestart), the routes go at the restart time', async () => {
  const cases = [
    { caps: rawCapabilities(R.asn, { time: 30 }), configured: true },
    { caps: llgrCapabilities(R.asn, 30, 0), configured: true },
    { caps: llgrCapabilities(R.asn, 30, 600), configured: false },
  ];
  for (const { caps, configured } of cases) {
    const { net, b, first } = await helper([R], configured);
    const r = first(R.address);
    await rawEstablish(r, R.asn, R.id, caps);
    r.send(announce(R, ['10.9.1.0/24']));
    await settle();
    r.conn.destroy();
    await net.advance(29_900);
    assert.equal(table(b.speaker).length, 1);
    await net.advance(100);
    assert.deepEqual(table(b.speaker), []);
    await b.speaker.stop();
  }
});

test('RFC 9494 §4.2: a family the graceful restart capability does not list has restart time 0: straight to the long-lived period', async () => {
  const { net, b, first } = await helper([R]);
  const r = first(R.address);
  const caps = llgrCapabilities(R.asn, 30, 600).map((c) => (c.kind === 'graceful-restart' ? { ...c, families: c.families.filter((f) => f.afi === 2) } : c));
  await rawEstablish(r, R.asn, R.id, caps);
  r.send(announce(R, ['10.9.1.0/24']));
  await settle();
  r.conn.destroy();
  await settle();
  assert.deepEqual(communitiesOf(b.speaker, '10.9.1.0/24'), [LLGR_STALE], 'IPv4 is LLGR-stale at once');
  assert.deepEqual(b.speaker.status()[0]!.gracefulRestart, { staleFamilies: ['ipv4', 'ipv6'], longLivedFamilies: ['ipv4'] });
  await net.advance(30_000);
  assert.deepEqual(b.speaker.status()[0]!.gracefulRestart, { staleFamilies: ['ipv4', 'ipv6'], longLivedFamilies: ['ipv4', 'ipv6'] });
  // The IPv4 timer started at the drop, not at IPv6's entry.
  await net.advance(570_000);
  assert.deepEqual(table(b.speaker), []);
  assert.deepEqual(b.speaker.status()[0]!.gracefulRestart, { staleFamilies: ['ipv6'], longLivedFamilies: ['ipv6'] });
  await net.advance(30_000);
  assert.equal(b.speaker.status()[0]!.gracefulRestart, undefined);
  await b.speaker.stop();
});

test('RFC 9494 §4.2: a second drop before End-of-RIB does not restart the running long-lived timer', async () => {
  const { net, raws, b } = await droppedPeer(600, ['10.9.1.0/24']);
  await net.advance(300_000);
  const r2 = raws.get(R.address)![raws.get(R.address)!.length - 1]!;
  await rawEstablish(r2, R.asn, R.id, llgrCapabilities(R.asn, 0, 600, { restarting: true }));
  r2.conn.destroy(); // gone again before its End-of-RIB
  await settle();
  assert.equal(table(b.speaker).length, 1);
  // The first drop was about 302 s ago: its 600 s end now, not 600 s after the second drop.
  await net.advance(300_000);
  assert.deepEqual(table(b.speaker), [], 'gone at the first drop plus 600 s');
  await b.speaker.stop();
});

test('RFC 9494 §4.5: an LLGR capability without the graceful restart one is ignored', async () => {
  const { b, first } = await helper([R]);
  const r = first(R.address);
  const caps = llgrCapabilities(R.asn, 30, 600).filter((c) => c.kind !== 'graceful-restart');
  await rawEstablish(r, R.asn, R.id, caps);
  r.send(announce(R, ['10.9.1.0/24']));
  await settle();
  r.conn.destroy();
  await settle();
  assert.deepEqual(table(b.speaker), []);
  await b.speaker.stop();
});

test('RFC 9494 §4.3: LLGR-stale routes are withdrawn from a peer without LLGR and sent with LLGR_STALE to a peer with it', async () => {
  const { net, b, first } = await helper([R, N, L]);
  const r = first(R.address);
  const n = first(N.address);
  const l = first(L.address);
  await rawEstablish(n, N.asn, N.id, rawCapabilities(N.asn, { time: 120 }));
  await rawEstablish(l, L.asn, L.id, llgrCapabilities(L.asn, 120, 3600));
  await rawEstablish(r, R.asn, R.id, llgrCapabilities(R.asn, 30, 600));
  r.send(announce(R, ['10.9.1.0/24']));
  await settle();
  assert.ok(updates(n).some((u) => u.nlri.includes('10.9.1.0/24')), 'N got the route while fresh');
  assert.ok(updates(l).some((u) => u.nlri.includes('10.9.1.0/24')), 'L got the route while fresh');
  const nBefore = updates(n).length;
  const lBefore = updates(l).length;
  r.conn.destroy();
  await net.advance(29_000);
  assert.equal(updates(n).length, nBefore, 'nothing changes during the restart time');
  await net.advance(1_000);
  assert.deepEqual(updates(n).slice(nBefore), [{ withdrawn: ['10.9.1.0/24'], attributes: {}, nlri: [], discarded: [] }]);
  const toL = updates(l).slice(lBefore);
  assert.equal(toL.length, 1);
  assert.deepEqual(toL[0]!.nlri, ['10.9.1.0/24']);
  assert.deepEqual(toL[0]!.attributes.communities, [LLGR_STALE]);
  assert.deepEqual(table(b.speaker), ['10.9.1.0/24 192.0.2.9 R'], 'still best here: no other path');
  await b.speaker.stop();
});

test('RFC 9494 §4.4: a fresh path wins over an LLGR-stale one that is better on every other step', async () => {
  const { net, b, first } = await helper([R, N]);
  const r = first(R.address);
  const n = first(N.address);
  await rawEstablish(r, R.asn, R.id, llgrCapabilities(R.asn, 0, 600));
  await rawEstablish(n, N.asn, N.id, rawCapabilities(N.asn, { time: 120 }));
  r.send(announce(R, ['10.9.1.0/24']));
  n.send(announce(N, ['10.9.1.0/24'], { asPath: [N.asn, 65100, 65101] }));
  await settle();
  assert.deepEqual(table(b.speaker), ['10.9.1.0/24 192.0.2.9 R'], 'the shorter AS_PATH wins while both are fresh');
  r.conn.destroy();
  await settle();
  assert.deepEqual(table(b.speaker), ['10.9.1.0/24 192.0.2.10 N'], 'the stale one is least preferred');
  n.send({ type: 'update', update: { withdrawn: ['10.9.1.0/24'], attributes: {}, nlri: [] } });
  await settle();
  assert.deepEqual(table(b.speaker), ['10.9.1.0/24 192.0.2.9 R'], 'still used when it is the only one');
  await net.advance(600_000);
  assert.deepEqual(table(b.speaker), []);
  await b.speaker.stop();
});

test('RFC 9494 §4.2: back in the long-lived period, refreshed routes are fresh again and End-of-RIB sweeps the rest', async () => {
  const { net, raws, b } = await droppedPeer(600, ['10.9.1.0/24', '10.9.2.0/24']);
  const r2 = raws.get(R.address)![1]!;
  await rawEstablish(r2, R.asn, R.id, llgrCapabilities(R.asn, 0, 600, { restarting: true }));
  assert.equal(table(b.speaker).length, 2, 'kept until End-of-RIB');
  r2.send(announce(R, ['10.9.1.0/24']));
  await settle();
  assert.equal(communitiesOf(b.speaker, '10.9.1.0/24'), undefined, 'refreshed: fresh, no LLGR_STALE');
  assert.deepEqual(communitiesOf(b.speaker, '10.9.2.0/24'), [LLGR_STALE]);
  r2.send({ type: 'update', update: endOfRib('ipv4') });
  r2.send({ type: 'update', update: endOfRib('ipv6') });
  await settle();
  assert.deepEqual(table(b.speaker), ['10.9.1.0/24 192.0.2.9 R']);
  assert.equal(b.speaker.status()[0]!.gracefulRestart, undefined);
  // The long-lived timer ended with End-of-RIB: nothing is swept later.
  await net.advance(600_000);
  assert.deepEqual(table(b.speaker), ['10.9.1.0/24 192.0.2.9 R']);
  await b.speaker.stop();
});

test('back in the long-lived period but no End-of-RIB: the stale routes go with the stale timer (360 s), the long-lived one ends with it', async () => {
  const { net, raws, b } = await droppedPeer(3600, ['10.9.1.0/24']);
  await rawEstablish(raws.get(R.address)![1]!, R.asn, R.id, llgrCapabilities(R.asn, 0, 3600, { restarting: true }));
  await net.advance(360_000);
  assert.deepEqual(table(b.speaker), []);
  assert.equal(b.speaker.status()[0]!.gracefulRestart, undefined);
  raws.get(R.address)![1]!.send(announce(R, ['10.9.2.0/24']));
  await net.advance(3_600_000);
  assert.deepEqual(table(b.speaker), ['10.9.2.0/24 192.0.2.9 R'], 'a later fresh route is not swept by an old timer');
  await b.speaker.stop();
});

test('RFC 9494 §4.2: back without forwarding state (F bit clear in the new LLGR capability), the LLGR-stale routes go at once', async () => {
  const { net, raws, b } = await droppedPeer(600, ['10.9.1.0/24']);
  assert.equal(table(b.speaker).length, 1);
  await rawEstablish(raws.get(R.address)![1]!, R.asn, R.id, llgrCapabilities(R.asn, 0, 600, { restarting: true, forwarding: false }));
  assert.deepEqual(table(b.speaker), []);
  await b.speaker.stop();
});

test('restarting speaker: restartMode LongLivedGracefulRestart sends restart time 0 and the LLGR capability with the stale time, F bits while restarting', async () => {
  const net = new MemoryNet();
  const raws = net.rawAt(R.address);
  const a = net.speaker('192.0.2.1', { gracefulRestart: { restartTime: 120, restarting: true } });
  a.speaker.setPeers([{ id: 'R', address: R.address, remoteAsn: R.asn, gracefulRestartTime: 300, longLivedStaleTime: 7200 }]);
  a.speaker.setLocalRoutes([{ prefix: '10.1.0.0/24' }]);
  await a.speaker.start();
  await until(net, () => raws.length === 1);
  const caps = raws[0]!.last('open')!.open.capabilities;
  const gr = caps.find((c) => c.kind === 'graceful-restart');
  assert.equal(gr?.kind === 'graceful-restart' && gr.time, 0, "Calico's confd: `graceful restart time 0` with LLGR");
  assert.deepEqual(
    caps.find((c) => c.kind === 'long-lived-graceful-restart'),
    {
      kind: 'long-lived-graceful-restart',
      families: [
        { afi: 1, safi: 1, forwarding: true, staleTime: 7200 },
        { afi: 2, safi: 1, forwarding: true, staleTime: 7200 },
      ],
    },
  );
  await a.speaker.stop();
});
