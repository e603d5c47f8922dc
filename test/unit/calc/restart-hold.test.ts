// The startup/restart hold as one object, with times passed in (no timers, no sleeps).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RestartHold } from '../../../src/calc/restart-hold.js';

const up = (...ids: string[]) => new Set(ids);

test('a fresh start (no routes of ours in the kernel) never holds', () => {
  const h = new RestartHold({ restarting: false, startedAt: 0 });
  assert.equal(h.holding, false);
  assert.deepEqual(h.update({ now: 0, desired: ['a'], established: up(), lastChange: 0 }), { holding: false });
});

test('a restart holds until every desired session is Established and best paths were quiet for 3 s', () => {
  const h = new RestartHold({ restarting: true, startedAt: 1000 });
  assert.equal(h.holding, true);
  // Sessions still coming up: look again within a second.
  assert.deepEqual(h.update({ now: 2000, desired: ['a', 'b'], established: up('a'), lastChange: 1500 }), { holding: true, recheckMs: 1000 });
  // All up, but tables still arriving: wait out the rest of the quiet period.
  assert.deepEqual(h.update({ now: 5000, desired: ['a', 'b'], established: up('a', 'b'), lastChange: 4500 }), { holding: true, recheckMs: 1000 });
  assert.deepEqual(h.update({ now: 7000, desired: ['a', 'b'], established: up('a', 'b'), lastChange: 4500 }), { holding: true, recheckMs: 500 });
  assert.deepEqual(h.update({ now: 7500, desired: ['a', 'b'], established: up('a', 'b'), lastChange: 4500 }), { holding: false });
  // Released for good: a session going down later does not hold again.
  assert.equal(h.update({ now: 8000, desired: ['a', 'b'], established: up(), lastChange: 7900 }).holding, false);
  assert.equal(h.holding, false);
});

test('every desired session counts, not merely those the speaker has yet', () => {
  const h = new RestartHold({ restarting: true, startedAt: 0 });
  assert.equal(h.update({ now: 10_000, desired: ['a', 'b'], established: up('a'), lastChange: 0 }).holding, true);
});

test('after the maximum time the hold ends whatever happened', () => {
  const h = new RestartHold({ restarting: true, startedAt: 0, maxMs: 90_000 });
  assert.deepEqual(h.update({ now: 89_500, desired: ['a'], established: up(), lastChange: 0 }), { holding: true, recheckMs: 500 });
  assert.deepEqual(h.update({ now: 90_000, desired: ['a'], established: up(), lastChange: 89_999 }), { holding: false });
});

test('no peers at all: released once quiet', () => {
  const h = new RestartHold({ restarting: true, startedAt: 0, quietMs: 3000 });
  assert.equal(h.update({ now: 1000, desired: [], established: up(), lastChange: 0 }).holding, true);
  assert.equal(h.update({ now: 3000, desired: [], established: up(), lastChange: 0 }).holding, false);
});

test('while the speaker defers route selection (RFC 4724 §4.1) the hold stays, past the maximum too', () => {
  // Sessions up and nothing changed for long: quiet only because best paths are held back.
  const h = new RestartHold({ restarting: true, startedAt: 0, maxMs: 90_000 });
  assert.deepEqual(h.update({ now: 10_000, desired: ['a'], established: up('a'), lastChange: 0, recovering: true }), { holding: true, recheckMs: 1000 });
  assert.deepEqual(h.update({ now: 95_000, desired: ['a'], established: up('a'), lastChange: 0, recovering: true }), { holding: true, recheckMs: 1000 });
  // Recovery over: the usual rule (here, past the maximum) releases it.
  assert.deepEqual(h.update({ now: 96_000, desired: ['a'], established: up('a'), lastChange: 95_500 }), { holding: false });
});
