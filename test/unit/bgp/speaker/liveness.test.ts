// The speaker's liveness hook (what BFD drives): the path going down takes an
// Established session down at once with Cease/BFD Down (RFC 9384 subcode 10) and
// withdraws its routes without graceful restart (BIRD's `bfd on`: bgp_bfd_notify calls
// bgp_stop); the session stays Idle, refusing to dial, until the path is back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CeaseSubcode, ErrorCode, type Update } from '../../../../src/bgp/wire/index.js';
import { MemoryNet, rawCapabilities, rawEstablish, settle, table, until } from './helpers.js';

const RAW = '192.0.2.9';
const RAW_AS = 65009;

function announce(prefixes: string[]): { type: 'update'; update: Update } {
  return { type: 'update', update: { withdrawn: [], attributes: { origin: 0, asPath: [{ type: 2, asns: [RAW_AS] }], nextHop: RAW }, nlri: prefixes } };
}

test('path down: Cease/BFD Down, routes withdrawn at once (even with graceful restart), no redial until the path is back', async () => {
  const net = new MemoryNet();
  const raws = net.rawAt(RAW);
  const b = net.speaker('192.0.2.2');
  b.speaker.setPeers([{ id: 'R', address: RAW, remoteAsn: RAW_AS }]);
  b.speaker.setLocalRoutes([]);
  await b.speaker.start();
  await until(net, () => raws.length === 1);
  const r1 = raws[0]!;
  // The peer negotiated graceful restart: a plain connection loss would keep its routes.
  await rawEstablish(r1, RAW_AS, '10.0.0.9', rawCapabilities(RAW_AS, { time: 120 }));
  r1.send(announce(['10.9.1.0/24']));
  await settle();
  assert.deepEqual(table(b.speaker), ['10.9.1.0/24 192.0.2.9 R']);
  b.changes.length = 0;

  b.speaker.setPeerLive('R', false, 'BFD session down');
  assert.deepEqual(b.changes, [{ family: 'ipv4', prefix: '10.9.1.0/24', nexthops: [], peerId: null }], 'withdrawn in the same call');
  await settle();
  const n = r1.last('notification');
  assert.deepEqual([n?.notification.code, n?.notification.subcode], [ErrorCode.CEASE, CeaseSubcode.BFD_DOWN]);
  const st = b.speaker.status()[0]!;
  assert.equal(st.state, 'Idle');
  assert.equal(st.info, 'Idle BFD session down');
  assert.equal(st.gracefulRestart, undefined, 'nothing kept stale');

  await net.advance(120_000);
  assert.equal(raws.length, 1, 'no dial while the path is down');

  b.speaker.setPeerLive('R', true, 'BFD session up');
  await until(net, () => raws.length === 2);
  await rawEstablish(raws[1]!, RAW_AS, '10.0.0.9', rawCapabilities(RAW_AS, { time: 120 }));
  raws[1]!.send(announce(['10.9.1.0/24']));
  await settle();
  assert.equal(b.speaker.status()[0]!.state, 'Established');
  assert.deepEqual(table(b.speaker), ['10.9.1.0/24 192.0.2.9 R']);
  b.speaker.setPeerLive('nobody', false, 'ignored');
  await b.speaker.stop();
});

test('path down before the session is up: it stays Idle; a reconfiguration does not start it either', async () => {
  const net = new MemoryNet();
  const raws = net.rawAt(RAW);
  const b = net.speaker('192.0.2.2');
  b.speaker.setPeers([{ id: 'R', address: RAW, remoteAsn: RAW_AS }]);
  b.speaker.setPeerLive('R', false, 'BFD session down');
  b.speaker.setLocalRoutes([]);
  await b.speaker.start();
  await net.advance(30_000);
  assert.equal(raws.length, 0);
  b.speaker.setPeers([{ id: 'R', address: RAW, remoteAsn: RAW_AS + 1 }]);
  await net.advance(30_000);
  assert.equal(raws.length, 0, 'the replacement session waits too');
  b.speaker.setPeerLive('R', true, 'BFD session up');
  await until(net, () => raws.length === 1);
  await b.speaker.stop();
});
