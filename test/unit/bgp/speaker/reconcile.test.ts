// setPeers() reconciles: a new peer gets a session, a removed one Cease/Peer
// De-configured, a changed one a new session only for OPEN/socket fields — and the
// other sessions never notice.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CeaseSubcode, ErrorCode } from '../../../../src/bgp/wire/index.js';
import type { SpeakerPeer } from '../../../../src/bgp/speaker.js';
import { MemoryNet, table, until } from './helpers.js';

test('add, change and remove peers: only the touched session restarts', async () => {
  const net = new MemoryNet();
  const a = net.speaker('192.0.2.1');
  const b = net.speaker('192.0.2.2');
  const c = net.speaker('192.0.2.3');
  const d = net.speaker('192.0.2.4');
  const peerB: SpeakerPeer = { id: 'B', address: '192.0.2.2', remoteAsn: 65002 };
  const peerC: SpeakerPeer = { id: 'C', address: '192.0.2.3', remoteAsn: 65003 };
  a.speaker.setPeers([peerB, peerC]);
  for (const [n, asn] of [[b, 65002], [c, 65003], [d, 65004]] as const) {
    n.speaker.setPeers([{ id: 'A', address: '192.0.2.1', remoteAsn: 65001, passive: true }]);
    n.speaker.setLocalRoutes([{ prefix: `10.${asn - 65000}.0.0/24` }]);
    await n.speaker.start();
  }
  a.speaker.setLocalRoutes([{ prefix: '10.1.0.0/24' }]);
  await a.speaker.start();
  await until(net, () => a.speaker.bestPaths().length === 2);
  const sessionB = a.speaker.session('B');
  const sessionC = a.speaker.session('C');
  const opensB = sessionB!.status().counters.messagesOut.open;

  // A session-level field of C (hold time): C alone gets a new session.
  a.speaker.setPeers([peerB, { ...peerC, holdTime: 30 }]);
  assert.notEqual(a.speaker.session('C'), sessionC);
  assert.equal(a.speaker.session('B'), sessionB);
  await until(net, () => a.speaker.status().every((s) => s.state === 'Established') && a.speaker.bestPaths().length === 2);
  assert.equal(a.speaker.status().find((s) => s.id === 'C')!.negotiated?.holdTime, 30);
  const atC = c.speaker.status()[0]!;
  assert.equal(atC.lastNotification?.direction, 'received');
  assert.equal(atC.lastNotification?.code, ErrorCode.CEASE);
  assert.equal(atC.lastNotification?.subcode, CeaseSubcode.OTHER_CONFIGURATION_CHANGE);

  // Not a session field (route reflector client flag, next-hop mode): nothing restarts.
  a.speaker.setPeers([{ ...peerB, nextHopMode: 'Self', rrClient: true }, { ...peerC, holdTime: 30 }]);
  await net.advance(100);
  assert.equal(a.speaker.session('B'), sessionB);
  const stB = sessionB!.status();
  assert.equal(stB.state, 'Established');
  assert.equal(stB.counters.established, 1);
  assert.equal(stB.counters.messagesOut.open, opensB);
  assert.equal(stB.counters.messagesOut.notification, 0);

  // Remove C, add D: C hears Peer De-configured — inside a Hard Reset, as both set the
  // N bit (RFC 8538) — and drops our routes; B is untouched.
  a.changes.length = 0;
  a.speaker.setPeers([{ ...peerB, nextHopMode: 'Self', rrClient: true }, { id: 'D', address: '192.0.2.4', remoteAsn: 65004 }]);
  assert.deepEqual(a.changes, [{ family: 'ipv4', prefix: '10.3.0.0/24', nexthops: [], peerId: null }]);
  await until(net, () => a.speaker.bestPaths().length === 2 && a.speaker.status().every((s) => s.state === 'Established'));
  assert.deepEqual(table(a.speaker), ['10.2.0.0/24 192.0.2.2 B', '10.4.0.0/24 192.0.2.4 D']);
  const cSaw = c.speaker.status()[0]!.lastNotification!;
  assert.equal(cSaw.subcode, CeaseSubcode.HARD_RESET);
  assert.deepEqual(table(c.speaker), []);
  assert.deepEqual(a.speaker.status().map((s) => s.id), ['B', 'D']);
  assert.equal(a.speaker.session('B'), sessionB);
  assert.equal(sessionB!.status().counters.established, 1);
  assert.equal(sessionB!.status().counters.messagesIn.notification, 0);
  assert.equal(b.speaker.status()[0]!.counters.messagesIn.notification, 0);

  for (const n of [a, b, c, d]) await n.speaker.stop();
});

// Issue 12: one peer that cannot be built never stops the others. It shows in status as
// Idle with the reason; the rest converge.
test('one unbuildable peer among five: the four others come up, the bad one is reported Idle with the reason', async () => {
  const net = new MemoryNet();
  const a = net.speaker('192.0.2.1');
  const others = ['192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5'].map((ip) => net.speaker(ip));
  const good: SpeakerPeer[] = others.map((n, i) => ({ id: `P${i}`, address: n.address, remoteAsn: 65002 + i }));
  const bad: SpeakerPeer = { id: 'BAD', address: '192.0.2.6', remoteAsn: 65006, md5Key: 'x'.repeat(81) };
  a.speaker.setPeers([good[0]!, good[1]!, bad, good[2]!, good[3]!]);
  others.forEach((n, i) => n.speaker.setPeers([{ id: 'A', address: '192.0.2.1', remoteAsn: 65001 }]));
  for (const n of [a, ...others]) {
    n.speaker.setLocalRoutes([]);
    await n.speaker.start();
  }
  await until(net, () => a.speaker.status().filter((s) => s.state === 'Established').length === 4);
  const st = a.speaker.status().find((s) => s.id === 'BAD')!;
  assert.equal(st.state, 'Idle');
  assert.match(st.info, /^Idle Error: md5Key: must be at most 80 octets$/);
  assert.equal(st.lastError, 'md5Key: must be at most 80 octets');
  assert.equal(a.speaker.session('BAD'), undefined, 'no session is built for it');

  // Fixing it gives it a session; the four are left alone.
  const sessions = good.map((p) => a.speaker.session(p.id));
  a.speaker.setPeers([...good, { ...bad, md5Key: 'short' }]);
  assert.ok(a.speaker.session('BAD'));
  assert.deepEqual(good.map((p) => a.speaker.session(p.id)), sessions);
  // Breaking a running one removes its session and reports it; the others stay.
  a.speaker.setPeers([{ ...good[0]!, holdTime: 2 }, ...good.slice(1)]);
  await net.advance(10);
  assert.equal(a.speaker.session('P0'), undefined);
  assert.match(a.speaker.status().find((s) => s.id === 'P0')!.info, /^Idle Error: holdTime: must be 0 or at least 3 seconds$/);
  assert.equal(a.speaker.status().filter((s) => s.state === 'Established').length, 3);
  // What the caller could not read (an agent's unreadable password) is reported the same way.
  a.speaker.setPeers([...good, { ...bad, md5Key: undefined, configError: 'password cannot be read: no such key' }]);
  assert.equal(a.speaker.status().find((s) => s.id === 'BAD')!.info, 'Idle Error: password cannot be read: no such key');
  for (const n of [a, ...others]) await n.speaker.stop();
});

test('two peers on one address with different ports both run; a repeated id is reported, not thrown', async () => {
  const net = new MemoryNet();
  const a = net.speaker('192.0.2.1');
  const b = net.speaker('192.0.2.2');
  // Nothing listens on 192.0.2.2:1179 (the memory network routes by address alone).
  const dial = a.dialer.onDial!;
  a.dialer.onDial = (attempt) => (attempt.target.remotePort === 1179 ? attempt.refuse('ECONNREFUSED') : dial(attempt));
  a.speaker.setPeers([
    { id: 'X', address: '192.0.2.2', remoteAsn: 65002, passive: true },
    { id: 'Y', address: '192.0.2.2', port: 1179, remoteAsn: 65002, passive: true },
    { id: 'X', address: '192.0.2.3', remoteAsn: 65003 },
  ]);
  assert.deepEqual(a.speaker.status().map((s) => [s.id, s.port, s.passive]), [['X', 179, true], ['Y', 1179, false]], 'the second only dials (incoming connections go to the first)');
  b.speaker.setPeers([{ id: 'A', address: '192.0.2.1', remoteAsn: 65001 }]);
  for (const n of [a, b]) {
    n.speaker.setLocalRoutes([]);
    await n.speaker.start();
  }
  await until(net, () => a.speaker.status().find((s) => s.id === 'X')!.state === 'Established');
  // Y's first dial comes after a jittered connect delay (RFC 4271 §10), maybe after X is up.
  await until(net, () => /Connection refused/.test(a.speaker.status().find((s) => s.id === 'Y')!.info));
  assert.equal(a.speaker.status().find((s) => s.id === 'X')!.state, 'Established');
  for (const n of [a, b]) await n.speaker.stop();
});

test('a new import policy asks the peer for a ROUTE-REFRESH and applies to what it sends again', async () => {
  const net = new MemoryNet();
  const a = net.speaker('192.0.2.1');
  const b = net.speaker('192.0.2.2');
  const peerB: SpeakerPeer = { id: 'B', address: '192.0.2.2', remoteAsn: 65002 };
  a.speaker.setPeers([peerB]);
  b.speaker.setPeers([{ id: 'A', address: '192.0.2.1', remoteAsn: 65001, passive: true }]);
  a.speaker.setLocalRoutes([]);
  b.speaker.setLocalRoutes([{ prefix: '10.2.0.0/24' }, { prefix: '10.2.1.0/24' }]);
  await a.speaker.start();
  await b.speaker.start();
  await until(net, () => a.speaker.bestPaths().length === 2);
  const session = a.speaker.session('B');

  const reject24 = (prefix: string) => (prefix === '10.2.1.0/24' ? 'reject' : 'accept');
  a.speaker.setPeers([{ ...peerB, importPolicy: reject24 }]);
  await net.advance(100);
  assert.equal(a.speaker.session('B'), session, 'no new session');
  assert.equal(session!.status().counters.messagesOut.routeRefresh, 2, 'one per family');
  assert.deepEqual(table(a.speaker), ['10.2.0.0/24 192.0.2.2 B']);
  assert.deepEqual(a.speaker.status()[0]!.prefixes, { received: 2, accepted: 1, advertised: 0 });
  for (const n of [a, b]) await n.speaker.stop();
});
