// Start-up without the datastore: retried with jittered exponential back-off and one log
// line per attempt until the store answers (fake sleeps, no real time).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { backoffMs } from '../../../src/agent/backoff.js';
import { waitForDatastore } from '../../../src/agent/datastore-wait.js';
import type { Datastore } from '../../../src/datastore/datastore.js';

test('back-off: doubles to the cap, jittered between half and all of the step', () => {
  assert.equal(backoffMs(1, { random: () => 0 }), 500);
  assert.equal(backoffMs(1, { random: () => 0.999999 }), 1000);
  assert.equal(backoffMs(3, { random: () => 0.5 }), 3000);
  assert.equal(backoffMs(10, { random: () => 0 }), 7500, 'capped at 15 s');
  assert.equal(backoffMs(50, { random: () => 1 - 1e-9 }), 15000);
  const spread = new Set(Array.from({ length: 50 }, () => backoffMs(4)));
  assert.ok(spread.size > 10, 'two agents rarely retry in step');
});

test('waits through failures, logging each attempt, and returns the store', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  const store = {} as Datastore;
  let calls = 0;
  const slept: number[] = [];
  const attempts: string[] = [];
  const got = await waitForDatastore(
    async () => {
      if (++calls < 4) throw new Error(`etcd https://10.0.0.2:2379: cannot reach etcd (${calls})`);
      return store;
    },
    log,
    { random: () => 0, sleep: async (ms) => void slept.push(ms), onAttempt: (n, err) => attempts.push(`${n}:${err.message}`) },
  );
  assert.equal(got, store);
  assert.deepEqual(slept, [500, 1000, 2000]);
  assert.equal(attempts.length, 3);
  const warns = lines.filter((l) => l.level === 40);
  assert.equal(warns.length, 3);
  assert.match(String(warns[0]!.msg), /datastore unreachable \(attempt 1\); retrying in 0.5 s/);
  assert.equal(warns[2]!.attempt, 3);
  // pino's err serializer: the error's type, message and stack.
  assert.match(String((warns[2]!.err as { message?: string }).message), /cannot reach etcd \(3\)/);
  assert.ok(lines.some((l) => l.msg === 'datastore reachable; starting' && l.attempts === 4));
});

test('stops waiting when aborted (SIGTERM)', async () => {
  const ac = new AbortController();
  const log = pino({ level: 'silent' });
  let calls = 0;
  const p = waitForDatastore(
    async () => {
      calls++;
      throw new Error('down');
    },
    log,
    { signal: ac.signal, sleep: async () => ac.abort(new Error('stopped by SIGTERM')) },
  );
  await assert.rejects(p, /stopped by SIGTERM/);
  assert.equal(calls, 1);
  await assert.rejects(waitForDatastore(async () => ({}) as Datastore, log, { signal: ac.signal }), /stopped by SIGTERM/);
});
