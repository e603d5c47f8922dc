// Each state function alone: events in, next state, reason and actions out.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  active,
  connect,
  established,
  idle,
  openConfirm,
  openSent,
  STATE_FUNCTIONS,
  STATES,
  type Action,
  type FsmContext,
  type Transition,
} from '../../../../src/bgp/session/fsm.js';
import { resolveConfig, type SessionConfig } from '../../../../src/bgp/session/config.js';
import { localOpen, negotiate } from '../../../../src/bgp/session/negotiate.js';
import { BgpMessageError, CeaseSubcode, decodeOpen, encodeOpen, ErrorCode, type DecodedOpen } from '../../../../src/bgp/wire/index.js';
import { LOCAL_ID, PEER_ADDRESS, PEER_ID, peerCapabilities } from './helpers.js';

function ctx(over: Partial<SessionConfig> = {}, extra: Partial<FsmContext> = {}): FsmContext {
  const cfg = resolveConfig({ localAs: 65000, remoteAs: 65001, routerId: LOCAL_ID, remoteAddress: PEER_ADDRESS, ...over });
  return { cfg, localOpen: localOpen(cfg), outgoing: true, dialing: false, ...extra };
}

function open(o: { asn?: number; holdTime?: number; bgpId?: string } = {}): DecodedOpen {
  const asn = o.asn ?? 65001;
  return decodeOpen(encodeOpen({ asn, holdTime: o.holdTime ?? 90, bgpId: o.bgpId ?? PEER_ID, capabilities: peerCapabilities(asn) }));
}

function established_ctx(holdTime = 90): FsmContext {
  const c = ctx();
  return { ...c, negotiated: negotiate(c.cfg, c.localOpen, open({ holdTime })) };
}

function kinds(t: Transition): string[] {
  return t.actions.map((a) => (a.kind === 'startTimer' || a.kind === 'stopTimer' ? `${a.kind}:${a.timer}` : a.kind === 'send' ? `send:${a.message.type}` : a.kind));
}

function notified(t: Transition): { code: number; subcode: number } | undefined {
  const a = t.actions.find((x): x is Extract<Action, { kind: 'notify' }> => x.kind === 'notify');
  return a ? { code: a.notification.code, subcode: a.notification.subcode } : undefined;
}

const STOP = { type: 'Stop' as const, notification: { code: 6, subcode: 2, data: Buffer.alloc(0) } };

test('there is one function per RFC 4271 state', () => {
  assert.deepEqual(STATES, ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established']);
  for (const s of STATES) assert.equal(typeof STATE_FUNCTIONS[s], 'function');
});

test('Idle: start goes to Connect and waits the connect delay before dialling', () => {
  const t = idle(ctx({ connectDelayTime: 2 }), { type: 'Start' });
  assert.equal(t.next, 'Connect');
  assert.deepEqual(t.actions, [{ kind: 'startTimer', timer: 'connectRetry', ms: 2000 }]);
});

test('Idle: without a connect delay it dials at once with the connect retry timer', () => {
  const t = idle(ctx({ connectDelayTime: 0 }), { type: 'Start' });
  assert.equal(t.next, 'Connect');
  assert.deepEqual(t.actions, [{ kind: 'dial' }, { kind: 'startTimer', timer: 'connectRetry', ms: 5000 }]);
});

test('Idle: a passive session goes to Active and never dials', () => {
  const t = idle(ctx({ passive: true }), { type: 'Start' });
  assert.equal(t.next, 'Active');
  assert.deepEqual(t.actions, []);
  const again = active(ctx({ passive: true }), { type: 'ConnectRetryTimerExpires' });
  assert.equal(again.next, 'Active');
  assert.ok(!kinds(again).includes('dial'));
});

test('Idle: the idle hold expiring restarts like a start', () => {
  assert.equal(idle(ctx(), { type: 'IdleHoldTimerExpires' }).next, 'Connect');
  assert.equal(idle(ctx(), { type: 'HoldTimerExpires' }).next, 'Idle');
});

test('Connect: a failed dial goes to Active with the socket error and the retry timer', () => {
  const t = connect(ctx(), { type: 'TcpFails', error: 'Socket: Connection refused' });
  assert.equal(t.next, 'Active');
  assert.equal(t.error, 'Socket: Connection refused');
  assert.deepEqual(kinds(t), ['close', 'startTimer:connectRetry']);
});

test('Connect: connect retry with a dial outstanding reports a timeout and dials again', () => {
  const t = connect(ctx({}, { dialing: true }), { type: 'ConnectRetryTimerExpires' });
  assert.equal(t.next, 'Connect');
  assert.equal(t.error, 'Socket: Connection timed out');
  assert.deepEqual(kinds(t), ['close', 'dial', 'startTimer:connectRetry']);
  const delay = connect(ctx(), { type: 'ConnectRetryTimerExpires' });
  assert.equal(delay.error, undefined);
  assert.deepEqual(kinds(delay), ['dial', 'startTimer:connectRetry']);
});

test('Connect/Active: a connection sends OPEN and starts the large OpenSent hold timer', () => {
  for (const [fn, ev] of [
    [connect, { type: 'TcpConnected' }],
    [connect, { type: 'TcpIncoming' }],
    [active, { type: 'TcpIncoming' }],
  ] as const) {
    const t = fn(ctx(), ev);
    assert.equal(t.next, 'OpenSent');
    assert.deepEqual(kinds(t), ['stopTimer:connectRetry', 'send:open', 'startTimer:hold']);
    assert.deepEqual(t.actions[2], { kind: 'startTimer', timer: 'hold', ms: 240_000 });
  }
});

test('Active: connect retry expiry dials again', () => {
  const t = active(ctx(), { type: 'ConnectRetryTimerExpires' });
  assert.equal(t.next, 'Connect');
  assert.deepEqual(kinds(t), ['dial', 'startTimer:connectRetry']);
});

test('OpenSent: an acceptable OPEN negotiates, sends KEEPALIVE and starts hold and keepalive timers', () => {
  const t = openSent(ctx({ holdTime: 90 }), { type: 'Open', open: open({ holdTime: 30 }) });
  assert.equal(t.next, 'OpenConfirm');
  assert.deepEqual(kinds(t), ['negotiated', 'send:keepalive', 'stopTimer:hold', 'startTimer:hold', 'startTimer:keepalive']);
  assert.deepEqual(t.actions[3], { kind: 'startTimer', timer: 'hold', ms: 30_000 });
  assert.deepEqual(t.actions[4], { kind: 'startTimer', timer: 'keepalive', ms: 10_000 });
});

test('OpenSent: hold time 0 on either side means no hold and no keepalive timers', () => {
  const t = openSent(ctx({ holdTime: 90 }), { type: 'Open', open: open({ holdTime: 0 }) });
  assert.equal(t.next, 'OpenConfirm');
  assert.deepEqual(kinds(t), ['negotiated', 'send:keepalive', 'stopTimer:hold']);
});

test('OpenSent: a configured keepalive time is used when below a third of the hold time', () => {
  const t = openSent(ctx({ holdTime: 90, keepaliveTime: 10 }), { type: 'Open', open: open() });
  assert.deepEqual(t.actions.at(-1), { kind: 'startTimer', timer: 'keepalive', ms: 10_000 });
  const capped = openSent(ctx({ holdTime: 9, keepaliveTime: 10 }), { type: 'Open', open: open() });
  assert.deepEqual(capped.actions.at(-1), { kind: 'startTimer', timer: 'keepalive', ms: 3_000 });
});

test('OpenSent: the wrong peer AS is OPEN Message Error / Bad Peer AS', () => {
  const t = openSent(ctx(), { type: 'Open', open: open({ asn: 65009 }) });
  assert.equal(t.next, 'Idle');
  assert.deepEqual(notified(t), { code: ErrorCode.OPEN_MESSAGE_ERROR, subcode: 2 });
  assert.equal(t.error, 'Bad peer AS');
  assert.ok(kinds(t).includes('backoff'));
});

test('OpenSent: an iBGP peer with our own identifier is Bad BGP Identifier; eBGP may share it', () => {
  const ibgp = openSent(ctx({ remoteAs: 65000 }), { type: 'Open', open: open({ asn: 65000, bgpId: LOCAL_ID }) });
  assert.deepEqual(notified(ibgp), { code: 2, subcode: 3 });
  assert.equal(ibgp.error, 'Bad BGP identifier');
  const ebgp = openSent(ctx(), { type: 'Open', open: open({ bgpId: LOCAL_ID }) });
  assert.equal(ebgp.next, 'OpenConfirm');
});

test('OpenSent: KEEPALIVE or UPDATE before OPEN is an FSM error', () => {
  const t = openSent(ctx(), { type: 'Keepalive' });
  assert.equal(t.next, 'Idle');
  assert.deepEqual(notified(t), { code: 5, subcode: 1 });
});

test('OpenSent: a malformed message sends the codec\'s NOTIFICATION', () => {
  const err = new BgpMessageError('bad', 1, 1, 'session-reset');
  const t = openSent(ctx(), { type: 'DecodeError', error: err });
  assert.deepEqual(notified(t), { code: 1, subcode: 1 });
  assert.equal(t.error, 'Connection not synchronized');
});

test('OpenSent: the OpenSent hold timer expiring sends Hold Timer Expired', () => {
  const t = openSent(ctx(), { type: 'HoldTimerExpires' });
  assert.equal(t.next, 'Idle');
  assert.deepEqual(notified(t), { code: 4, subcode: 0 });
  assert.equal(t.error, 'Hold timer expired');
});

test('OpenSent: collision with our id higher keeps the outgoing connection', () => {
  // LOCAL_ID 10.0.0.2 > PEER_ID 10.0.0.1
  const other = { state: 'OpenConfirm' as const, outgoing: true };
  const incoming = openSent(ctx({}, { outgoing: false, other }), { type: 'Open', open: open() });
  assert.equal(incoming.next, 'Idle');
  assert.deepEqual(notified(incoming), { code: ErrorCode.CEASE, subcode: CeaseSubcode.CONNECTION_COLLISION_RESOLUTION });
  assert.ok(kinds(incoming).includes('yield'));
  assert.ok(!kinds(incoming).includes('backoff'));
  const outgoing = openSent(ctx({}, { outgoing: true, other: { state: 'OpenSent', outgoing: false } }), { type: 'Open', open: open() });
  assert.equal(outgoing.next, 'OpenConfirm');
  assert.equal(kinds(outgoing)[0], 'dropOther');
});

test('OpenSent: collision with the peer\'s id higher keeps the incoming connection (ids compared unsigned)', () => {
  // 200.0.0.1 is above 10.0.0.2 only as an unsigned number.
  const peerId = '200.0.0.1';
  const out = openSent(ctx({}, { outgoing: true, other: { state: 'OpenConfirm', outgoing: false } }), { type: 'Open', open: open({ bgpId: peerId }) });
  assert.equal(out.next, 'Idle');
  assert.ok(kinds(out).includes('yield'));
  const inc = openSent(ctx({}, { outgoing: false, other: { state: 'OpenSent', outgoing: true } }), { type: 'Open', open: open({ bgpId: peerId }) });
  assert.equal(inc.next, 'OpenConfirm');
  assert.equal(kinds(inc)[0], 'dropOther');
});

test('OpenConfirm: KEEPALIVE establishes; the keepalive timer sends one', () => {
  const c = established_ctx(90);
  const t = openConfirm(c, { type: 'Keepalive' });
  assert.equal(t.next, 'Established');
  assert.deepEqual(kinds(t), ['startTimer:hold', 'established']);
  const k = openConfirm(c, { type: 'KeepaliveTimerExpires' });
  assert.equal(k.next, 'OpenConfirm');
  assert.deepEqual(kinds(k), ['send:keepalive', 'startTimer:keepalive']);
  assert.deepEqual(notified(openConfirm(c, { type: 'Open', open: open() })), { code: 5, subcode: 2 });
});

test('OpenConfirm: a NOTIFICATION from the peer ends it with "Received: …"', () => {
  const t = openConfirm(established_ctx(), { type: 'Notification', notification: { code: 2, subcode: 2, data: Buffer.alloc(0) } });
  assert.equal(t.next, 'Idle');
  assert.equal(t.error, 'Received: Bad peer AS');
  assert.deepEqual(kinds(t).slice(0, 1), ['close']);
});

test('Established: messages restart the hold timer; UPDATE and ROUTE-REFRESH are delivered', () => {
  const c = established_ctx(90);
  assert.deepEqual(kinds(established(c, { type: 'Keepalive' })), ['startTimer:hold']);
  const u = established(c, { type: 'Update', update: { withdrawn: [], attributes: {}, nlri: [], discarded: [] } });
  assert.equal(u.next, 'Established');
  assert.deepEqual(kinds(u), ['startTimer:hold', 'update']);
  const rr = established(c, { type: 'RouteRefresh', routeRefresh: { afi: 1, safi: 1, subtype: 0 } });
  assert.deepEqual(kinds(rr), ['startTimer:hold', 'routeRefresh']);
  // Hold time 0: nothing to restart.
  assert.deepEqual(kinds(established(established_ctx(0), { type: 'Keepalive' })), []);
});

test('Established: hold timer expiry, OPEN, connection loss and stop', () => {
  const c = established_ctx();
  const hold = established(c, { type: 'HoldTimerExpires' });
  assert.deepEqual(notified(hold), { code: 4, subcode: 0 });
  assert.equal(hold.error, 'Hold timer expired');
  assert.deepEqual(notified(established(c, { type: 'Open', open: open() })), { code: 5, subcode: 3 });
  const lost = established(c, { type: 'TcpFails', error: 'Socket: Connection reset by peer' });
  assert.equal(lost.next, 'Idle');
  assert.equal(lost.error, 'Socket: Connection reset by peer');
  assert.ok(kinds(lost).includes('backoff'));
  const stop = established(c, STOP);
  assert.equal(stop.next, 'Idle');
  assert.deepEqual(notified(stop), { code: 6, subcode: 2 });
  assert.ok(!kinds(stop).includes('backoff'));
});

test('Stop before a BGP conversation closes without a NOTIFICATION', () => {
  for (const fn of [connect, active]) {
    const t = fn(ctx(), STOP);
    assert.equal(t.next, 'Idle');
    assert.equal(notified(t), undefined);
    assert.deepEqual(kinds(t)[0], 'close');
  }
  assert.deepEqual(kinds(idle(ctx(), STOP)), ['stopTimer:idleHold']);
});

test('OpenSent/OpenConfirm: Cease / Connection Collision Resolution from the peer waits in Active', () => {
  const n = { code: 6, subcode: 7, data: Buffer.alloc(0) };
  for (const fn of [openSent, openConfirm]) {
    const t = fn(established_ctx(), { type: 'Notification', notification: n });
    assert.equal(t.next, 'Active');
    assert.equal(t.error, 'Received: Connection collision resolution');
    assert.ok(!kinds(t).includes('backoff'));
    assert.ok(kinds(t).includes('startTimer:connectRetry'));
  }
  assert.equal(established(established_ctx(), { type: 'Notification', notification: n }).next, 'Idle');
});
