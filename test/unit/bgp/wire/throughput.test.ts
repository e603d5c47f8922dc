// Not the benchmark: a guard against a slow path creeping into prefix decoding. The
// target is >= 1M prefixes/s; the floor here is far lower so a busy CI cannot flake.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAll, PER, updateStream, type Fam } from '../../../../src/bench/codec.js';

for (const [family, per] of Object.entries(PER) as Array<[Fam, number]>) {
  test(`UPDATE stream decoding throughput, ${family}`, (t) => {
    const data = updateStream(family, 150 * per);
    let best = 0;
    for (let round = 0; round < 3; round++) {
      const start = process.hrtime.bigint();
      const prefixes = decodeAll(data);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      assert.equal(prefixes, 150 * per);
      best = Math.max(best, prefixes / seconds);
    }
    t.diagnostic(`${family}: ${(best / 1e6).toFixed(2)}M prefixes/s`);
    assert.ok(best > 250_000, `${best} prefixes/s`);
  });
}
