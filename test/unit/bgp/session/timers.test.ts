import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../helpers/fake-clock.js';
import { IdleBackoff, Timers, type TimerName } from '../../../../src/bgp/session/timers.js';

test('back-off starts at the initial wait, doubles, and caps', () => {
  const b = new IdleBackoff({ initial: 5000, max: 30000, resetAfter: 60000 });
  let now = 0;
  const waits = [];
  for (let i = 0; i < 6; i++) {
    waits.push(b.next(now, 0));
    now += 10_000; // errors closer together than resetAfter
  }
  assert.deepEqual(waits, [5000, 10000, 20000, 30000, 30000, 30000]);
});

test('back-off is forgotten after a stable Established period or a quiet spell', () => {
  const b = new IdleBackoff({ initial: 5000, max: 120000, resetAfter: 60000 });
  assert.equal(b.next(0, 0), 5000);
  assert.equal(b.next(1000, 0), 10000);
  assert.equal(b.next(2000, 60000), 5000, 'up for 60 s');
  assert.equal(b.next(3000, 0), 10000);
  assert.equal(b.next(70_000, 0), 5000, 'more than 60 s since the last error');
});

test('timers fire once, restart when started again, and stop', async () => {
  const clock = new FakeClock();
  const fired: TimerName[] = [];
  const t = new Timers(clock, (n) => fired.push(n));
  t.start('hold', 1000);
  t.start('keepalive', 300);
  await clock.advance(500);
  assert.deepEqual(fired, ['keepalive']);
  t.start('hold', 1000); // restart at 500 → due at 1500
  await clock.advance(900);
  assert.deepEqual(fired, ['keepalive']);
  await clock.advance(100);
  assert.deepEqual(fired, ['keepalive', 'hold']);
  t.start('connectRetry', 10);
  t.stop('connectRetry');
  assert.equal(t.isRunning('connectRetry'), false);
  await clock.advance(100);
  assert.deepEqual(fired, ['keepalive', 'hold']);
});
