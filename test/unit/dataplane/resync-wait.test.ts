// The periodic full resync (a dump of every route of ours) waits while a table is
// arriving or leaving (or routes are being sent at that moment), never longer than ten periods.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resyncWaits } from '../../../src/dataplane/dataplane.js';

test('a periodic resync waits while routes move fast, and runs once they stop', () => {
  assert.equal(resyncWaits(50_000, false, 0, 30_000), true, 'a table arriving');
  assert.equal(resyncWaits(1000, false, 5000, 30_000), true, '1000 operations in the last second');
  assert.equal(resyncWaits(0, true, 5000, 30_000), true, 'a batch in flight (the kernel is slow with a big table)');
  assert.equal(resyncWaits(999, false, 5000, 30_000), false, 'below the threshold, nothing in flight');
  assert.equal(resyncWaits(0, false, 0, 30_000), false, 'nothing moving');
});

test('a periodic resync never waits longer than ten periods', () => {
  assert.equal(resyncWaits(50_000, true, 299_999, 30_000), true);
  assert.equal(resyncWaits(50_000, true, 300_000, 30_000), false);
});
