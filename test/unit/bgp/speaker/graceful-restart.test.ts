// Graceful restart (RFC 4724) in both roles, and RFC 8538's N bit: a helper keeps a
// restarting peer's routes (no withdrawals reach the dataplane) until End-of-RIB or the
// restart time; a restarting speaker sets the R and F bits once and always ends its
// initial table with End-of-RIB.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endOfRib, ErrorCode, CeaseSubcode, type Update } from '../../../../src/bgp/wire/index.js';
import { MemoryNet, rawCapabilities, rawEstablish, settle, table, until, type RawPeer } from './helpers.js';

const RAW = '192.0.2.9';
const RAW_AS = 65009;
const RAW_ID = '10.0.0.9';

function announce(prefixes: string[]): { type: 'update'; update: Update } {
  return { type: 'update', update: { withdrawn: [], attributes: { origin: 0, asPath: [{ type: 2, asns: [RAW_AS] }], nextHop: RAW }, nlri: prefixes } };
}

async function helperWithRawPeer(peer: Record<string, unknown> = {}) {
  const net = new MemoryNet();
  const raws = net.rawAt(RAW);
  const b = net.speaker('192.0.2.2');
  b.speaker.setPeers([{ id: 'R', address: RAW, remoteAsn: RAW_AS, ...peer }]);
  b.speaker.setLocalRoutes([]);
  await b.speaker.start();
  await until(net, () => raws.length === 1);
  return { net, raws, b };
}

test('helper: a peer that restarts keeps its routes, stale, until its End-of-RIB', async () => {
  const { net, raws, b } = await helperWithRawPeer();
  const r1 = raws[0]!;
  await rawEstablish(r1, RAW_AS, RAW_ID, rawCapabilities(RAW_AS, { time: 120 }));
  r1.send(announce(['10.9.1.0/24', '10.9.2.0/24']));
  await settle();
  assert.deepEqual(table(b.speaker), ['10.9.1.0/24 192.0.2.9 R', '10.9.2.0/24 192.0.2.9 R']);

  b.changes.length = 0;
  r1.conn.destroy(); // the process died: the connection closes, no NOTIFICATION
  await settle();
  const st = b.speaker.status()[0]!;
  assert.notEqual(st.state, 'Established');
  assert.deepEqual(st.gracefulRestart, { staleFamilies: ['ipv4', 'ipv6'] });
  assert.deepEqual(table(b.speaker), ['10.9.1.0/24 192.0.2.9 R', '10.9.2.0/24 192.0.2.9 R']);
  assert.equal(b.changes.length, 0, 'nothing withdrawn meanwhile');

  await until(net, () => raws.length === 2);
  const r2 = raws[1]!;
  await rawEstablish(r2, RAW_AS, RAW_ID, rawCapabilities(RAW_AS, { time: 120, restarting: true }));
  r2.send(announce(['10.9.1.0/24', '10.9.3.0/24']));
  await settle();
  assert.deepEqual(table(b.speaker), ['10.9.1.0/24 192.0.2.9 R', '10.9.2.0/24 192.0.2.9 R', '10.9.3.0/24 192.0.2.9 R']);
  assert.deepEqual(
    b.changes.map((c) => `${c.prefix} ${c.peerId}`),
    ['10.9.3.0/24 R'],
    'the refreshed route is no change',
  );

  r2.send({ type: 'update', update: endOfRib('ipv4') });
  await settle();
  assert.deepEqual(table(b.speaker), ['10.9.1.0/24 192.0.2.9 R', '10.9.3.0/24 192.0.2.9 R']);
  assert.deepEqual(b.changes.slice(1), [{ family: 'ipv4', prefix: '10.9.2.0/24', nexthops: [], peerId: null }]);
  assert.deepEqual(b.speaker.status()[0]!.gracefulRestart, { staleFamilies: ['ipv6'] });
  r2.send({ type: 'update', update: endOfRib('ipv6') });
  await settle();
  assert.equal(b.speaker.status()[0]!.gracefulRestart, undefined);
  await b.speaker.stop();
});

test('helper: when the peer does not come back within its restart time, its routes go', async () => {
  const { net, raws, b } = await helperWithRawPeer();
  const r1 = raws[0]!;
  await rawEstablish(r1, RAW_AS, RAW_ID, rawCapabilities(RAW_AS, { time: 30 }));
  r1.send(announce(['10.9.1.0/24']));
  await settle();
  b.changes.length = 0;
  r1.conn.destroy();
  await net.advance(29_900);
  assert.deepEqual(table(b.speaker), ['10.9.1.0/24 192.0.2.9 R']);
  assert.equal(b.changes.length, 0);
  await net.advance(100);
  assert.deepEqual(table(b.speaker), []);
  assert.deepEqual(b.changes, [{ family: 'ipv4', prefix: '10.9.1.0/24', nexthops: [], peerId: null }]);
  assert.equal(b.speaker.status()[0]!.gracefulRestart, undefined);
  await b.speaker.stop();
});

test('helper: back without End-of-RIB, stale routes go after the stale time; without forwarding state at once', async () => {
  const { net, raws, b } = await helperWithRawPeer({});
  await rawEstablish(raws[0]!, RAW_AS, RAW_ID, rawCapabilities(RAW_AS, { time: 120 }));
  raws[0]!.send(announce(['10.9.1.0/24']));
  await settle();
  raws[0]!.conn.destroy();
  await until(net, () => raws.length === 2);
  // Back, forwarding state kept, but it never says End-of-RIB.
  await rawEstablish(raws[1]!, RAW_AS, RAW_ID, rawCapabilities(RAW_AS, { time: 120, restarting: true }));
  assert.deepEqual(table(b.speaker), ['10.9.1.0/24 192.0.2.9 R']);
  await net.advance(359_000);
  assert.deepEqual(table(b.speaker), ['10.9.1.0/24 192.0.2.9 R']);
  await net.advance(1_000);
  assert.deepEqual(table(b.speaker), []);

  // Again, but it comes back saying its forwarding state was lost (F bit clear).
  raws[1]!.send(announce(['10.9.5.0/24']));
  await settle();
  raws[1]!.conn.destroy();
  await until(net, () => raws.length === 3);
  assert.deepEqual(table(b.speaker), ['10.9.5.0/24 192.0.2.9 R']);
  await rawEstablish(raws[2]!, RAW_AS, RAW_ID, rawCapabilities(RAW_AS, { time: 120, restarting: true, forwarding: false }));
  assert.deepEqual(table(b.speaker), []);
  await b.speaker.stop();
});

test('no graceful restart: without the capability, or after a NOTIFICATION without the N bit, routes go at once', async () => {
  for (const how of ['no capability', 'notification', 'hard reset with N bit'] as const) {
    const { raws, b } = await helperWithRawPeer();
    const r = raws[0]!;
    const caps = how === 'no capability' ? rawCapabilities(RAW_AS) : rawCapabilities(RAW_AS, { time: 120, notification: how === 'hard reset with N bit' });
    await rawEstablish(r, RAW_AS, RAW_ID, caps);
    r.send(announce(['10.9.1.0/24']));
    await settle();
    assert.equal(table(b.speaker).length, 1, how);
    if (how === 'no capability') r.conn.destroy();
    else if (how === 'notification') r.send({ type: 'notification', notification: { code: ErrorCode.CEASE, subcode: CeaseSubcode.ADMINISTRATIVE_RESET } });
    else r.send({ type: 'notification', notification: { code: ErrorCode.CEASE, subcode: CeaseSubcode.HARD_RESET, data: Buffer.from([6, 2]) } });
    await settle();
    assert.deepEqual(table(b.speaker), [], how);
    await b.speaker.stop();
  }
});

test('N bit: a Cease other than Hard Reset keeps the routes (RFC 8538)', async () => {
  const { raws, b } = await helperWithRawPeer();
  const r = raws[0]!;
  await rawEstablish(r, RAW_AS, RAW_ID, rawCapabilities(RAW_AS, { time: 120, notification: true }));
  r.send(announce(['10.9.1.0/24']));
  await settle();
  r.send({ type: 'notification', notification: { code: ErrorCode.CEASE, subcode: CeaseSubcode.ADMINISTRATIVE_RESET } });
  await settle();
  assert.deepEqual(table(b.speaker), ['10.9.1.0/24 192.0.2.9 R']);
  assert.deepEqual(b.speaker.status()[0]!.gracefulRestart, { staleFamilies: ['ipv4', 'ipv6'] });
  await b.speaker.stop();
});

function grCapability(raw: RawPeer) {
  const open = raw.last('open')!.open;
  return open.capabilities.find((c) => c.kind === 'graceful-restart');
}

test('restarting speaker: R and F bits until recovery is over, End-of-RIB after the initial table; a graceful stop keeps the peer\'s view', async () => {
  const net = new MemoryNet();
  const raws = net.rawAt(RAW);
  const a = net.speaker('192.0.2.1', { gracefulRestart: { restartTime: 90, restarting: true } });
  a.speaker.setPeers([{ id: 'R', address: RAW, remoteAsn: RAW_AS }]);
  a.speaker.setLocalRoutes([{ prefix: '10.1.0.0/24' }, { prefix: '10.1.1.0/24' }, { prefix: 'fd00:1::/64' }]);
  await a.speaker.start();
  await until(net, () => raws.length === 1);
  const r1 = raws[0]!;
  assert.deepEqual(grCapability(r1), {
    kind: 'graceful-restart',
    restarting: true,
    notification: true,
    time: 90,
    families: [
      { afi: 1, safi: 1, forwarding: true },
      { afi: 2, safi: 1, forwarding: true },
    ],
  });
  // The peer has only IPv4: the IPv6 route cannot go, only the IPv4 table and its End-of-RIB.
  await rawEstablish(r1, RAW_AS, RAW_ID, [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'four-octet-as', asn: RAW_AS }]);
  const updates = r1.messages.filter((m) => m.type === 'update').map((m) => (m.type === 'update' ? m.update : undefined)!);
  assert.equal(updates.length, 2);
  assert.deepEqual(updates[0]!.nlri.sort(), ['10.1.0.0/24', '10.1.1.0/24'], 'both prefixes in one UPDATE');
  assert.equal(updates[0]!.attributes.nextHop, '192.0.2.1');
  assert.deepEqual(updates[0]!.attributes.asPath, [{ type: 2, asns: [65001] }]);
  assert.deepEqual(updates[1], { withdrawn: [], attributes: {}, nlri: [], discarded: [], endOfRib: 'ipv4' }, 'End-of-RIB');

  // Recovery ended (the peer offered no graceful restart, so there was nothing to wait
  // for); the session drops and the next OPEN no longer says "restarting".
  r1.conn.destroy();
  await until(net, () => raws.length === 2);
  const gr2 = grCapability(raws[1]!);
  assert.equal(gr2?.kind === 'graceful-restart' && gr2.restarting, false);
  assert.equal(gr2?.kind === 'graceful-restart' && gr2.families.every((f) => !f.forwarding), true);

  // Graceful stop to a peer without the N bit: the connection closes, no NOTIFICATION.
  await rawEstablish(raws[1]!, RAW_AS, RAW_ID, rawCapabilities(RAW_AS, { time: 120 }));
  await a.speaker.stop({ graceful: true });
  await settle();
  assert.equal(raws[1]!.closed, true);
  assert.equal(raws[1]!.count('notification'), 0);
});

test('two speakers: a graceful stop with the N bit sends Administrative Reset and the peer keeps the routes until the restarted speaker\'s End-of-RIB', async () => {
  const net = new MemoryNet();
  const a = net.speaker('192.0.2.1');
  const b = net.speaker('192.0.2.2');
  a.speaker.setPeers([{ id: 'B', address: '192.0.2.2', remoteAsn: 65002, passive: true }]);
  b.speaker.setPeers([{ id: 'A', address: '192.0.2.1', remoteAsn: 65001 }]);
  a.speaker.setLocalRoutes([{ prefix: '10.1.0.0/24' }, { prefix: '10.1.1.0/24' }]);
  b.speaker.setLocalRoutes([]);
  await a.speaker.start();
  await b.speaker.start();
  await until(net, () => b.speaker.bestPaths().length === 2);
  b.changes.length = 0;

  await a.speaker.stop({ graceful: true });
  await settle();
  const seen = b.speaker.status()[0]!;
  assert.equal(seen.lastNotification?.subcode, CeaseSubcode.ADMINISTRATIVE_RESET);
  assert.deepEqual(seen.gracefulRestart, { staleFamilies: ['ipv4', 'ipv6'] });
  assert.deepEqual(table(b.speaker), ['10.1.0.0/24 192.0.2.1 A', '10.1.1.0/24 192.0.2.1 A']);

  // The same node comes back restarting, with one route less.
  const a2 = net.speaker('192.0.2.1', { gracefulRestart: { restartTime: 120, restarting: true } });
  a2.speaker.setPeers([{ id: 'B', address: '192.0.2.2', remoteAsn: 65002, passive: true }]);
  a2.speaker.setLocalRoutes([{ prefix: '10.1.0.0/24' }]);
  await a2.speaker.start();
  await until(net, () => b.speaker.status()[0]!.state === 'Established' && b.speaker.status()[0]!.gracefulRestart === undefined);
  assert.deepEqual(table(b.speaker), ['10.1.0.0/24 192.0.2.1 A']);
  assert.deepEqual(b.changes, [{ family: 'ipv4', prefix: '10.1.1.0/24', nexthops: [], peerId: null }], 'only the route not refreshed went');
  await a2.speaker.stop();
  await b.speaker.stop();
});
