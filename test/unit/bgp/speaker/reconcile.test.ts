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

test('setPeers rejects duplicate ids and addresses before touching anything', () => {
  const net = new MemoryNet();
  const a = net.speaker('192.0.2.1');
  assert.throws(() => a.speaker.setPeers([{ id: 'X', address: '192.0.2.2', remoteAsn: 1 }, { id: 'X', address: '192.0.2.3', remoteAsn: 1 }]), /duplicate id/);
  assert.throws(() => a.speaker.setPeers([{ id: 'X', address: '192.0.2.2', remoteAsn: 1 }, { id: 'Y', address: '192.0.2.2', remoteAsn: 1 }]), /also peer/);
  assert.throws(() => a.speaker.setPeers([{ id: 'X', address: '192.0.2.2', remoteAsn: 1, localAddress: 'fd00::1' }]), /same family/);
  assert.deepEqual(a.speaker.status(), []);
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
