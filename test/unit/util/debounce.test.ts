// The debounce with a maximum wait, under fake timers: quiet bursts run once after the
// quiet period; steady churn (a poke every 60 ms, forever) still runs within the maximum
// wait; pokes during a run start the next burst.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, test, mock } from 'node:test';
import { Debounce } from '../../../src/util/debounce.js';

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 }));
afterEach(() => mock.timers.reset());

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => queueMicrotask(r));
};

test('a burst runs once, after the quiet period', async () => {
  const runs: number[] = [];
  const d = new Debounce({ quietMs: 100, maxWaitMs: 1000 }, () => void runs.push(Date.now()));
  for (let t = 0; t < 5; t++) {
    d.poke();
    mock.timers.tick(20);
  }
  assert.deepEqual(runs, []);
  // (Date.now() in a callback reads the end of the tick: step in 10 ms.)
  for (let i = 0; i < 10; i++) {
    mock.timers.tick(10);
    await flush();
  }
  assert.deepEqual(runs, [180], 'the last poke at 80, plus 100 ms of quiet');
});

test('steady churn: a poke every 60 ms with a 100 ms quiet period still runs within the maximum wait', async () => {
  const runs: number[] = [];
  const d = new Debounce({ quietMs: 100, maxWaitMs: 500 }, () => void runs.push(Date.now()));
  for (let t = 0; t < 5000; t += 60) {
    d.poke();
    mock.timers.tick(60);
    await flush();
  }
  assert.ok(runs.length >= 9, `ran ${runs.length} times in 5 s`);
  assert.equal(runs[0], 540, 'the first run at the first tick past the maximum wait');
  for (let i = 1; i < runs.length; i++) assert.ok(runs[i]! - runs[i - 1]! <= 560, `gap ${runs[i]! - runs[i - 1]!} ms`);
});

test('pokes during a run start the next burst, counted from the first of them', async () => {
  let release!: () => void;
  const runs: number[] = [];
  const d = new Debounce({ quietMs: 10, maxWaitMs: 50 }, async () => {
    runs.push(Date.now());
    if (runs.length === 1) await new Promise<void>((r) => (release = r));
  });
  d.poke();
  mock.timers.tick(10);
  await flush();
  assert.deepEqual(runs, [10]);
  d.poke(); // at 10, while the first run waits
  mock.timers.tick(100);
  await flush();
  assert.equal(runs.length, 1, 'never two runs at once');
  release();
  await flush();
  mock.timers.tick(0);
  await flush();
  assert.deepEqual(runs, [10, 110], 'overdue: runs as soon as the first ends');
});

test('flush runs now; stop ends everything', async () => {
  const runs: number[] = [];
  const d = new Debounce({ quietMs: 100, maxWaitMs: 1000 }, () => void runs.push(Date.now()));
  d.poke();
  d.flush();
  await flush();
  assert.deepEqual(runs, [0]);
  d.poke();
  d.stop();
  mock.timers.tick(2000);
  await flush();
  assert.deepEqual(runs, [0]);
  assert.equal(d.pending, false);
});

test('a failing run goes to onError and the next burst still runs', async () => {
  const errors: unknown[] = [];
  let n = 0;
  const d = new Debounce({ quietMs: 10, maxWaitMs: 50, onError: (e) => errors.push(e) }, () => {
    if (++n === 1) throw new Error('boom');
  });
  d.poke();
  mock.timers.tick(10);
  await flush();
  d.poke();
  mock.timers.tick(10);
  await flush();
  assert.equal(n, 2);
  assert.equal(errors.length, 1);
});
