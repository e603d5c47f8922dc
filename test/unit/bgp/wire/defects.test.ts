// Codec defects found by a review against the RFCs and 12 000 real messages, each as its
// reproducer: a test named after the bug, with the RFC text it breaks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AttrFlag,
  BgpMessageError,
  decodeUpdate,
  encodeUpdate,
  isEndOfRib,
  routeChanges,
  type DecodedUpdate,
} from '../../../../src/bgp/wire/index.js';
import { BASE_ATTRS, hex, message, options, u16, update } from './helpers.js';

const OPTS = options();

function attr(flags: number, type: number, value: string): string {
  const v = hex(value);
  if (flags & AttrFlag.EXTENDED_LENGTH) return Buffer.concat([Buffer.from([flags, type]), u16(v.length), v]).toString('hex');
  return Buffer.concat([Buffer.from([flags, type, v.length]), v]).toString('hex');
}

function resetError(fn: () => unknown): BgpMessageError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof BgpMessageError, `expected a BgpMessageError, got ${String(caught)}`);
  assert.equal(caught.action, 'session-reset', caught.message);
  return caught;
}

// ---- MP_REACH_NLRI / MP_UNREACH_NLRI whose length runs past the attribute list ----

test('bug: an MP_REACH_NLRI overrunning the attribute list was treated as withdraw, leaving its prefixes installed (RFC 7606 §3(j), §7.11)', () => {
  // ORIGIN, AS_PATH, then MP_REACH_NLRI (IPv6, next hop 2001:db8::1, 2001:db8:1::/48)
  // whose length octet says 0x40 while only 26 octets follow.
  const mp = '0002' + '01' + '10' + '20010db8000000000000000000000001' + '00' + '3020010db80001';
  const attrs = '40010100' + '40020602010000fde9' + '800e40' + mp;
  const err = resetError(() => decodeUpdate(update('', attrs), OPTS));
  // RFC 4271 §6.3: Malformed Attribute List.
  assert.deepEqual({ code: err.notification.code, subcode: err.notification.subcode }, { code: 3, subcode: 1 });
});

test('bug: an MP_UNREACH_NLRI overrunning the attribute list was treated as withdraw (RFC 7606 §3(j), §7.11)', () => {
  const attrs = '800f20' + '0002013020010db80001';
  resetError(() => decodeUpdate(update('', attrs), OPTS));
});

test('bug: a framing error that swallows MP_REACH_NLRI was treated as withdraw although no NLRI was found (RFC 7606 §5.2, §5.3)', () => {
  // A COMMUNITIES attribute whose length covers the MP_REACH_NLRI after it and more.
  const mp = attr(0x80, 14, '0002011020010db800000000000000000000000100' + '3020010db80001');
  const attrs = '40010100' + '40020602010000fde9' + 'c008ff00010002' + mp;
  resetError(() => decodeUpdate(update('', attrs), OPTS));
  // With IPv4 NLRI present the NLRI field is still found by the total length: withdraw those (RFC 7606 §4).
  const withNlri = decodeUpdate(update('', BASE_ATTRS + 'c008ff00010002' + mp, '180a0a0a'), OPTS) as DecodedUpdate;
  assert.ok(withNlri.treatAsWithdraw);
  assert.deepEqual(routeChanges(withNlri), [{ family: 'ipv4', withdrawn: ['10.10.10.0/24'], announced: [] }]);
});

// ---- the Partial bit ----

test('bug: recognised optional transitive attributes lost their Partial bit when re-encoded (RFC 4271 §5)', () => {
  // As real routers send them: LARGE_COMMUNITY and COMMUNITIES with Partial set.
  const large = attr(0xe0, 32, '0000fde9' + '00000001' + '00000002');
  const comms = attr(0xe0, 8, 'fde90001');
  const ext = attr(0xc0, 16, '0002fde900000064'); // Partial not set: must stay clear
  const msg = update('', BASE_ATTRS + comms + ext + large, '180a0a0a');
  const u = decodeUpdate(msg, OPTS);
  assert.deepEqual(u.attributes.partial, [8, 32]);
  const again = encodeUpdate(u, OPTS);
  assert.equal(again.toString('hex'), msg.toString('hex'), 'the same bytes: the Partial bits as received');
});

test('bug: AS4_PATH lost its Partial bit between two 2-octet-AS sessions (RFC 4271 §5, RFC 6793 §4.2.2)', () => {
  const two = options({ fourOctetAs: false });
  // AS_PATH [AS_TRANS 65001] (2-octet), AS4_PATH [4200000001 65001] with Partial set.
  const asPath = attr(0x40, 2, '02025ba0fde9');
  const as4 = attr(0xe0, 17, '0202fa56ea01' + '0000fde9');
  const msg = update('', '40010100' + asPath + '4003040a000001' + as4, '180a0a0a');
  const u = decodeUpdate(msg, two);
  assert.deepEqual(u.attributes.asPath, [{ type: 2, asns: [4200000001, 65001] }]);
  const again = encodeUpdate(u, two);
  assert.equal(again.toString('hex'), msg.toString('hex'));
});

// ---- repeated attributes ----

function bestMs(fn: () => void, rounds = 5): number {
  let best = Infinity;
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return best;
}

test('bug: each repeated attribute built its own error with a stack trace; a 65 535-octet UPDATE took 200–430 ms (RFC 7606 §3(g))', (t) => {
  const ext = options({ extendedMessage: true });
  const size = 65535;
  // A normal UPDATE of the same size: as many /24s as fit.
  const fixed = 19 + 4 + hex(BASE_ATTRS).length;
  const normal = message(2, Buffer.concat([u16(0), u16(hex(BASE_ATTRS).length), hex(BASE_ATTRS), Buffer.alloc(size - fixed, 0).fill(Buffer.from([24, 10, 1, 2]))]));
  // The same size of one MED attribute repeated (7 octets each), one prefix.
  const med = hex('80040400000000');
  const repeats = Math.floor((size - fixed - 4) / med.length);
  const attrs = Buffer.concat([hex(BASE_ATTRS), ...Array.from({ length: repeats }, () => med)]);
  const body = Buffer.concat([u16(0), u16(attrs.length), attrs, hex('180a0102')]);
  const repeated = message(2, body);
  assert.ok(Math.abs(repeated.length - normal.length) <= 7, `${repeated.length} vs ${normal.length}`);

  const u = decodeUpdate(repeated, ext);
  assert.equal(u.attributes.med, 0);
  assert.equal(u.discarded.length, 1, 'one error for all the repeats of one type');
  assert.deepEqual(u.nlri, ['10.1.2.0/24']);

  const tNormal = bestMs(() => decodeUpdate(normal, ext));
  const tRepeated = bestMs(() => decodeUpdate(repeated, ext));
  t.diagnostic(`normal ${tNormal.toFixed(2)} ms, ${repeats} repeats ${tRepeated.toFixed(2)} ms`);
  // No more costly than a normal message of its size (slack for a busy machine).
  assert.ok(tRepeated <= tNormal * 2 + 5, `${tRepeated} ms against ${tNormal} ms`);
});

// ---- End-of-RIB ----

test('bug: an UPDATE whose only attribute is a malformed AGGREGATOR was taken as IPv4 End-of-RIB (RFC 4724 §2)', () => {
  // AGGREGATOR of 5 octets on a 4-octet session: attribute-discard (RFC 7606 §7.7), leaving nothing.
  const u = decodeUpdate(update('', attr(0xc0, 7, '0000fde90a')), OPTS);
  assert.equal(u.discarded.length, 1);
  assert.deepEqual(u.attributes, {});
  assert.equal(isEndOfRib(u), undefined);
});

test('bug: an empty MP_UNREACH_NLRI of another family was taken as IPv4 End-of-RIB (RFC 4724 §2)', () => {
  // AFI 25 / SAFI 70 (EVPN): discarded as a family we do not decode; its End-of-RIB is not ours.
  const u = decodeUpdate(update('', attr(0x80, 15, '001946')), OPTS);
  assert.deepEqual(u.attributes, {});
  assert.equal(isEndOfRib(u), undefined);
});

test('End-of-RIB is exactly RFC 4724 §2: empty UPDATE for IPv4, MP_UNREACH with only AFI/SAFI and nothing else otherwise', () => {
  assert.equal(isEndOfRib(decodeUpdate(update('', ''), OPTS)), 'ipv4');
  assert.equal(isEndOfRib(decodeUpdate(update('', attr(0x80, 15, '000201')), OPTS)), 'ipv6');
  // Extended-length form of the same attribute.
  assert.equal(isEndOfRib(decodeUpdate(update('', attr(0x90, 15, '000201')), OPTS)), 'ipv6');
  // Another attribute beside it: not End-of-RIB.
  assert.equal(isEndOfRib(decodeUpdate(update('', '40010100' + attr(0x80, 15, '000201')), OPTS)), undefined);
  // An empty withdrawal of IPv4 inside MP_UNREACH is the IPv4 family's marker form too.
  assert.equal(isEndOfRib(decodeUpdate(update('', attr(0x80, 15, '000101')), OPTS)), 'ipv4');
});
