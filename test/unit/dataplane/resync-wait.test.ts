// The periodic full resync (a dump of every route of ours) waits while a table is
// arriving or leaving, but never longer than ten periods, and a trickle never holds it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resyncWaits } from '../../../src/dataplane/dataplane.js';

test('a periodic resync waits while routes move fast, and runs once they stop', () => {
  assert.equal(resyncWaits(50_000, 0, 30_000), true, 'a table arriving');
  assert.equal(resyncWaits(1000, 5000, 30_000), true, '1000 operations in the last second');
  assert.equal(resyncWaits(999, 5000, 30_000), false, 'below the threshold');
  assert.equal(resyncWaits(0, 0, 30_000), false, 'nothing moving');
});

test('a periodic resync never waits longer than ten periods', () => {
  assert.equal(resyncWaits(50_000, 299_999, 30_000), true);
  assert.equal(resyncWaits(50_000, 300_000, 30_000), false);
});
