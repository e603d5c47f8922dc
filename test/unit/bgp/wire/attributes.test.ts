import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AS_TRANS,
  ATTRIBUTE_ROWS,
  AsPathSegmentType,
  AttrType,
  community,
  decodeUpdate,
  encodeUpdate,
  WellKnownCommunity,
  type AsPathSegment,
  type CodecOptions,
  type PathAttributes,
} from '../../../../src/bgp/wire/index.js';
import { hex, options, update } from './helpers.js';

const { AS_SEQUENCE: SEQ, AS_SET: SET, AS_CONFED_SEQUENCE: CSEQ, AS_CONFED_SET: CSET } = AsPathSegmentType;
const FOUR = options({ fourOctetAs: true });
const TWO = options({ fourOctetAs: false });

/** The attribute bytes of an UPDATE carrying only attributes. */
function attrBytes(attrs: PathAttributes, opts: CodecOptions): string {
  const msg = encodeUpdate({ attributes: attrs }, opts);
  return msg.subarray(23).toString('hex');
}

function decodeAttrs(attrHex: string, opts: CodecOptions, nlri = '') {
  return decodeUpdate(update('', attrHex, nlri), opts);
}

const WIRE: [string, PathAttributes, string, CodecOptions?][] = [
  ['ORIGIN', { origin: 1 }, '400101 01'],
  [
    'AS_PATH 4-octet',
    { asPath: [{ type: SEQ, asns: [65001, 65002] }, { type: SET, asns: [1, 2] }] },
    '400214 0202 0000fde9 0000fdea 0102 00000001 00000002',
  ],
  ['AS_PATH 2-octet', { asPath: [{ type: SEQ, asns: [65001, 65002] }, { type: SET, asns: [1, 2] }] }, '40020c 0202 fde9 fdea 0102 0001 0002', TWO],
  ['AS_PATH confederation segments', { asPath: [{ type: CSEQ, asns: [65010] }, { type: CSET, asns: [65011] }, { type: SEQ, asns: [65001] }] }, '400212 0301 0000fdf2 0401 0000fdf3 0201 0000fde9'],
  ['AS_PATH empty (iBGP)', { asPath: [] }, '400200'],
  ['NEXT_HOP', { nextHop: '10.10.0.1' }, '400304 0a0a0001'],
  ['MULTI_EXIT_DISC', { med: 50 }, '800404 00000032'],
  ['LOCAL_PREF', { localPref: 100 }, '400504 00000064'],
  ['ATOMIC_AGGREGATE', { atomicAggregate: true }, '400600'],
  ['AGGREGATOR 4-octet', { aggregator: { asn: 65001, address: '10.0.0.1' } }, 'c00708 0000fde9 0a000001'],
  ['AGGREGATOR 2-octet', { aggregator: { asn: 65001, address: '10.0.0.1' } }, 'c00706 fde9 0a000001', TWO],
  ['COMMUNITIES', { communities: [WellKnownCommunity.NO_EXPORT, community(65001, 100)] }, 'c00808 ffffff01 fde90064'],
  ['ORIGINATOR_ID', { originatorId: '1.2.3.4' }, '800904 01020304'],
  ['CLUSTER_LIST', { clusterList: ['1.1.1.1', '2.2.2.2'] }, '800a08 01010101 02020202'],
  [
    'MP_REACH_NLRI IPv6 global + link-local',
    { mpReach: { family: 'ipv6', nextHop: 'fd00:10::1', linkLocalNextHop: 'fe80::1', nlri: ['2001:db8:100::/48'] } },
    '800e2c 0002 01 20 fd000010000000000000000000000001 fe800000000000000000000000000001 00 30 20010db80100',
  ],
  [
    'MP_REACH_NLRI IPv6 global only',
    { mpReach: { family: 'ipv6', nextHop: '::ffff:10.10.0.2', nlri: ['fd00:244:1::/64'] } },
    '800e1e 0002 01 10 00000000000000000000ffff0a0a0002 00 40 fd00024400010000',
  ],
  ['MP_REACH_NLRI IPv4', { mpReach: { family: 'ipv4', nextHop: '10.0.0.1', nlri: ['10.0.0.0/8'] } }, '800e0b 0001 01 04 0a000001 00 080a'],
  ['MP_REACH_NLRI IPv4 with IPv6 next hop (RFC 8950)', { mpReach: { family: 'ipv4', nextHop: 'fd00::1', nlri: ['10.0.0.0/8'] } }, '800e17 0001 01 10 fd000000000000000000000000000001 00 080a'],
  ['MP_UNREACH_NLRI', { mpUnreach: { family: 'ipv6', withdrawn: ['2001:db8::/32'] } }, '800f08 0002 01 20 20010db8'],
  ['EXTENDED_COMMUNITIES', { extendedCommunities: [hex('0002fde900000064')] }, 'c01008 0002fde900000064'],
  ['LARGE_COMMUNITY', { largeCommunities: [[65001, 1, 2]] }, 'c0200c 0000fde9 00000001 00000002'],
  ['unknown optional transitive (Partial set on the way out)', { unknown: [{ flags: 0xe0, type: 99, value: hex('abcd') }] }, 'e06302 abcd'],
];

for (const [name, attrs, wire, opts = FOUR] of WIRE) {
  test(`attribute ${name}: encodes to the RFC layout and decodes back`, () => {
    assert.equal(attrBytes(attrs, opts), wire.replace(/ /g, ''));
    const back = decodeAttrs(wire, opts);
    assert.deepEqual(back.attributes, attrs);
    // MP_REACH_NLRI announces, so alone it lacks ORIGIN and AS_PATH.
    assert.equal(back.treatAsWithdraw?.notification.subcode, attrs.mpReach ? 3 : undefined);
    assert.deepEqual(back.discarded, []);
  });
}

test('every attribute row has a wire test above', () => {
  const tested = new Set(WIRE.map(([name]) => name.split(' ')[0]));
  for (const row of ATTRIBUTE_ROWS) {
    if (row.type === AttrType.AS4_PATH || row.type === AttrType.AS4_AGGREGATOR) continue; // tested below
    assert.ok(tested.has(row.name), row.name);
  }
});

const EVERYTHING: PathAttributes = {
  mpReach: { family: 'ipv6', nextHop: 'fd00:10::1', linkLocalNextHop: 'fe80::6038:d9ff:fef7:5c14', nlri: ['2001:db8:100::/48', 'fd00::/8'] },
  mpUnreach: { family: 'ipv6', withdrawn: ['2001:db8:200::/64'] },
  origin: 2,
  asPath: [
    { type: CSEQ, asns: [65010, 65011] },
    { type: SEQ, asns: [65001, 4200000002, 65100] },
    { type: SET, asns: [65200, 4200000003] },
  ],
  nextHop: '10.10.0.1',
  med: 0xffffffff,
  localPref: 0,
  atomicAggregate: true,
  aggregator: { asn: 4200000002, address: '10.10.0.2' },
  communities: [WellKnownCommunity.NO_EXPORT, WellKnownCommunity.NO_ADVERTISE, community(65001, 100)],
  originatorId: '10.10.0.9',
  clusterList: ['10.10.0.9', '10.10.0.10'],
  extendedCommunities: [hex('0002fde900000064'), hex('000300000000ffff')],
  largeCommunities: [
    [4200000002, 5, 6],
    [65001, 1, 2],
  ],
  unknown: [
    { flags: 0xe0, type: 40, value: hex('0102') },
    { flags: 0xe0, type: 200, value: Buffer.alloc(0) },
  ],
};

test('all attributes at once round-trip on 4-octet and 2-octet sessions', () => {
  for (const opts of [FOUR, TWO]) {
    const msg = encodeUpdate({ attributes: EVERYTHING, nlri: ['192.0.2.0/24'] }, opts);
    const back = decodeUpdate(msg, opts);
    assert.deepEqual(back.attributes, EVERYTHING);
    assert.deepEqual(back.nlri, ['192.0.2.0/24']);
    assert.equal(back.treatAsWithdraw, undefined);
    assert.deepEqual(back.discarded, []);
    assert.deepEqual(encodeUpdate(back, opts), msg);
  }
});

test('canonical order: MP_* first, then by type code, unknown ones in between', () => {
  const msg = encodeUpdate({ attributes: EVERYTHING }, FOUR);
  const types: number[] = [];
  for (let p = 23; p < msg.length; ) {
    const flags = msg[p]!;
    types.push(msg[p + 1]!);
    const ext = flags & 0x10;
    p += (ext ? 4 : 3) + (ext ? msg.readUInt16BE(p + 2) : msg[p + 2]!);
  }
  assert.deepEqual(types, [14, 15, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 32, 40, 200]);
});

test('extended length: set past 255 octets, and accepted on decode either way', () => {
  const communities = Array.from({ length: 64 }, (_, i) => community(65001, i));
  const at256 = attrBytes({ communities }, FOUR);
  assert.equal(at256.slice(0, 8), 'd0080100');
  assert.deepEqual(decodeAttrs(at256, FOUR).attributes.communities, communities);
  const at252 = attrBytes({ communities: communities.slice(0, 63) }, FOUR);
  assert.equal(at252.slice(0, 6), 'c008fc');
  // A short value with the Extended Length bit, as BIRD sends MP_REACH_NLRI.
  assert.deepEqual(decodeAttrs('50010001 02' + '5002000a 02020000fde90000fdea' + 'd0080004 ffffff01', FOUR).attributes, {
    origin: 2,
    asPath: [{ type: SEQ, asns: [65001, 65002] }],
    communities: [WellKnownCommunity.NO_EXPORT],
  });
  // A big MP_REACH_NLRI
  const nlri = Array.from({ length: 100 }, (_, i) => `2001:db8:${(i + 1).toString(16)}::/48`);
  const reach = { mpReach: { family: 'ipv6' as const, nextHop: 'fd00::1', nlri } };
  const bytes = attrBytes(reach, FOUR);
  assert.equal(bytes.slice(0, 4), '900e');
  assert.equal(parseInt(bytes.slice(4, 8), 16), 2 + 1 + 1 + 16 + 1 + 100 * 7);
  assert.deepEqual(decodeAttrs(bytes, FOUR).attributes, reach);
});

test('AS path segments longer than 255 AS numbers are split on encode', () => {
  const asns = Array.from({ length: 300 }, (_, i) => 64512 + (i % 1000));
  const bytes = attrBytes({ asPath: [{ type: SEQ, asns }] }, FOUR);
  const back = decodeAttrs(bytes, FOUR).attributes.asPath!;
  assert.deepEqual(back.map((s) => s.asns.length), [255, 45]);
  assert.deepEqual(back.flatMap((s) => s.asns), asns);
});

test('unknown attributes: optional transitive kept, optional non-transitive dropped', () => {
  const d = decodeAttrs('c0630201ff' + '806402abcd' + 'e0650100', FOUR);
  assert.deepEqual(d.attributes.unknown, [
    { flags: 0xc0, type: 99, value: hex('01ff') },
    { flags: 0xe0, type: 101, value: hex('00') },
  ]);
  assert.equal(attrBytes(d.attributes, FOUR), 'e0630201ff' + 'e0650100');
});

// --- RFC 6793 §4.2.3: AS_PATH and AS4_PATH from a 2-octet session ---

function seg(type: AsPathSegment['type'], ...asns: number[]): AsPathSegment {
  return { type, asns };
}

function as2(segments: AsPathSegment[]): string {
  const body = segments.map((s) => s.type.toString(16).padStart(2, '0') + s.asns.length.toString(16).padStart(2, '0') + s.asns.map((a) => a.toString(16).padStart(4, '0')).join('')).join('');
  return '4002' + (body.length / 2).toString(16).padStart(2, '0') + body;
}

function as4(segments: AsPathSegment[]): string {
  const body = segments.map((s) => s.type.toString(16).padStart(2, '0') + s.asns.length.toString(16).padStart(2, '0') + s.asns.map((a) => a.toString(16).padStart(8, '0')).join('')).join('');
  return 'c011' + (body.length / 2).toString(16).padStart(2, '0') + body;
}

const T = AS_TRANS;
const MERGES: [string, AsPathSegment[], AsPathSegment[], AsPathSegment[]][] = [
  ['AS4_PATH replaces the AS_TRANS tail', [seg(SEQ, 65001, T, T)], [seg(SEQ, 4200000001, 4200000002)], [seg(SEQ, 65001, 4200000001, 4200000002)]],
  ['equal lengths: AS4_PATH is the path', [seg(SEQ, T, T)], [seg(SEQ, 4200000001, 4200000002)], [seg(SEQ, 4200000001, 4200000002)]],
  ['AS_PATH shorter than AS4_PATH: AS4_PATH ignored', [seg(SEQ, T)], [seg(SEQ, 1, 2)], [seg(SEQ, T)]],
  [
    'leading confederation segment is kept',
    [seg(CSEQ, 65010), seg(SEQ, 65001, T)],
    [seg(SEQ, 4200000001)],
    [seg(CSEQ, 65010), seg(SEQ, 65001, 4200000001)],
  ],
  [
    'an AS_SET counts as one',
    [seg(SEQ, 65001, T), seg(SET, T, 65003)],
    [seg(SEQ, 4200000001), seg(SET, 4200000002, 65003)],
    [seg(SEQ, 65001, 4200000001), seg(SET, 4200000002, 65003)],
  ],
  [
    'a set taken whole from AS_PATH',
    [seg(SET, 65005, 65006), seg(SEQ, T)],
    [seg(SEQ, 4200000001)],
    [seg(SET, 65005, 65006), seg(SEQ, 4200000001)],
  ],
  ['prepends taken from a long sequence', [seg(SEQ, 65001, 65001, 65001, T)], [seg(SEQ, 4200000001)], [seg(SEQ, 65001, 65001, 65001, 4200000001)]],
];

for (const [name, asPath, as4Path, want] of MERGES) {
  test(`AS_PATH/AS4_PATH merge: ${name}`, () => {
    const d = decodeAttrs(as2(asPath) + as4(as4Path), TWO);
    assert.deepEqual(d.attributes.asPath, want);
    assert.deepEqual(d.discarded, []);
  });
}

test('AGGREGATOR AS_TRANS with AS4_AGGREGATOR: the 4-octet aggregator is used and AS4_PATH merged', () => {
  const d = decodeAttrs(as2([seg(SEQ, 65001, T)]) + 'c00706 5ba0 0a000002' + as4([seg(SEQ, 4200000002)]) + 'c01208 fa56ea02 0a000002', TWO);
  assert.deepEqual(d.attributes.aggregator, { asn: 4200000002, address: '10.0.0.2' });
  assert.deepEqual(d.attributes.asPath, [seg(SEQ, 65001, 4200000002)]);
});

test('AGGREGATOR not AS_TRANS with AS4_AGGREGATOR: both AS4_* attributes are stale and ignored', () => {
  const d = decodeAttrs(as2([seg(SEQ, 65001, T)]) + 'c00706 fded 0a000002' + as4([seg(SEQ, 4200000002)]) + 'c01208 fa56ea02 0a000002', TWO);
  assert.deepEqual(d.attributes.aggregator, { asn: 65005, address: '10.0.0.2' });
  assert.deepEqual(d.attributes.asPath, [seg(SEQ, 65001, T)]);
});

test('AS4_PATH from a 4-octet session, or malformed, is discarded and AS_PATH kept', () => {
  const four = decodeAttrs('400206 0201 0000fde9' + as4([seg(SEQ, 4200000002)]), FOUR);
  assert.deepEqual(four.attributes.asPath, [seg(SEQ, 65001)]);
  assert.equal(four.discarded.length, 1);
  assert.equal(four.discarded[0]!.action, 'attribute-discard');
  const confed = decodeAttrs(as2([seg(SEQ, 65001, T)]) + as4([seg(CSEQ, 65010), seg(SEQ, 4200000002)]), TWO);
  assert.deepEqual(confed.attributes.asPath, [seg(SEQ, 65001, T)]);
  assert.equal(confed.discarded[0]!.action, 'attribute-discard');
  const short = decodeAttrs(as2([seg(SEQ, 65001, T)]) + 'c01103 020100', TWO);
  assert.deepEqual(short.attributes.asPath, [seg(SEQ, 65001, T)]);
  assert.equal(short.discarded[0]!.notification.subcode, 11);
  assert.equal(short.treatAsWithdraw, undefined);
});

test('2-octet encoding: AS_TRANS in AS_PATH and AGGREGATOR, AS4_PATH and AS4_AGGREGATOR only when needed', () => {
  const attrs: PathAttributes = {
    asPath: [seg(CSEQ, 65010), seg(SEQ, 65001, 4200000001)],
    aggregator: { asn: 4200000001, address: '10.0.0.1' },
  };
  assert.equal(
    attrBytes(attrs, TWO),
    ('40020a 0301 fdf2 0202 fde9 5ba0' + 'c00706 5ba0 0a000001' + 'c0110a 0202 0000fde9 fa56ea01' + 'c01208 fa56ea01 0a000001').replace(/ /g, ''),
  );
  assert.deepEqual(decodeAttrs(attrBytes(attrs, TWO), TWO).attributes, attrs);
  assert.equal(attrBytes({ asPath: [seg(SEQ, 65001, 65002)] }, TWO), '4002060202fde9fdea');
  assert.equal(attrBytes({ asPath: [seg(SEQ, 4200000001)] }, FOUR), '4002060201fa56ea01');
});
