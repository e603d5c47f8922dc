// A million IPv4 prefixes from one peer, through the real decoder, into the RIB. Reports
// heap use; asserts only a generous bound so CI catches a blow-up, never a timing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { decodeUpdate, encodeUpdate, type CodecOptions } from '../../../../src/bgp/wire/index.js';
import { AdjRibOut } from '../../../../src/bgp/rib/index.js';
import { SELF, attrs, ebgpPeer, peer, ribWith, seq } from './helpers.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const OPTS: CodecOptions = { fourOctetAs: true, addPath: { receive: new Set(), send: new Set() }, extendedMessage: false };
const TOTAL = 1_000_000;
const PER_UPDATE = 800; // about what fits in 4096 octets

function heapMb(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1048576;
}

/** /24s from 11.0.0.0 up, as the decoder produces them. */
function batch(start: number, n: number): string[] {
  const out: string[] = [];
  for (let i = start; i < start + n; i++) {
    const a = 11 * 16777216 + i * 256;
    out.push(`${Math.floor(a / 16777216)}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.0/24`);
  }
  return out;
}

test('load: 1M IPv4 paths from one peer (heap report)', (t) => {
  const before = heapMb();
  const rib = ribWith([peer(2)]);
  let t0 = performance.now();
  for (let start = 0, k = 0; start < TOTAL; start += PER_UPDATE, k++) {
    // 16 attribute sets: realistic variety, still heavily shared.
    const a = attrs('10.0.0.2', { asPath: seq(65001, 65100 + (k % 16)), med: k % 4, localPref: 100 });
    const msg = encodeUpdate({ withdrawn: [], attributes: a, nlri: batch(start, Math.min(PER_UPDATE, TOTAL - start)) }, OPTS);
    rib.applyUpdate('peer2', decodeUpdate(msg, OPTS));
  }
  const ingestMs = performance.now() - t0;
  const afterRib = heapMb();
  assert.equal(rib.prefixCount('ipv4'), TOTAL);
  assert.equal(rib.accepted('peer2', 'ipv4'), TOTAL);
  const ribMb = afterRib - before;

  t0 = performance.now();
  const out = new AdjRibOut(ebgpPeer(7), SELF);
  const dump = out.sync('ipv4', rib.bestPaths('ipv4'));
  const dumpMs = performance.now() - t0;
  const groups = dump.announced.length;
  const dumped = dump.announced.reduce((n, g) => n + g.prefixes.length, 0);
  dump.announced.length = 0;
  const outMb = heapMb() - afterRib;
  assert.equal(dumped, TOTAL);

  t0 = performance.now();
  const gone = rib.removePeer('peer2').length;
  const removeMs = performance.now() - t0;
  out.clear();
  const leftMb = heapMb() - before;

  t.diagnostic(`RIB (Adj-RIB-In + Loc-RIB) for ${TOTAL} paths: ${ribMb.toFixed(1)} MB heap, ${((ribMb * 1048576) / TOTAL).toFixed(0)} B/prefix; ingest ${ingestMs.toFixed(0)} ms incl. encode+decode`);
  t.diagnostic(`Adj-RIB-Out to one eBGP peer: +${outMb.toFixed(1)} MB; initial dump ${dumpMs.toFixed(0)} ms in ${groups} attribute groups`);
  t.diagnostic(`removePeer: ${gone} changes in ${removeMs.toFixed(0)} ms; heap left ${leftMb.toFixed(1)} MB, attribute sets left ${rib.attributeSets}`);
  assert.equal(gone, TOTAL);
  assert.equal(rib.attributeSets, 0);
  assert.ok(ribMb < 600, `RIB heap ${ribMb.toFixed(0)} MB`);
});
