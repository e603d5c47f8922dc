// Properties over random input: decoding never throws anything but BgpMessageError (and
// never the wrapper a decoder bug would produce), whatever the bytes; what decodes also
// re-encodes to something that decodes to the same value; random attributes round-trip.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  BgpMessageError,
  decodeMessage,
  encodeMessage,
  encodeUpdate,
  decodeUpdate,
  INTERNAL_DECODER_ERROR,
  MessageReader,
  type CodecOptions,
  type DecodedMessage,
  type PathAttributes,
  type Update,
} from '../../../../src/bgp/wire/index.js';
import { formatIpv6At, readIpv4Prefixes, readIpv6Prefixes } from '../../../../src/bgp/wire/prefix.js';
import { fixture, options } from './helpers.js';
import { readPcap, tcpStreams } from './pcap.js';

const OPTION_SETS: CodecOptions[] = [
  options(),
  options({ fourOctetAs: false }),
  options({ receive: ['ipv4', 'ipv6'], send: ['ipv4', 'ipv6'] }),
  options({ extendedMessage: true, receive: ['ipv6'] }),
];

/** The decoded message, or undefined after a proper BgpMessageError; anything else fails the property. */
function decodeOrError(msg: Buffer, opts: CodecOptions): DecodedMessage | undefined {
  try {
    return decodeMessage(msg, opts);
  } catch (err) {
    if (!(err instanceof BgpMessageError)) throw new Error(`threw ${String(err)}`);
    if (err.message.startsWith(INTERNAL_DECODER_ERROR)) throw new Error(`decoder bug: ${String(err.cause)}`);
    return undefined;
  }
}

function withHeader(type: number, body: Uint8Array): Buffer {
  const out = Buffer.alloc(19 + body.length, 0xff);
  out.writeUInt16BE(Math.min(19 + body.length, 0xffff), 16);
  out[18] = type;
  out.set(body, 19);
  return out;
}

/** Every message of the captured sessions, as a corpus of valid messages to mutate. */
function captured(): Buffer[] {
  const out: Buffer[] = [];
  for (const s of tcpStreams(readPcap(readFileSync(fixture('bird-gobgp.pcap'))))) {
    const r = new MessageReader();
    r.push(s.data);
    for (const m of r) out.push(Buffer.from(m));
  }
  return out;
}

const SEEDS: Buffer[] = [
  ...captured(),
  encodeUpdate(
    {
      withdrawn: ['10.9.0.0/16'],
      nlri: ['10.1.0.0/16', '192.0.2.0/24'],
      attributes: {
        mpReach: { family: 'ipv6', nextHop: 'fd00::1', linkLocalNextHop: 'fe80::1', nlri: ['fd00:1::/64'] },
        mpUnreach: { family: 'ipv6', withdrawn: ['fd00:2::/64'] },
        origin: 0,
        asPath: [{ type: 2, asns: [65001, 4200000001] }, { type: 1, asns: [1, 2] }],
        nextHop: '10.0.0.1',
        med: 1,
        localPref: 2,
        atomicAggregate: true,
        aggregator: { asn: 4200000001, address: '10.0.0.9' },
        communities: [1, 2],
        originatorId: '1.1.1.1',
        clusterList: ['2.2.2.2'],
        extendedCommunities: [Buffer.alloc(8, 3)],
        largeCommunities: [[1, 2, 3]],
        unknown: [{ flags: 0xc0, type: 99, value: Buffer.from('ab', 'hex') }],
      },
    },
    options({ fourOctetAs: false }),
  ),
];

test('random bodies behind a valid header: only BgpMessageError', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 6 }), fc.uint8Array({ maxLength: 200 }), fc.constantFrom(...OPTION_SETS), (type, body, opts) => {
      decodeOrError(withHeader(type, body), opts);
    }),
    { numRuns: 5000 },
  );
});

test('UPDATE-shaped random bytes (plausible lengths): only BgpMessageError', () => {
  const updateBody = fc
    .tuple(fc.uint8Array({ maxLength: 12 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.constantFrom(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 32, 99), fc.uint8Array({ maxLength: 40 })), { maxLength: 6 }), fc.uint8Array({ maxLength: 12 }))
    .map(([w, attrs, nlri]) => {
      const a = Buffer.concat(attrs.map(([flags, type, v]) => Buffer.concat([Buffer.from([flags & 0xef, type, v.length]), v])));
      return Buffer.concat([Buffer.from([w.length >> 8, w.length & 255]), w, Buffer.from([a.length >> 8, a.length & 255]), a, nlri]);
    });
  fc.assert(
    fc.property(updateBody, fc.constantFrom(...OPTION_SETS), (body, opts) => {
      decodeOrError(withHeader(2, body), opts);
    }),
    { numRuns: 5000 },
  );
});

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);

type Mutation = { kind: 'set' | 'flip' | 'cut' | 'insert'; at: number; value?: number; bit?: number; bytes?: Uint8Array };

function mutate(seed: Buffer, muts: Mutation[], fixLength: boolean): Buffer {
  let b = Buffer.from(seed);
  for (const m of muts) {
    // Mutate past the header mostly, so the interesting decoders are reached.
    const at = 19 + (m.at % Math.max(1, b.length - 19));
    if (m.kind === 'set') b[Math.min(at, b.length - 1)] = m.value!;
    else if (m.kind === 'flip') b[Math.min(at, b.length - 1)]! ^= 1 << m.bit!;
    else if (m.kind === 'cut') b = b.subarray(0, Math.max(19, at));
    else b = Buffer.concat([b.subarray(0, at), m.bytes!, b.subarray(at)]);
  }
  if (fixLength && b.length >= 19) b.writeUInt16BE(Math.min(b.length, 0xffff), 16);
  return b;
}

test('mutated valid messages: only BgpMessageError', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...SEEDS),
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      fc.boolean(),
      fc.constantFrom(...OPTION_SETS),
      (seed, muts, fixLength, opts) => {
        decodeOrError(mutate(seed, muts, fixLength), opts);
      },
    ),
    { numRuns: 10000 },
  );
});

/** The value part of an UPDATE, as plain data (fast-check makes null-prototype objects). */
function comparable(u: Update): unknown {
  const a = { ...u.attributes };
  // Unknown attributes are kept as received; on the way out they are sorted by type and
  // their flags normalised (Partial set).
  if (a.unknown) a.unknown = a.unknown.map((r) => ({ ...r, flags: r.flags & 0xc0 })).sort((x, y) => x.type - y.type);
  return structuredClone({ withdrawn: u.withdrawn, withdrawnPathIds: u.withdrawnPathIds, nlri: u.nlri, nlriPathIds: u.nlriPathIds, attributes: a });
}

test('whatever decodes re-encodes to the same value (4-octet sessions)', () => {
  const fourOctet = OPTION_SETS.filter((o) => o.fourOctetAs);
  fc.assert(
    fc.property(fc.constantFrom(...SEEDS), fc.array(mutation, { maxLength: 3 }), fc.constantFrom(...fourOctet), (seed, muts, opts) => {
      const d = decodeOrError(mutate(seed, muts, true), opts);
      if (d === undefined) return;
      // Send what we received: path identifiers where they came in.
      const mirror: CodecOptions = { ...opts, addPath: { receive: opts.addPath.receive, send: opts.addPath.receive } };
      const again = decodeMessage(encodeMessage(d, mirror), opts);
      assert.equal(again.type, d.type);
      if (d.type === 'update' && again.type === 'update') assert.deepEqual(comparable(again.update), comparable(d.update));
      // My AS is derived from the AS on the way out, so a peer's inconsistent one is not kept.
      else if (d.type === 'open' && again.type === 'open') assert.deepEqual({ ...again.open, myAs: 0 }, { ...d.open, myAs: 0 });
      else assert.deepEqual(again, d);
    }),
    { numRuns: 5000 },
  );
});

test('MessageReader over random chunking of a random byte stream: only BgpMessageError', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.constantFrom(...SEEDS), fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u))), { maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }), (parts, sizes) => {
      const all = Buffer.concat(parts);
      const r = new MessageReader();
      let i = 0;
      let k = 0;
      try {
        while (i < all.length) {
          const n = sizes[k++ % sizes.length]!;
          r.push(all.subarray(i, i + n));
          i += n;
          for (const m of r) decodeOrError(m, OPTION_SETS[0]!);
        }
      } catch (err) {
        if (!(err instanceof BgpMessageError)) throw err;
      }
    }),
    { numRuns: 2000 },
  );
});

// --- generated attributes ---

function prefixesFrom(bytes: Uint8Array, v6: boolean): string[] {
  // Turn random octets into well-formed NLRI, then into strings with the codec's own reader.
  const b: number[] = [];
  let p = 0;
  while (p < bytes.length) {
    const len = bytes[p]! % (v6 ? 129 : 33);
    const n = (len + 7) >> 3;
    b.push(len);
    for (let i = 0; i < n; i++) b.push(bytes[(p + 1 + i) % bytes.length]!);
    p += 1 + n;
  }
  const out: string[] = [];
  const buf = Buffer.from(b);
  (v6 ? readIpv6Prefixes : readIpv4Prefixes)(buf, 0, buf.length, out, undefined);
  return out;
}

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIpv6At(b, 0));
const asn = fc.integer({ min: 1, max: 0xffffffff });
const segment = fc.record({ type: fc.constantFrom(1 as const, 2 as const, 3 as const, 4 as const), asns: fc.array(asn, { minLength: 1, maxLength: 5 }) });

const attributes: fc.Arbitrary<PathAttributes> = fc.record(
  {
    origin: fc.constantFrom(0 as const, 1 as const, 2 as const),
    asPath: fc.array(segment, { maxLength: 4 }),
    nextHop: ipv4,
    med: fc.nat(0xffffffff),
    localPref: fc.nat(0xffffffff),
    atomicAggregate: fc.constant(true),
    aggregator: fc.record({ asn, address: ipv4 }),
    communities: fc.array(fc.nat(0xffffffff), { minLength: 1, maxLength: 80 }),
    originatorId: ipv4,
    clusterList: fc.array(ipv4, { minLength: 1, maxLength: 4 }),
    mpReach: fc.record(
      { family: fc.constant('ipv6' as const), nextHop: ipv6, linkLocalNextHop: ipv6, nlri: fc.uint8Array({ maxLength: 300 }).map((b) => prefixesFrom(b, true)) },
      { requiredKeys: ['family', 'nextHop', 'nlri'] },
    ),
    mpUnreach: fc.record({ family: fc.constant('ipv6' as const), withdrawn: fc.uint8Array({ maxLength: 60 }).map((b) => prefixesFrom(b, true)) }),
    extendedCommunities: fc.array(fc.uint8Array({ minLength: 8, maxLength: 8 }).map((u) => Buffer.from(u)), { minLength: 1, maxLength: 3 }),
    largeCommunities: fc.array(fc.tuple(fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(0xffffffff)), { minLength: 1, maxLength: 30 }),
    unknown: fc.uniqueArray(
      fc.record({ flags: fc.constant(0xe0), type: fc.integer({ min: 19, max: 255 }).filter((t) => t !== 32), value: fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)) }),
      { selector: (r) => r.type, minLength: 1, maxLength: 3 },
    ),
  },
  { requiredKeys: [] },
);

test('generated UPDATEs round-trip: encode then decode gives the input back (4-octet)', () => {
  const opts = options({ extendedMessage: true });
  fc.assert(
    fc.property(attributes, fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ maxLength: 80 }), (attrs, w, n) => {
      const u: Update = { withdrawn: prefixesFrom(w, false), attributes: attrs, nlri: prefixesFrom(n, false) };
      const back = decodeUpdate(encodeUpdate(u, opts), opts);
      assert.deepEqual(comparable(back), comparable(u));
      assert.deepEqual(back.discarded, []);
    }),
    { numRuns: 1000 },
  );
});

test('generated UPDATEs round-trip on a 2-octet session when the path has no confederation segments', () => {
  const opts = options({ fourOctetAs: false, extendedMessage: true });
  const plainPath = fc.array(fc.record({ type: fc.constantFrom(1 as const, 2 as const), asns: fc.array(asn, { minLength: 1, maxLength: 5 }) }), { maxLength: 4 });
  fc.assert(
    fc.property(plainPath, fc.option(fc.record({ asn, address: ipv4 }), { nil: undefined }), (asPath, aggregator) => {
      // Adjacent sequences come back joined, which is the same path.
      const joined = asPath.reduce<typeof asPath>((acc, s) => {
        const last = acc[acc.length - 1];
        if (last && last.type === 2 && s.type === 2) last.asns.push(...s.asns);
        else acc.push({ type: s.type, asns: [...s.asns] });
        return acc;
      }, []);
      const attrs: PathAttributes = aggregator ? { asPath: joined, aggregator } : { asPath: joined };
      const back = decodeUpdate(encodeUpdate({ attributes: attrs }, opts), opts);
      // An AS_TRANS in the input cannot be told apart from a mapped 4-octet AS.
      if (joined.some((s) => s.asns.includes(23456))) return;
      assert.deepEqual(structuredClone(back.attributes), structuredClone(attrs));
    }),
    { numRuns: 2000 },
  );
});

test('IPv6 text matches the WHATWG URL serialiser (an independent RFC 5952 implementation)', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.constant(0), fc.nat(0xffff)), { minLength: 8, maxLength: 8 }), (groups) => {
      const b = Buffer.alloc(16);
      groups.forEach((g, i) => b.writeUInt16BE(g, 2 * i));
      const ours = formatIpv6At(b, 0);
      if (ours.startsWith('::ffff:') && ours.includes('.')) return; // mapped IPv4 keeps the dotted form
      const url = new URL(`http://[${groups.map((g) => g.toString(16)).join(':')}]/`).hostname;
      assert.equal(`[${ours}]`, url);
    }),
    { numRuns: 5000 },
  );
});
