// Max-prefix, AS-path loops, the wait for local routes before the initial table, and
// UPDATE packing as a peer sees it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CeaseSubcode, ErrorCode, MAX_MESSAGE_LENGTH, type Update } from '../../../../src/bgp/wire/index.js';
import { MemoryNet, rawCapabilities, rawEstablish, settle, table, until } from './helpers.js';

const RAW = '192.0.2.9';
const RAW_AS = 65009;

function announce(prefixes: string[], asns = [RAW_AS]): { type: 'update'; update: Update } {
  return { type: 'update', update: { withdrawn: [], attributes: { origin: 0, asPath: [{ type: 2, asns }], nextHop: RAW }, nlri: prefixes } };
}

test('max prefixes: Cease/Maximum Number of Prefixes, routes dropped, status shows it, the session starts again later', async () => {
  const net = new MemoryNet();
  const raws = net.rawAt(RAW);
  const b = net.speaker('192.0.2.2', { timers: { connectDelay: 1, maxPrefixRestart: 20 } });
  b.speaker.setPeers([{ id: 'R', address: RAW, remoteAsn: RAW_AS, maxPrefixes: 3 }]);
  b.speaker.setLocalRoutes([]);
  await b.speaker.start();
  await until(net, () => raws.length === 1);
  const r = raws[0]!;
  // Graceful restart with the N bit: the Cease must be a Hard Reset, so it drops our routes too.
  await rawEstablish(r, RAW_AS, '10.0.0.9', rawCapabilities(RAW_AS, { time: 120, notification: true }));
  r.send(announce(['10.9.1.0/24', '10.9.2.0/24', '10.9.3.0/24']));
  await settle();
  assert.equal(table(b.speaker).length, 3);
  r.send(announce(['10.9.4.0/24']));
  await settle();
  assert.deepEqual(r.notification(), { code: ErrorCode.CEASE, subcode: CeaseSubcode.HARD_RESET, data: Buffer.from([6, 1]) });
  assert.deepEqual(table(b.speaker), []);
  const st = b.speaker.status()[0]!;
  assert.equal(st.state, 'Idle');
  assert.equal(st.lastError, 'Maximum number of prefixes reached (3)');
  assert.equal(st.info, 'Idle Maximum number of prefixes reached (3)');
  assert.equal(st.gracefulRestart, undefined, 'our own Cease: nothing kept');

  await net.advance(19_000);
  assert.equal(raws.length, 1);
  await net.advance(1_000 + 1_000);
  assert.equal(raws.length, 2, 'dials again after the restart wait');
  await rawEstablish(raws[1]!, RAW_AS, '10.0.0.9', rawCapabilities(RAW_AS));
  assert.equal(b.speaker.status()[0]!.info, 'Established');
  await b.speaker.stop();
});

test('max prefixes, action reject: the session stays up, new prefixes past the limit are ignored and counted, room made by withdrawals is used again', async () => {
  const net = new MemoryNet();
  const raws = net.rawAt(RAW);
  const b = net.speaker('192.0.2.2');
  b.speaker.setPeers([{ id: 'R', address: RAW, remoteAsn: RAW_AS, maxPrefixes: 3, maxPrefixesAction: 'reject' }]);
  b.speaker.setLocalRoutes([]);
  await b.speaker.start();
  await until(net, () => raws.length === 1);
  const r = raws[0]!;
  await rawEstablish(r, RAW_AS, '10.0.0.9', rawCapabilities(RAW_AS));
  r.send(announce(['10.9.1.0/24', '10.9.2.0/24']));
  r.send(announce(['10.9.3.0/24', '10.9.4.0/24', '10.9.5.0/24']));
  await settle();
  assert.equal(r.count('notification'), 0, 'no Cease');
  assert.equal(b.speaker.status()[0]!.state, 'Established');
  assert.deepEqual(table(b.speaker), ['10.9.1.0/24 192.0.2.9 R', '10.9.2.0/24 192.0.2.9 R', '10.9.3.0/24 192.0.2.9 R']);
  assert.deepEqual(b.speaker.status()[0]!.prefixLimit, { max: 3, action: 'reject', rejected: 2 });
  // A prefix already held may change (a new MED) although we are at the limit.
  r.send({ type: 'update', update: { withdrawn: [], attributes: { origin: 0, asPath: [{ type: 2, asns: [RAW_AS] }], nextHop: RAW, med: 7 }, nlri: ['10.9.1.0/24'] } });
  await settle();
  assert.equal(b.speaker.bestPaths().find((p) => p.prefix === '10.9.1.0/24')?.attributes?.med, 7);
  // A withdrawal makes room: the next new prefix gets in.
  r.send({ type: 'update', update: { withdrawn: ['10.9.2.0/24'], attributes: {}, nlri: [] } });
  r.send(announce(['10.9.6.0/24', '10.9.7.0/24']));
  await settle();
  assert.deepEqual(table(b.speaker), ['10.9.1.0/24 192.0.2.9 R', '10.9.3.0/24 192.0.2.9 R', '10.9.6.0/24 192.0.2.9 R']);
  assert.equal(b.speaker.status()[0]!.prefixLimit?.rejected, 3);
  await b.speaker.stop();
});

test('AS path loop: our AS in the path rejects the route, unless allowLocalAs permits it', async () => {
  for (const allowLocalAs of [undefined, 1]) {
    const net = new MemoryNet();
    const raws = net.rawAt(RAW);
    const b = net.speaker('192.0.2.2');
    b.speaker.setPeers([{ id: 'R', address: RAW, remoteAsn: RAW_AS, ...(allowLocalAs ? { allowLocalAs } : {}) }]);
    b.speaker.setLocalRoutes([]);
    await b.speaker.start();
    await until(net, () => raws.length === 1);
    await rawEstablish(raws[0]!, RAW_AS, '10.0.0.9', rawCapabilities(RAW_AS));
    raws[0]!.send(announce(['10.9.1.0/24'], [RAW_AS, 65002, 65100]));
    await settle();
    const st = b.speaker.status()[0]!;
    assert.equal(st.prefixes.received, 1);
    assert.equal(st.prefixes.accepted, allowLocalAs ? 1 : 0);
    assert.equal(table(b.speaker).length, allowLocalAs ? 1 : 0);
    await b.speaker.stop();
  }
});

test('the initial table waits for the local routes (or the wait time), then ends with End-of-RIB', async () => {
  for (const setRoutes of [true, false]) {
    const net = new MemoryNet();
    const raws = net.rawAt(RAW);
    const a = net.speaker('192.0.2.1', { timers: { connectDelay: 1, localRoutesWait: 10 } });
    a.speaker.setPeers([{ id: 'R', address: RAW, remoteAsn: RAW_AS }]);
    await a.speaker.start();
    await until(net, () => raws.length === 1);
    const r = raws[0]!;
    await rawEstablish(r, RAW_AS, '10.0.0.9', [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'four-octet-as', asn: RAW_AS }]);
    await net.advance(5_000);
    assert.equal(r.count('update'), 0, 'nothing before the local routes are known');
    if (setRoutes) {
      a.speaker.setLocalRoutes([{ prefix: '10.1.0.0/24' }]);
      await settle();
      const ups = r.messages.filter((m) => m.type === 'update').map((m) => (m.type === 'update' ? m.update : undefined)!);
      assert.deepEqual(ups.map((u) => u.nlri), [['10.1.0.0/24'], []], 'the table, then End-of-RIB');
    } else {
      await net.advance(5_000);
      assert.equal(r.count('update'), 1, 'End-of-RIB of an empty table once the wait is over');
    }
    await a.speaker.stop();
  }
});

test('a large table goes out in few full UPDATEs, split at the maximum message length', async () => {
  const net = new MemoryNet();
  const raws = net.rawAt(RAW);
  const a = net.speaker('192.0.2.1');
  a.speaker.setPeers([{ id: 'R', address: RAW, remoteAsn: RAW_AS, localAddress6: 'fd00::1' }]);
  const routes = [];
  for (let i = 0; i < 3000; i++) routes.push({ prefix: `10.${(i >> 8) & 255}.${i & 255}.1/32` });
  for (let i = 0; i < 1000; i++) routes.push({ prefix: `fd00:1:${i.toString(16)}::/64`, communities: [1] });
  a.speaker.setLocalRoutes(routes);
  await a.speaker.start();
  await until(net, () => raws.length === 1);
  const r = raws[0]!;
  await rawEstablish(r, RAW_AS, '10.0.0.9', rawCapabilities(RAW_AS));
  await net.advance(100);
  const ups = r.messages.flatMap((m) => (m.type === 'update' ? [m.update] : []));
  const v4 = ups.filter((u) => u.nlri.length > 0);
  const v6 = ups.filter((u) => (u.attributes.mpReach?.nlri.length ?? 0) > 0);
  assert.equal(v4.reduce((n, u) => n + u.nlri.length, 0), 3000);
  assert.equal(v6.reduce((n, u) => n + u.attributes.mpReach!.nlri.length, 0), 1000);
  // 3000 × 5 octets of NLRI: 4 messages of at most 4096 octets; 1000 × 9 octets: 3.
  assert.equal(v4.length, 4);
  assert.equal(v6.length, 3);
  for (const raw of r.raw) assert.ok(raw.length <= MAX_MESSAGE_LENGTH);
  assert.equal(v6[0]!.attributes.mpReach!.nextHop, 'fd00::1');
  assert.deepEqual(v6[0]!.attributes.communities, [1]);
  assert.equal(a.speaker.status()[0]!.prefixes.advertised, 4000);
  await a.speaker.stop();
});

test('a family the peer did not negotiate: its route changes are not sent and do not keep the sender busy', { timeout: 10_000 }, async () => {
  // RFC 4760 §6: routes of a family go only to a peer that advertised it. BIRD with an IPv4
  // channel alone is such a peer; once the node had an IPv6 route, the sender used to go
  // round and round on the unsendable prefix in microtasks, starving every timer and socket.
  const net = new MemoryNet();
  const raws = net.rawAt(RAW);
  const a = net.speaker('192.0.2.1');
  a.speaker.setPeers([{ id: 'R', address: RAW, remoteAsn: RAW_AS, localAddress6: 'fd00::1' }]);
  a.speaker.setLocalRoutes([{ prefix: '10.1.0.0/24' }]);
  await a.speaker.start();
  await until(net, () => raws.length === 1);
  const r = raws[0]!;
  await rawEstablish(r, RAW_AS, '10.0.0.9', [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'four-octet-as', asn: RAW_AS }]);
  await net.advance(100);
  a.speaker.setLocalRoutes([{ prefix: '10.1.0.0/24' }, { prefix: 'fd00:1::/64' }, { prefix: '10.2.0.0/24' }]);
  // A macrotask runs only once the microtask queue is empty.
  await new Promise((resolve) => setImmediate(resolve));
  await net.advance(100);
  const ups = r.messages.flatMap((m) => (m.type === 'update' ? [m.update] : []));
  assert.deepEqual(ups.flatMap((u) => u.nlri), ['10.1.0.0/24', '10.2.0.0/24'], 'the IPv4 routes, nothing of IPv6');
  assert.equal(ups.filter((u) => u.attributes.mpReach !== undefined).length, 0);
  await a.speaker.stop();
});
