// `tabby bench codec`: UPDATE decode and encode throughput, prefixes per second, for
// IPv4 and IPv6 tables. Decoding goes through MessageReader in 1460-byte segments, as
// off a TCP socket; encoding builds full UPDATEs from prefix lists.

import { decodeUpdate, encodeUpdate, MessageReader, type CodecOptions, type PathAttributes } from '../bgp/wire/index.js';
import { BenchError, checkInt, now } from './common.js';
import { benchResult, type BenchResult, type Sample } from './report.js';

export interface CodecOptionsArgs {
  prefixes: number[];
  reps: number;
  progress: (line: string) => void;
}

const OPTS: CodecOptions = { fourOctetAs: true, addPath: { receive: new Set(), send: new Set() }, extendedMessage: false };
const ATTRS: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [65001, 65002] }], nextHop: '10.0.0.1', med: 5, communities: [0xfde90064] };
/** Prefixes per UPDATE: about what fits in 4096 bytes. */
export const PER = { ipv4: 900, ipv6: 400 } as const;
export type Fam = keyof typeof PER;

function prefixLists(family: Fam, total: number): string[][] {
  const lists: string[][] = [];
  for (let n = 0; n < total; ) {
    const nlri: string[] = [];
    for (let i = 0; i < PER[family] && n < total; i++, n++) {
      nlri.push(family === 'ipv4' ? `${10 + (n >>> 16)}.${(n >>> 8) & 255}.${n & 255}.0/24` : `2001:db8:${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}::/64`);
    }
    lists.push(nlri);
  }
  return lists;
}

function encodeAll(family: Fam, lists: string[][]): Buffer[] {
  return lists.map((nlri) =>
    family === 'ipv4'
      ? encodeUpdate({ attributes: ATTRS, nlri }, OPTS)
      : encodeUpdate({ attributes: { origin: 0, asPath: ATTRS.asPath!, mpReach: { family: 'ipv6', nextHop: 'fd00::1', nlri } } }, OPTS),
  );
}

/** The UPDATEs announcing `total` distinct prefixes of `family`, PER[family] to a message, back to back. */
export function updateStream(family: Fam, total: number): Buffer {
  return Buffer.concat(encodeAll(family, prefixLists(family, total)));
}

/** Decodes a stream of UPDATEs fed in 1460-byte segments; returns the prefixes announced. */
export function decodeAll(data: Buffer): number {
  const r = new MessageReader();
  let prefixes = 0;
  for (let i = 0; i < data.length; i += 1460) {
    r.push(data.subarray(i, i + 1460));
    for (const m of r) {
      const u = decodeUpdate(m, OPTS);
      prefixes += u.nlri.length + (u.attributes.mpReach?.nlri.length ?? 0);
    }
  }
  return prefixes;
}

export async function benchCodec(o: CodecOptionsArgs): Promise<BenchResult> {
  for (const p of o.prefixes) checkInt('prefixes', p, 1, 10_000_000);
  checkInt('reps', o.reps, 1, 100);
  const samples: Sample[] = [];
  for (const total of o.prefixes) {
    for (const family of ['ipv4', 'ipv6'] as const) {
      o.progress(`codec: building ${total} ${family} prefixes`);
      const lists = prefixLists(family, total);
      const data = Buffer.concat(encodeAll(family, lists)); // warm-up and the decode input
      decodeAll(data); // warm-up
      for (let rep = 0; rep < o.reps; rep++) {
        o.progress(`codec: ${family} ${total}, rep ${rep + 1}/${o.reps}`);
        let t0 = now();
        const got = decodeAll(data);
        const dec = now() - t0;
        if (got !== total) throw new BenchError(`decoded ${got} prefixes, expected ${total}`);
        t0 = now();
        const msgs = encodeAll(family, lists);
        const enc = now() - t0;
        samples.push({ metric: `decode ${family} ${total}`, subject: 'tabby', rep, value: total / dec, unit: 'prefixes/s', seconds: dec, bytes: data.length });
        samples.push({ metric: `encode ${family} ${total}`, subject: 'tabby', rep, value: total / enc, unit: 'prefixes/s', seconds: enc, messages: msgs.length });
      }
    }
  }
  const ratios: Record<string, number[]> = {};
  const targets: Record<string, number> = {};
  for (const total of o.prefixes) {
    for (const dir of ['decode', 'encode']) {
      for (const family of ['ipv4', 'ipv6']) {
        const k = `${dir} ${family} ${total}: prefixes/s / 1M`;
        ratios[k] = samples.filter((s) => s.metric === `${dir} ${family} ${total}`).map((s) => s.value / 1e6);
        targets[k] = 1;
      }
    }
  }
  return await benchResult({
    benchmark: 'codec',
    options: { prefixes: o.prefixes, reps: o.reps, perUpdate: PER },
    samples,
    ratios,
    targets,
    notes: ['ratios are against the 1M prefixes/s target (no external anchor); IPv4 /24 in NLRI, IPv6 /64 in MP_REACH'],
  });
}
