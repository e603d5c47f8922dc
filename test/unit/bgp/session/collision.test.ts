import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collisionSurvivor, incomingDecision } from '../../../../src/bgp/session/collision.js';

test('the connection initiated by the higher BGP identifier survives (unsigned compare)', () => {
  assert.equal(collisionSurvivor('10.0.0.2', '10.0.0.1'), 'outgoing');
  assert.equal(collisionSurvivor('10.0.0.1', '10.0.0.2'), 'incoming');
  assert.equal(collisionSurvivor('10.0.0.1', '200.0.0.1'), 'incoming');
  assert.equal(collisionSurvivor('255.255.255.255', '127.0.0.1'), 'outgoing');
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
});
