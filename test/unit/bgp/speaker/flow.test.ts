// Flow under load: a slow peer receives only the final state of a churning prefix (the
// Adj-RIB-Out coalesces per prefix, so memory follows the table, not the churn), and a
// 100k-prefix burst never holds the event loop: every turn is measured while the table
// arrives, as the smaller of its wall time (which other processes on the machine
// inflate) and the process's CPU time (which GC helper threads inflate).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { encodeMessage, type Update } from '../../../../src/bgp/wire/index.js';
import { MemoryNet, rawCapabilities, rawEstablish, settle, until } from './helpers.js';

const RAW = '192.0.2.9';
const RAW_AS = 65009;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const heapMb = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

test('a slow peer receives only the final state of a prefix that changed 100k times', async () => {
  const net = new MemoryNet();
  const raws = net.rawAt(RAW);
  const a = net.speaker('192.0.2.1');
  a.speaker.setPeers([{ id: 'R', address: RAW, remoteAsn: RAW_AS }]);
  a.speaker.setLocalRoutes([{ prefix: '10.1.0.0/24', med: 0 }]);
  await a.speaker.start();
  await until(net, () => raws.length === 1);
  const r = raws[0]!;
  await rawEstablish(r, RAW_AS, '10.0.0.9', rawCapabilities(RAW_AS));
  await net.advance(100);
  const before = r.count('update');
  assert.ok(before >= 2, 'initial table and End-of-RIB');

  // The peer stops reading: our socket fills up and stays full.
  r.conn.pause();
  const heap0 = heapMb();
  for (let round = 0; round < 100; round++) {
    for (let i = 0; i < 1000; i++) {
      const n = round * 1000 + i + 1;
      // Every other change a withdrawal: 50 000 announcements and 50 000 withdrawals in all.
      a.speaker.setLocalRoutes(n % 2 ? [{ prefix: '10.1.0.0/24', med: n }] : []);
    }
    await settle(1); // the sender gets its turns
  }
  a.speaker.setLocalRoutes([{ prefix: '10.1.0.0/24', med: 4242 }]);
  await settle();
  const grown = heapMb() - heap0;
  r.conn.resume();
  await net.advance(100);
  const updates = r.messages.slice(0).filter((m) => m.type === 'update').map((m) => (m as { update: Update }).update);
  const during = updates.slice(before - 0);
  const last = during.at(-1)!;
  assert.deepEqual(last.nlri, ['10.1.0.0/24']);
  assert.equal(last.attributes.med, 4242, 'the peer ends with the final state');
  // What was in flight before the socket filled, then one UPDATE for the final state.
  const perUpdate = encodeMessage({ type: 'update', update: last }, r.options).length;
  assert.ok(during.length <= Math.ceil((64 * 1024) / perUpdate) + 2, `${during.length} UPDATEs for 100k changes`);
  assert.ok(grown < 8, `heap grew ${grown.toFixed(1)} MB while the peer was stalled`);
  await a.speaker.stop();
});

test('a 100k-prefix burst: no turn of the event loop takes 50 ms, and every prefix arrives', async () => {
  const net = new MemoryNet();
  const raws = net.rawAt(RAW);
  const b = net.speaker('192.0.2.2');
  b.speaker.setPeers([{ id: 'R', address: RAW, remoteAsn: RAW_AS }]);
  b.speaker.setLocalRoutes([]);
  let learned = 0;
  b.speaker.onBestPaths((c) => (learned += c.length));
  await b.speaker.start();
  await until(net, () => raws.length === 1);
  const r = raws[0]!;
  await rawEstablish(r, RAW_AS, '10.0.0.9', rawCapabilities(RAW_AS));

  const N = 100_000;
  const wire: Buffer[] = [];
  for (let i = 0; i < N; i += 780) {
    const nlri: string[] = [];
    for (let k = i; k < Math.min(N, i + 780); k++) nlri.push(`10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}/32`);
    wire.push(encodeMessage({ type: 'update', update: { withdrawn: [], attributes: { origin: 0, asPath: [{ type: 2, asns: [RAW_AS] }], nextHop: RAW }, nlri } }, r.options));
  }
  // The loop's turns, measured by an immediate that re-arms itself: the CPU between two is one turn's work.
  let worst = 0;
  let turns = 0;
  let stop = false;
  let last = process.cpuUsage();
  let lastWall = performance.now();
  const probe = (): void => {
    const d = process.cpuUsage(last);
    const wall = performance.now() - lastWall;
    worst = Math.max(worst, Math.min(wall, (d.user + d.system) / 1000));
    turns++;
    last = process.cpuUsage();
    lastWall = performance.now();
    if (!stop) setImmediate(probe);
  };
  setImmediate(probe);
  r.sendRaw(Buffer.concat(wire)); // one write: the whole table arrives at once
  for (let i = 0; i < 100_000 && learned < N; i++) await new Promise((res) => setImmediate(res));
  stop = true;
  assert.equal(learned, N);
  assert.equal(b.speaker.prefixCount('ipv4'), N);
  assert.ok(turns > 10, `the table took ${turns} turns of the loop`);
  assert.ok(worst < 50, `the longest turn took ${worst.toFixed(1)} ms`);
  await b.speaker.stop();
});
