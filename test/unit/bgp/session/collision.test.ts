import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collisionSurvivor, incomingDecision } from '../../../../src/bgp/session/collision.js';

test('the connection initiated by the higher BGP identifier survives (unsigned compare)', () => {
  assert.equal(collisionSurvivor('10.0.0.2', '10.0.0.1', 65000, 65001), 'outgoing');
  assert.equal(collisionSurvivor('10.0.0.1', '10.0.0.2', 65000, 65001), 'incoming');
  assert.equal(collisionSurvivor('10.0.0.1', '200.0.0.1', 65000, 65001), 'incoming');
  assert.equal(collisionSurvivor('255.255.255.255', '127.0.0.1', 65000, 65001), 'outgoing');
});

test('bug: equal BGP identifiers closed both connections; RFC 6286 §2.3 keeps the one from the larger AS', () => {
  // Both ends run the same rule and must pick the same TCP connection: A's outgoing is B's incoming.
  const a = collisionSurvivor('10.0.0.1', '10.0.0.1', 65010, 4200000000);
  const b = collisionSurvivor('10.0.0.1', '10.0.0.1', 4200000000, 65010);
  assert.equal(a, 'incoming', 'A (smaller AS) keeps the connection B opened');
  assert.equal(b, 'outgoing', 'B (larger AS) keeps the connection it opened');
});

test('what happens to an incoming connection in each state', () => {
  const none = { outgoing: true, hasSecond: false };
  assert.equal(incomingDecision('Idle', none), 'refuse');
  assert.equal(incomingDecision('Connect', none), 'adopt');
  assert.equal(incomingDecision('Active', none), 'adopt');
  assert.equal(incomingDecision('OpenSent', none), 'second');
  assert.equal(incomingDecision('OpenConfirm', none), 'second');
  assert.equal(incomingDecision('OpenSent', { outgoing: true, hasSecond: true }), 'reject');
  assert.equal(incomingDecision('OpenSent', { outgoing: false, hasSecond: false }), 'reject');
  assert.equal(incomingDecision('Established', none), 'reject');
  // RFC 4724 §4.2, BIRD's bgp_incoming_connection(): a graceful-restart peer connecting
  // again while Established has restarted.
  assert.equal(incomingDecision('Established', { ...none, gracefulRestart: true }), 'restarted');
  // BIRD's bgp_incoming_connection() accepts from BSS_CONNECT on, where a lost connection
  // returns at once; only its error wait after a protocol error (BSS_DELAY) refuses.
  assert.equal(incomingDecision('Idle', { ...none, holdAfterLoss: true }), 'resume');
});
