// The session driver over in-memory connections with a fake clock: every state and
// timer, collisions, RFC 7606 delivery, backpressure, stop.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memoryPair } from '../../../helpers/memory-transport.js';
import {
  CeaseSubcode,
  encodeMessage,
  ErrorCode,
  shutdownCommunication,
  shutdownNotification,
  type Capability,
  type Update,
} from '../../../../src/bgp/wire/index.js';
import { harness, LOCAL_ADDRESS, PEER_ADDRESS, PEER_ID, peerCapabilities, peerOpen, RawPeer, settle } from './helpers.js';

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

/** An UPDATE from hex parts (withdrawn, attributes, NLRI). */
function rawUpdate(withdrawn: string, attrs: string, nlri: string): Buffer {
  const w = Buffer.from(withdrawn, 'hex');
  const a = Buffer.from(attrs, 'hex');
  const n = Buffer.from(nlri, 'hex');
  const body = Buffer.concat([u16(w.length), w, u16(a.length), a, n]);
  const head = Buffer.alloc(19, 0xff);
  head.writeUInt16BE(19 + body.length, 16);
  head[18] = 2;
  return Buffer.concat([head, body]);
}

const ORIGIN_IGP = '40010100';
const AS_PATH_65001 = '4002060201' + '0000fde9'; // AS_SEQUENCE of one 4-octet AS
const NEXT_HOP = '400304c0000202';

const UPDATE: Update = {
  withdrawn: [],
  attributes: { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: '192.0.2.2' },
  nlri: ['10.1.0.0/16', '10.2.0.0/24'],
};

test('start: Idle → Connect, a refused dial → Active, connect retry → Connect and a new dial', async () => {
  const h = harness({ connectDelayTime: 2 });
  assert.equal(h.session.state, 'Idle');
  h.session.start();
  assert.equal(h.session.state, 'Connect');
  assert.equal(h.dialer.attempts.length, 0, 'waits the connect delay');
  await h.clock.advance(2000);
  assert.equal(h.dialer.attempts.length, 1);
  assert.deepEqual(h.dialer.last!.target, { remoteAddress: PEER_ADDRESS, remotePort: 179 });
  h.dialer.last!.refuse('ECONNREFUSED');
  await settle();
  assert.equal(h.session.state, 'Active');
  const st = h.session.status();
  assert.equal(st.lastError, 'Socket: Connection refused');
  assert.equal(st.info, 'Active Socket: Connection refused');
  await h.clock.advance(4999);
  assert.equal(h.dialer.attempts.length, 1);
  await h.clock.advance(1);
  assert.equal(h.session.state, 'Connect');
  assert.equal(h.dialer.attempts.length, 2);
  await h.session.stop();
  assert.equal(h.session.state, 'Idle');
});

test('an unanswered dial (what an MD5 mismatch looks like) times out at connect retry', async () => {
  const h = harness();
  h.session.start();
  await h.clock.advance(5000);
  assert.equal(h.session.state, 'Connect');
  assert.equal(h.dialer.attempts.length, 2);
  assert.equal(h.dialer.attempts[0]!.conn.closed, true, 'the first attempt was dropped');
  assert.equal(h.session.status().lastError, 'Socket: Connection timed out');
});

test('OPEN exchange → OpenConfirm → Established, with the negotiated capabilities', async () => {
  const h = harness({
    families: ['ipv4', 'ipv6'],
    addPath: { receive: ['ipv4'] },
    gracefulRestart: { restartTime: 120, families: [{ family: 'ipv4', forwarding: true }] },
    holdTime: 90,
  });
  const peer = await h.connect();
  assert.equal(h.session.state, 'OpenSent');
  const ours = peer.last('open')!.open;
  assert.equal(ours.asn, 65000);
  assert.equal(ours.holdTime, 90);
  assert.equal(ours.bgpId, '10.0.0.2');
  const kinds = ours.capabilities.map((c) => c.kind);
  assert.deepEqual(kinds, ['multiprotocol', 'multiprotocol', 'route-refresh', 'extended-message', 'graceful-restart', 'four-octet-as', 'add-path']);
  const gr = ours.capabilities.find((c) => c.kind === 'graceful-restart');
  assert.deepEqual(gr, { kind: 'graceful-restart', restarting: false, notification: false, time: 120, families: [{ afi: 1, safi: 1, forwarding: true }] });

  peer.send(
    peerOpen({
      holdTime: 30,
      capabilities: [
        ...peerCapabilities(65001, ['ipv4', 'ipv6']),
        { kind: 'extended-message' },
        { kind: 'add-path', families: [{ afi: 1, safi: 1, send: true, receive: false }] },
        { kind: 'graceful-restart', restarting: true, notification: false, time: 90, families: [{ afi: 1, safi: 1, forwarding: true }, { afi: 2, safi: 1, forwarding: false }] },
      ],
    }),
  );
  await settle();
  assert.equal(h.session.state, 'OpenConfirm');
  assert.equal(peer.count('keepalive'), 1);
  peer.send({ type: 'keepalive' });
  await settle();
  assert.equal(h.session.state, 'Established');
  assert.deepEqual(
    h.events.states.map((s) => `${s.from}>${s.to}`),
    ['Idle>Connect', 'Connect>OpenSent', 'OpenSent>OpenConfirm', 'OpenConfirm>Established'],
  );
  assert.equal(h.events.established.length, 1);
  const n = h.events.established[0]!;
  assert.deepEqual(n, {
    peerAs: 65001,
    peerId: '10.0.0.1',
    holdTime: 30,
    keepaliveTime: 10,
    families: ['ipv4', 'ipv6'],
    fourOctetAs: true,
    addPath: { receive: ['ipv4'], send: [] },
    routeRefresh: true,
    extendedMessage: true,
    gracefulRestart: { restartTime: 90, restarting: true, notification: false, families: [{ family: 'ipv4', forwarding: true }, { family: 'ipv6', forwarding: false }] },
  });
  const st = h.session.status();
  assert.equal(st.state, 'Established');
  assert.equal(st.info, 'Established');
  assert.equal(st.localAddress, LOCAL_ADDRESS);
  assert.equal(st.remoteAddress, PEER_ADDRESS);
  assert.deepEqual(st.negotiated, n);
  assert.equal(st.counters.messagesIn.open, 1);
  assert.equal(st.counters.messagesIn.keepalive, 1);
  assert.equal(st.counters.messagesOut.open, 1);
  assert.equal(st.counters.established, 1);
  assert.ok(st.since instanceof Date);
});

test('a 4-octet local AS goes out as AS_TRANS with the real AS in the capability', async () => {
  const h = harness({ localAs: 4200000001 });
  const peer = await h.connect();
  const ours = peer.last('open')!.open;
  assert.equal(ours.myAs, 23456);
  assert.equal(ours.asn, 4200000001);
});

test('keepalives go out every hold/3 and keep the session up', async () => {
  const h = harness({ holdTime: 90 });
  const peer = await h.establish();
  const before = peer.count('keepalive');
  for (let i = 0; i < 6; i++) {
    await h.clock.advance(30_000);
    peer.send({ type: 'keepalive' });
    await settle();
  }
  assert.equal(peer.count('keepalive') - before, 6);
  assert.equal(h.session.state, 'Established');
});

test('hold timer expiry sends Hold Timer Expired, goes Idle, and the back-off grows', async () => {
  const h = harness({ holdTime: 9 });
  let peer = await h.establish();
  await h.clock.advance(8999);
  assert.equal(h.session.state, 'Established');
  await h.clock.advance(1);
  assert.equal(h.session.state, 'Idle');
  assert.deepEqual(peer.notification(), { code: ErrorCode.HOLD_TIMER_EXPIRED, subcode: 0, data: Buffer.alloc(0) });
  assert.equal(peer.closed, true);
  const st = h.session.status();
  assert.equal(st.lastError, 'Hold timer expired');
  assert.equal(st.info, 'Idle Hold timer expired');
  assert.equal(st.idleHoldSeconds, 5);
  assert.deepEqual(st.counters.notificationsOut, { 4: 1 });
  assert.equal(h.events.down.length, 1);
  assert.equal(h.events.down[0]!.wasEstablished, true);
  assert.equal(h.events.down[0]!.notification?.name, 'Hold timer expired');
  assert.equal(h.events.down[0]!.notification?.direction, 'sent');

  // Idle hold of 5 s, then again with 10 s.
  const dials = h.dialer.attempts.length;
  await h.clock.advance(4999);
  assert.equal(h.dialer.attempts.length, dials);
  await h.clock.advance(1);
  assert.equal(h.session.state, 'Connect');
  peer = await h.establish();
  await h.clock.advance(9000);
  assert.equal(h.session.state, 'Idle');
  assert.equal(h.session.status().idleHoldSeconds, 10);
});

test('hold time 0: no keepalives and no hold timer', async () => {
  const h = harness({ holdTime: 90 });
  const peer = await h.establish(peerOpen({ holdTime: 0 }));
  assert.equal(h.session.state, 'Established');
  assert.equal(h.session.negotiated?.holdTime, 0);
  assert.equal(h.session.negotiated?.keepaliveTime, 0);
  const before = peer.count('keepalive');
  await h.clock.advance(3_600_000);
  assert.equal(peer.count('keepalive'), before);
  assert.equal(h.session.state, 'Established');
});

test('an OPEN with hold time 2 gets OPEN Message Error / Unacceptable Hold Time', async () => {
  const h = harness();
  const peer = await h.connect();
  peer.send(peerOpen({ holdTime: 2 }));
  await settle();
  assert.equal(h.session.state, 'Idle');
  assert.deepEqual(peer.notification(), { code: 2, subcode: 6, data: Buffer.alloc(0) });
  assert.equal(h.session.status().lastError, 'Unacceptable hold time');
});

test('a peer with the wrong AS gets Bad Peer AS', async () => {
  const h = harness();
  const peer = await h.connect();
  peer.send(peerOpen({ asn: 65002 }));
  await settle();
  assert.equal(h.session.state, 'Idle');
  const n = peer.notification()!;
  assert.equal(n.code, 2);
  assert.equal(n.subcode, 2);
  assert.equal(h.session.status().lastError, 'Bad peer AS');
  assert.equal(h.events.down[0]!.wasEstablished, false);
});

test('an iBGP peer with our BGP identifier gets Bad BGP Identifier', async () => {
  const h = harness({ remoteAs: 65000 });
  const peer = await h.connect();
  peer.send(peerOpen({ asn: 65000, bgpId: '10.0.0.2' }));
  await settle();
  assert.deepEqual(peer.notification(), { code: 2, subcode: 3, data: Buffer.alloc(0) });
  assert.equal(h.session.status().lastError, 'Bad BGP identifier');
});

test('malformed messages get the NOTIFICATION the codec chose', async (t) => {
  const cases: Array<[string, Buffer, number, number, boolean]> = [
    ['a bad marker', Buffer.concat([Buffer.alloc(16, 0), Buffer.from([0, 19, 4])]), 1, 1, false],
    ['an unknown message type', Buffer.concat([Buffer.alloc(16, 0xff), Buffer.from([0, 19, 9])]), 1, 3, false],
    ['a KEEPALIVE with a body', Buffer.concat([Buffer.alloc(16, 0xff), Buffer.from([0, 20, 4, 0])]), 1, 2, false],
    ['an UPDATE whose withdrawn length overruns it', rawUpdate('', '', '').fill(0xff, 19, 21), 3, 1, true],
  ];
  for (const [name, bytes, code, subcode, established] of cases) {
    await t.test(name, async () => {
      const h = harness();
      const peer = established ? await h.establish() : await h.connect();
      peer.sendRaw(bytes);
      await settle();
      assert.equal(h.session.state, 'Idle');
      const n = peer.notification()!;
      assert.deepEqual([n.code, n.subcode], [code, subcode]);
      assert.equal(peer.closed, true);
    });
  }
});

test('UPDATEs are delivered per family; End-of-RIB and counters', async () => {
  const h = harness({ families: ['ipv4', 'ipv6'] });
  const peer = await h.establish(peerOpen({ capabilities: peerCapabilities(65001, ['ipv4', 'ipv6']) }));
  peer.send({ type: 'update', update: UPDATE });
  peer.send({
    type: 'update',
    update: {
      withdrawn: ['10.9.0.0/16'],
      attributes: {
        origin: 0,
        asPath: [{ type: 2, asns: [65001] }],
        mpReach: { family: 'ipv6', nextHop: '2001:db8::2', nlri: ['2001:db8:1::/48'] },
      },
      nlri: [],
    },
  });
  peer.send({ type: 'update', update: { withdrawn: [], attributes: {}, nlri: [] } });
  peer.send({ type: 'update', update: { withdrawn: [], attributes: { mpUnreach: { family: 'ipv6', withdrawn: [] } }, nlri: [] } });
  await settle();
  assert.equal(h.events.updates.length, 2);
  const [a, b] = h.events.updates;
  assert.deepEqual(a!.announced, { ipv4: [{ prefix: '10.1.0.0/16' }, { prefix: '10.2.0.0/24' }] });
  assert.deepEqual(a!.withdrawn, {});
  assert.deepEqual(a!.nextHops, { ipv4: { nextHop: '192.0.2.2' } });
  assert.equal(a!.attributes.origin, 0);
  assert.deepEqual(b!.announced, { ipv6: [{ prefix: '2001:db8:1::/48' }] });
  assert.deepEqual(b!.withdrawn, { ipv4: [{ prefix: '10.9.0.0/16' }] });
  assert.deepEqual(b!.nextHops, { ipv6: { nextHop: '2001:db8::2' } });
  assert.equal(b!.attributes.mpReach, undefined);
  assert.deepEqual(h.events.endOfRib, ['ipv4', 'ipv6']);
  const c = h.session.status().counters;
  assert.equal(c.messagesIn.update, 4);
  assert.equal(c.prefixesReceived, 3);
  assert.equal(c.prefixesWithdrawn, 1);
});

test('add-path: path identifiers are delivered with the prefixes', async () => {
  const h = harness({ addPath: { receive: ['ipv4'] } });
  const peer = await h.establish(
    peerOpen({ capabilities: [...peerCapabilities(), { kind: 'add-path', families: [{ afi: 1, safi: 1, send: true, receive: false }] }] }),
  );
  peer.options = { ...peer.options, addPath: { receive: new Set(), send: new Set(['ipv4']) } };
  peer.send({ type: 'update', update: { ...UPDATE, nlriPathIds: [7, 8] } });
  await settle();
  assert.deepEqual(h.events.updates[0]!.announced, { ipv4: [{ prefix: '10.1.0.0/16', pathId: 7 }, { prefix: '10.2.0.0/24', pathId: 8 }] });
});

test('treat-as-withdraw: the announced prefixes arrive as withdrawals and the session stays up', async () => {
  const h = harness();
  const peer = await h.establish();
  // ORIGIN value 5 is invalid: RFC 7606 treat-as-withdraw.
  peer.sendRaw(rawUpdate('', '40010105' + AS_PATH_65001 + NEXT_HOP, '100a01' + '180a0203'));
  await settle();
  assert.equal(h.session.state, 'Established');
  assert.equal(h.events.updates.length, 1);
  const u = h.events.updates[0]!;
  assert.deepEqual(u.announced, {});
  assert.deepEqual(u.withdrawn, { ipv4: [{ prefix: '10.1.0.0/16' }, { prefix: '10.2.3.0/24' }] });
  assert.match(u.treatAsWithdraw!, /ORIGIN|origin/);
  assert.equal(h.session.status().counters.treatAsWithdraw, 1);
  assert.equal(peer.count('notification'), 0);
});

test('attribute-discard: the UPDATE is delivered without the broken attribute', async () => {
  const h = harness();
  const peer = await h.establish();
  // ATOMIC_AGGREGATE must be empty; with a value it is discarded.
  peer.sendRaw(rawUpdate('', ORIGIN_IGP + AS_PATH_65001 + NEXT_HOP + '40060101', '100a01'));
  await settle();
  assert.equal(h.session.state, 'Established');
  const u = h.events.updates[0]!;
  assert.deepEqual(u.announced, { ipv4: [{ prefix: '10.1.0.0/16' }] });
  assert.equal(u.attributes.atomicAggregate, undefined);
  assert.equal(u.discarded?.length, 1);
  assert.equal(h.session.status().counters.attributesDiscarded, 1);
});

test('collision: our id is higher, so our outgoing connection stays and the incoming one gets Cease', async () => {
  const h = harness(); // 10.0.0.2 vs peer 10.0.0.1
  const out = await h.connect();
  assert.equal(h.session.state, 'OpenSent');
  const inc = await h.incoming();
  assert.equal(inc.count('open'), 1, 'OPEN sent on the incoming connection too');
  inc.send(peerOpen());
  await settle();
  assert.deepEqual(inc.notification(), { code: ErrorCode.CEASE, subcode: CeaseSubcode.CONNECTION_COLLISION_RESOLUTION, data: Buffer.alloc(0) });
  assert.equal(inc.closed, true);
  assert.equal(h.session.state, 'OpenSent');
  out.send(peerOpen());
  out.send({ type: 'keepalive' });
  await settle();
  assert.equal(h.session.state, 'Established');
  assert.equal(out.closed, false);
  assert.equal(h.events.down.length, 0);
});

test('collision: the peer\'s id is higher, so its connection stays and ours gets Cease', async () => {
  const h = harness({ routerId: '10.0.0.0' });
  const out = await h.connect();
  out.send(peerOpen());
  await settle();
  assert.equal(h.session.state, 'OpenConfirm');
  const inc = await h.incoming();
  inc.send(peerOpen());
  await settle();
  assert.deepEqual(out.notification(), { code: ErrorCode.CEASE, subcode: CeaseSubcode.CONNECTION_COLLISION_RESOLUTION, data: Buffer.alloc(0) });
  assert.equal(out.closed, true);
  assert.equal(inc.closed, false);
  assert.equal(h.session.state, 'OpenConfirm');
  inc.send({ type: 'keepalive' });
  await settle();
  assert.equal(h.session.state, 'Established');
  assert.equal(h.session.status().remotePort, inc.conn.localPort);
  assert.equal(h.events.down.length, 0, 'a lost collision is not a session going down');
  assert.equal(h.events.established.length, 1);
});

test('Established refuses a new connection with Cease / Connection Rejected', async () => {
  const h = harness();
  const peer = await h.establish();
  const inc = await h.incoming();
  await settle();
  assert.deepEqual(inc.notification(), { code: ErrorCode.CEASE, subcode: CeaseSubcode.CONNECTION_REJECTED, data: Buffer.alloc(0) });
  assert.equal(inc.closed, true);
  assert.equal(inc.count('open'), 0);
  assert.equal(h.session.state, 'Established');
  assert.equal(peer.closed, false);
  assert.equal(h.session.status().counters.connectionsRejected, 1);
});

test('bug: a graceful-restart peer\'s new connection was refused while its old session still looked Established (RFC 4724 §4.2, as BIRD)', async () => {
  const h = harness({ gracefulRestart: { restartTime: 120 } });
  const gr: Capability = { kind: 'graceful-restart', restarting: false, notification: false, time: 120, families: [{ afi: 1, safi: 1, forwarding: true }] };
  const old = await h.establish(peerOpen({ capabilities: [...peerCapabilities(), gr] }));
  assert.equal(h.session.state, 'Established');
  // The peer's process died and came back; its old connection never said so.
  const inc = await h.incoming();
  assert.equal(inc.count('notification'), 0, 'not Cease / Connection Rejected');
  assert.equal(inc.count('open'), 1, 'the new connection gets our OPEN');
  assert.equal(old.closed, true, 'the old connection is dropped');
  assert.equal(old.count('notification'), 0, 'without a NOTIFICATION: the peer keeps our routes');
  assert.equal(h.events.down.length, 1);
  assert.equal(h.events.down[0]!.wasEstablished, true);
  assert.equal(h.events.down[0]!.notification, undefined, 'a helper keeps its routes (no NOTIFICATION ended it)');
  assert.equal(h.session.status().lastError, 'Graceful restart');
  inc.send(peerOpen({ capabilities: [...peerCapabilities(), { ...gr, restarting: true }] }));
  inc.send({ type: 'keepalive' });
  await settle();
  assert.equal(h.session.state, 'Established');
  assert.equal(h.events.established.length, 2);
  assert.equal(h.events.established[1]!.gracefulRestart?.restarting, true);
});

test('bug: equal BGP identifiers in a collision closed both connections (RFC 6286 §2.3: the larger AS keeps its own)', async () => {
  // We are AS 65002, the peer AS 65001, both with identifier 10.0.0.1 (eBGP allows it).
  // Before, each side kept its incoming connection: each closed the one the other kept.
  const h = harness({ routerId: PEER_ID, localAs: 65002 });
  const out = await h.connect();
  const inc = await h.incoming();
  inc.send(peerOpen({ bgpId: PEER_ID }));
  await settle();
  // Our AS is the larger: the connection we opened stays, the peer's goes.
  assert.deepEqual(inc.notification(), { code: ErrorCode.CEASE, subcode: CeaseSubcode.CONNECTION_COLLISION_RESOLUTION, data: Buffer.alloc(0) });
  assert.equal(out.closed, false);
  out.send(peerOpen({ bgpId: PEER_ID }));
  out.send({ type: 'keepalive' });
  await settle();
  assert.equal(h.session.state, 'Established');
});

test('bug: no timer had jitter — keepalive and connect retry are jittered by 0.75–1.0 (RFC 4271 §10)', async () => {
  // random() = 0: the lower bound, 0.75 of each interval.
  const h = harness({ holdTime: 90, random: () => 0 });
  const peer = await h.establish();
  const before = peer.count('keepalive');
  await h.clock.advance(22_499);
  assert.equal(peer.count('keepalive'), before);
  await h.clock.advance(1);
  assert.equal(peer.count('keepalive'), before + 1, 'after 0.75 × 30 s');

  const r = harness({ connectRetryTime: 4, random: () => 0.5 });
  r.session.start();
  await settle();
  r.dialer.last!.refuse('ECONNREFUSED');
  await settle();
  await r.clock.advance(3499);
  assert.equal(r.dialer.attempts.length, 1);
  await r.clock.advance(1);
  assert.equal(r.dialer.attempts.length, 2, 'after 0.875 × 4 s');
});

test('an incoming connection in Connect replaces our dial', async () => {
  const h = harness();
  h.session.start();
  await settle();
  const dial = h.dialer.last!;
  const inc = await h.incoming();
  assert.equal(dial.conn.closed, true);
  assert.equal(h.session.state, 'OpenSent');
  inc.send(peerOpen());
  inc.send({ type: 'keepalive' });
  await settle();
  assert.equal(h.session.state, 'Established');
});

test('a passive session never connects, shows "Passive", and accepts the peer', async () => {
  const h = harness({ passive: true });
  h.session.start();
  await h.clock.advance(600_000);
  assert.equal(h.dialer.attempts.length, 0);
  assert.equal(h.session.state, 'Active');
  assert.equal(h.session.status().info, 'Passive');
  const inc = await h.incoming();
  inc.send(peerOpen());
  inc.send({ type: 'keepalive' });
  await settle();
  assert.equal(h.session.state, 'Established');
  assert.equal(h.dialer.attempts.length, 0);
});

test('bug: after a lost connection the idle hold refused the peer\'s new one, and two active ends backed off in step (BIRD refuses only after a protocol error)', async () => {
  // BIRD's bgp_incoming_connection() accepts once start_state >= BSS_CONNECT, which a lost
  // connection returns to at once; its error wait (BSS_DELAY) follows protocol errors only.
  const h = harness();
  const old = await h.establish();
  old.conn.end();
  await settle();
  assert.equal(h.session.state, 'Idle');
  assert.equal(h.session.status().idleHoldSeconds, 5);
  const dials = h.dialer.attempts.length;
  const inc = await h.incoming();
  assert.equal(inc.closed, false, 'taken, not refused');
  assert.equal(inc.count('open'), 1);
  inc.send(peerOpen());
  inc.send({ type: 'keepalive' });
  await settle();
  assert.equal(h.session.state, 'Established');
  assert.equal(h.session.status().idleHoldSeconds, undefined, 'the hold is over');
  await h.clock.advance(10_000);
  assert.equal(h.dialer.attempts.length, dials, 'no dial of our own after it');
  assert.equal(h.session.state, 'Established');
});

test('after a protocol error the idle hold still refuses the peer\'s connections', async () => {
  const h = harness();
  const peer = await h.establish();
  peer.send({ type: 'notification', notification: shutdownNotification(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, 'bye') });
  await settle();
  assert.equal(h.session.state, 'Idle');
  const inc = await h.incoming();
  assert.equal(inc.closed, true);
  assert.equal(inc.count('open'), 0);
  assert.equal(h.session.state, 'Idle');
});

test('a stopped session refuses connections', async () => {
  const h = harness({ passive: true });
  const inc = await h.incoming();
  assert.equal(inc.closed, true);
  assert.equal(inc.count('open'), 0);
});

test('stop() sends Cease / Administrative Shutdown with the shutdown communication and stays down', async () => {
  const h = harness();
  const peer = await h.establish();
  await h.session.stop(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, 'maintenance window');
  await settle();
  assert.equal(h.session.state, 'Idle');
  const n = peer.notification()!;
  assert.equal(n.code, ErrorCode.CEASE);
  assert.equal(n.subcode, CeaseSubcode.ADMINISTRATIVE_SHUTDOWN);
  assert.equal(shutdownCommunication(n), 'maintenance window');
  assert.equal(peer.closed, true);
  const down = h.events.down.at(-1)!;
  assert.equal(down.wasEstablished, true);
  assert.equal(down.notification?.text, 'maintenance window');
  const dials = h.dialer.attempts.length;
  await h.clock.advance(600_000);
  assert.equal(h.dialer.attempts.length, dials, 'no automatic restart after stop');
});

test('stop() with other Cease subcodes', async () => {
  for (const sub of [CeaseSubcode.PEER_DE_CONFIGURED, CeaseSubcode.MAXIMUM_NUMBER_OF_PREFIXES_REACHED, CeaseSubcode.ADMINISTRATIVE_RESET]) {
    const h = harness();
    const peer = await h.establish();
    await h.session.stop(sub);
    await settle();
    assert.deepEqual(peer.notification(), { code: 6, subcode: sub, data: Buffer.alloc(0) });
  }
});

test('a NOTIFICATION from the peer: "Received: …" and back-off', async () => {
  const h = harness();
  const peer = await h.establish();
  peer.send({ type: 'notification', notification: shutdownNotification(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, 'bye') });
  await settle();
  assert.equal(h.session.state, 'Idle');
  const st = h.session.status();
  assert.equal(st.lastError, 'Received: Administrative shutdown: bye');
  assert.equal(st.lastNotification?.direction, 'received');
  assert.equal(st.lastNotification?.text, 'bye');
  assert.deepEqual(st.counters.notificationsIn, { 6: 1 });
  assert.equal(st.idleHoldSeconds, 5);
  assert.equal(h.events.down[0]!.notification?.name, 'Administrative shutdown');
});

test('a connection reset by the peer', async () => {
  const h = harness();
  const peer = await h.establish();
  peer.conn.reset();
  await settle();
  assert.equal(h.session.state, 'Idle');
  assert.equal(h.session.status().lastError, 'Socket: Connection reset by peer');
  const peer2 = await h.establish();
  peer2.conn.end();
  await settle();
  assert.equal(h.session.status().lastError, 'Socket: Connection closed');
});

test('back-off doubles and caps over repeated failures, and resets after a stable session', async () => {
  const h = harness({ idleHold: { initial: 5, max: 20, resetAfter: 60 } });
  const waits: number[] = [];
  for (let i = 0; i < 5; i++) {
    const peer = await h.connect();
    peer.send(peerOpen({ asn: 1 }));
    await settle();
    waits.push(h.session.status().idleHoldSeconds!);
    await h.clock.advance(waits.at(-1)! * 1000);
  }
  assert.deepEqual(waits, [5, 10, 20, 20, 20]);
  const peer = await h.establish();
  await h.clock.advance(61_000);
  peer.send({ type: 'keepalive' });
  await settle();
  peer.conn.reset();
  await settle();
  assert.equal(h.session.status().idleHoldSeconds, 5);
});

test('route refresh both ways', async () => {
  const h = harness();
  const peer = await h.establish();
  peer.send({ type: 'route-refresh', routeRefresh: { afi: 1, safi: 1, subtype: 0 } });
  peer.send({ type: 'route-refresh', routeRefresh: { afi: 2, safi: 1, subtype: 0 } }); // not negotiated
  await settle();
  assert.deepEqual(h.events.refresh, ['ipv4']);
  assert.equal(h.session.sendRouteRefresh('ipv4'), true);
  assert.equal(h.session.sendRouteRefresh('ipv6'), false);
  await settle();
  assert.deepEqual(peer.last('route-refresh')?.routeRefresh, { afi: 1, safi: 1, subtype: 0 });
});

test('sending UPDATEs and End-of-RIB; nothing is sent unless Established', async () => {
  const h = harness();
  assert.equal(h.session.sendUpdate(UPDATE), false);
  const peer = await h.establish();
  assert.equal(h.session.sendUpdate(UPDATE), true);
  assert.equal(h.session.sendEndOfRib('ipv4'), true);
  await settle();
  const updates = peer.messages.filter((m) => m.type === 'update');
  assert.equal(updates.length, 2);
  assert.deepEqual(updates[0]!.type === 'update' && updates[0]!.update.nlri, UPDATE.nlri);
  assert.equal(h.session.status().counters.prefixesSent, 2);
  assert.equal(h.session.status().counters.messagesOut.update, 2);
});

test('backpressure: sendUpdates waits for drain when the peer does not read', async () => {
  const h = harness();
  const peer = await h.establish();
  const ours = h.dialer.last!.conn;
  ours.highWaterMark = 1000;
  peer.conn.pause();
  const many = Array.from({ length: 200 }, (_, i) => ({ ...UPDATE, nlri: [`10.${i}.0.0/16`] }));
  let done = false;
  const p = h.session.sendUpdates(many).then((ok) => {
    done = true;
    return ok;
  });
  await settle();
  assert.equal(done, false);
  assert.equal(h.session.writable, false);
  const sent = ours.written.length;
  assert.ok(sent < 200, `only ${sent} written before the socket filled`);
  peer.conn.resume();
  assert.equal(await p, true);
  await settle();
  assert.equal(peer.count('update'), 200);
});

test('backpressure: sendUpdates gives up when the session goes down', async () => {
  const h = harness();
  const peer = await h.establish();
  h.dialer.last!.conn.highWaterMark = 100;
  peer.conn.pause();
  const p = h.session.sendUpdates(Array.from({ length: 50 }, () => UPDATE));
  await settle();
  await h.clock.advance(90_000);
  assert.equal(h.session.state, 'Idle');
  assert.equal(await p, false);
});

test('messages to the session are logged with the peer and transitions at info', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const { pino } = await import('pino');
  const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  const h = harness({ logger });
  await h.establish();
  await settle();
  const change = lines.find((l) => l.msg === 'BGP state change' && l.to === 'Established');
  assert.ok(change);
  assert.equal(change!.level, 30);
  assert.equal(change!.component, 'bgp');
  assert.equal(change!.peer, PEER_ADDRESS);
  assert.equal(change!.from, 'OpenConfirm');
});

test('an in-memory pair carries raw bytes both ways', async () => {
  const [a, b] = memoryPair({ address: '1.1.1.1', port: 1 }, { address: '2.2.2.2', port: 2 });
  const got: string[] = [];
  b.on('data', (d: Buffer) => got.push(d.toString()));
  a.write(Buffer.from('x'));
  a.write(encodeMessage({ type: 'keepalive' }, { fourOctetAs: false, addPath: { receive: new Set(), send: new Set() }, extendedMessage: false }));
  await settle();
  assert.equal(got.length, 2);
  const p = new RawPeer(a);
  assert.equal(p.closed, false);
});

test('the peer resolving a collision against our connection: wait in Active for its own, no back-off', async () => {
  const h = harness({ routerId: '10.0.0.0' }); // the peer's id is higher: it keeps its connection
  const out = await h.connect();
  out.send(peerOpen());
  await settle();
  assert.equal(h.session.state, 'OpenConfirm');
  out.send({ type: 'notification', notification: { code: 6, subcode: 7, data: Buffer.alloc(0) } });
  await settle();
  assert.equal(h.session.state, 'Active');
  assert.equal(h.session.status().idleHoldSeconds, undefined);
  assert.equal(h.events.down.length, 0);
  const inc = await h.incoming();
  inc.send(peerOpen());
  inc.send({ type: 'keepalive' });
  await settle();
  assert.equal(h.session.state, 'Established');
});

test('a second connection in flight takes over when the peer drops our first one', async () => {
  const h = harness({ routerId: '10.0.0.0' });
  const out = await h.connect();
  const inc = await h.incoming();
  assert.equal(inc.count('open'), 1);
  out.send({ type: 'notification', notification: { code: 6, subcode: 7, data: Buffer.alloc(0) } });
  await settle();
  assert.equal(out.closed, true);
  assert.equal(h.session.state, 'OpenSent');
  inc.send(peerOpen());
  inc.send({ type: 'keepalive' });
  await settle();
  assert.equal(h.session.state, 'Established');
  assert.equal(h.events.down.length, 0);
});

test('stop() called from a handler waits until the connection is closed', async () => {
  const h = harness();
  let stopped: Promise<void> | undefined;
  h.session.setHandlers({ onUpdate: () => (stopped = h.session.stop(CeaseSubcode.MAXIMUM_NUMBER_OF_PREFIXES_REACHED)) });
  const peer = await h.establish();
  peer.send({ type: 'update', update: UPDATE });
  peer.send({ type: 'update', update: UPDATE }); // not delivered: the stop goes first
  await settle();
  await stopped;
  assert.equal(h.session.state, 'Idle');
  assert.deepEqual(peer.notification(), { code: 6, subcode: 1, data: Buffer.alloc(0) });
  assert.equal(h.session.status().counters.prefixesReceived, 2);
});
