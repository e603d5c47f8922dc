// Not the benchmark: a guard against a slow path creeping into prefix decoding. The
// target is >= 1M prefixes/s; the floor here is far lower so a busy CI cannot flake.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeUpdate, encodeUpdate, MessageReader, type PathAttributes } from '../../../../src/bgp/wire/index.js';
import { options } from './helpers.js';

const OPTS = options();
const ATTRS: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [65001, 65002] }], nextHop: '10.0.0.1', med: 5, communities: [0xfde90064] };

function stream(family: 'ipv4' | 'ipv6', messages: number, perMessage: number): Buffer {
  const out: Buffer[] = [];
  let n = 0;
  for (let m = 0; m < messages; m++) {
    const nlri: string[] = [];
    for (let i = 0; i < perMessage; i++, n++) {
      nlri.push(family === 'ipv4' ? `${10 + (n >>> 16)}.${(n >>> 8) & 255}.${n & 255}.0/24` : `2001:db8:${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}::/64`);
    }
    out.push(
      family === 'ipv4'
        ? encodeUpdate({ attributes: ATTRS, nlri }, OPTS)
        : encodeUpdate({ attributes: { origin: 0, asPath: ATTRS.asPath!, mpReach: { family: 'ipv6', nextHop: 'fd00::1', nlri } } }, OPTS),
    );
  }
  return Buffer.concat(out);
}

for (const [family, per] of [['ipv4', 900], ['ipv6', 400]] as const) {
  test(`UPDATE stream decoding throughput, ${family}`, (t) => {
    const data = stream(family, 150, per);
    let best = 0;
    for (let round = 0; round < 3; round++) {
      const start = process.hrtime.bigint();
      const r = new MessageReader();
      let prefixes = 0;
      for (let i = 0; i < data.length; i += 1460) {
        r.push(data.subarray(i, i + 1460));
        for (const m of r) {
          const u = decodeUpdate(m, OPTS);
          prefixes += u.nlri.length + (u.attributes.mpReach?.nlri.length ?? 0);
        }
      }
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      assert.equal(prefixes, 150 * per);
      best = Math.max(best, prefixes / seconds);
    }
    t.diagnostic(`${family}: ${(best / 1e6).toFixed(2)}M prefixes/s`);
    assert.ok(best > 250_000, `${best} prefixes/s`);
  });
}
