import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BgpMessageError,
  decodeUpdate,
  encodeUpdate,
  endOfRib,
  isEndOfRib,
  routeChanges,
  UpdateMessageError,
  type PathAttributes,
  type Update,
} from '../../../../src/bgp/wire/index.js';
import { addPathOptions, BASE_ATTRS, hex, options, update } from './helpers.js';

const OPTS = options();
const BASE: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: '10.0.0.1' };

test('UPDATE round trip: withdrawn routes, attributes, NLRI', () => {
  const u: Update = {
    withdrawn: ['10.244.2.0/26', '0.0.0.0/0'],
    attributes: { ...BASE, med: 10, communities: [0xfde90064] },
    nlri: ['198.51.100.0/24', '10.0.0.0/8', '192.0.2.1/32'],
  };
  const bytes = encodeUpdate(u, OPTS);
  const back = decodeUpdate(bytes, OPTS);
  assert.deepEqual(back, { ...u, discarded: [] });
  assert.deepEqual(encodeUpdate(back, OPTS), bytes);
});

test('UPDATE with only withdrawals: no attributes needed', () => {
  const bytes = encodeUpdate({ withdrawn: ['10.244.2.0/26'] }, OPTS);
  assert.deepEqual(bytes.subarray(19), hex('0005 1a0af40200 0000'));
  const back = decodeUpdate(bytes, OPTS);
  assert.deepEqual(back, { withdrawn: ['10.244.2.0/26'], attributes: {}, nlri: [], discarded: [] });
});

test('add-path: path identifiers in the NLRI, withdrawn routes and MP_* of negotiated families', () => {
  const opts = addPathOptions(['ipv4', 'ipv6']);
  const u: Update = {
    withdrawn: ['10.1.0.0/16'],
    withdrawnPathIds: [7],
    attributes: {
      ...BASE,
      mpReach: { family: 'ipv6', nextHop: 'fd00::1', nlri: ['fd00:1::/64', 'fd00:1::/64'], pathIds: [1, 2] },
      mpUnreach: { family: 'ipv6', withdrawn: ['fd00:2::/64'], pathIds: [3] },
    },
    nlri: ['10.2.0.0/16', '10.2.0.0/16'],
    nlriPathIds: [1, 0xfffffffe],
  };
  const bytes = encodeUpdate(u, opts);
  assert.deepEqual(bytes.subarray(19, 28), hex('0007 00000007 10 0a01'));
  assert.deepEqual(decodeUpdate(bytes, opts), { ...u, discarded: [] });
  // Add-path for IPv6 only: IPv4 fields carry no identifiers.
  const v6only = addPathOptions(['ipv6']);
  const plain = { ...u, withdrawnPathIds: undefined, nlriPathIds: undefined };
  const back = decodeUpdate(encodeUpdate(plain, v6only), v6only);
  assert.deepEqual(back.nlri, u.nlri);
  assert.equal(back.nlriPathIds, undefined);
  assert.deepEqual(back.attributes.mpReach?.pathIds, [1, 2]);
});

test('add-path sending without identifiers uses 0', () => {
  const opts = addPathOptions(['ipv4']);
  const back = decodeUpdate(encodeUpdate({ attributes: BASE, nlri: ['10.0.0.0/8'] }, opts), opts);
  assert.deepEqual(back.nlriPathIds, [0]);
});

test('End-of-RIB markers: built, encoded as RFC 4724 says, recognised', () => {
  const v4 = encodeUpdate(endOfRib('ipv4'), OPTS);
  assert.deepEqual(v4.subarray(16), hex('0017 02 0000 0000'));
  assert.equal(isEndOfRib(decodeUpdate(v4, OPTS)), 'ipv4');
  const v6 = encodeUpdate(endOfRib('ipv6'), OPTS);
  assert.deepEqual(v6.subarray(16), hex('001d 02 0000 0006 800f03 0002 01'));
  assert.equal(isEndOfRib(decodeUpdate(v6, OPTS)), 'ipv6');
  assert.equal(isEndOfRib(decodeUpdate(encodeUpdate({ withdrawn: ['10.0.0.0/8'] }, OPTS), OPTS)), undefined);
  assert.equal(isEndOfRib({ withdrawn: [], nlri: [], attributes: { mpUnreach: { family: 'ipv6', withdrawn: ['fd00::/8'] } } }), undefined);
  assert.equal(isEndOfRib({ withdrawn: [], nlri: [], attributes: { mpUnreach: { family: 'ipv6', withdrawn: [] }, origin: 0 } }), undefined);
  assert.equal(isEndOfRib({ withdrawn: [], nlri: [], attributes: { origin: 0 } }), undefined);
});

test('treat-as-withdraw: the UPDATE still says which prefixes to withdraw', () => {
  // ORIGIN of length 2 (malformed) with IPv4 NLRI and an IPv6 MP_REACH_NLRI
  const mp = '800e1a 0002 01 10 fd000000000000000000000000000001 00 20 20010db8';
  const msg = update('180a0100', mp + '40010200 00' + BASE_ATTRS.slice(8), '180a0200 18c63364');
  const d = decodeUpdate(msg, OPTS);
  assert.ok(d.treatAsWithdraw instanceof BgpMessageError);
  assert.equal(d.treatAsWithdraw.action, 'treat-as-withdraw');
  assert.equal(d.treatAsWithdraw.notification.subcode, UpdateMessageError.ATTRIBUTE_LENGTH_ERROR);
  assert.deepEqual(d.treatAsWithdraw.notification.data, hex('4001020000'));
  assert.deepEqual(d.nlri, ['10.2.0.0/24', '198.51.100.0/24']);
  assert.deepEqual(routeChanges(d), [
    { family: 'ipv4', withdrawn: ['10.1.0.0/24', '10.2.0.0/24', '198.51.100.0/24'], announced: [] },
    { family: 'ipv6', withdrawn: ['2001:db8::/32'], announced: [] },
  ]);
});

test('routeChanges of a healthy UPDATE', () => {
  const d = decodeUpdate(
    encodeUpdate(
      {
        withdrawn: ['10.1.0.0/16'],
        nlri: ['10.2.0.0/16'],
        attributes: { ...BASE, mpReach: { family: 'ipv6', nextHop: 'fd00::1', linkLocalNextHop: 'fe80::1', nlri: ['fd00:1::/64'] }, mpUnreach: { family: 'ipv6', withdrawn: ['fd00:2::/64'] } },
      },
      OPTS,
    ),
    OPTS,
  );
  assert.deepEqual(routeChanges(d), [
    { family: 'ipv4', withdrawn: ['10.1.0.0/16'], announced: ['10.2.0.0/16'], nextHop: '10.0.0.1' },
    { family: 'ipv6', withdrawn: ['fd00:2::/64'], announced: ['fd00:1::/64'], nextHop: 'fd00::1', linkLocalNextHop: 'fe80::1' },
  ]);
});

test('attribute-discard keeps the route: malformed ATOMIC_AGGREGATE and AGGREGATOR are dropped', () => {
  const d = decodeUpdate(update('', BASE_ATTRS + '40060101' + 'c00705 0000fde9 0a', '080a'), OPTS);
  assert.equal(d.treatAsWithdraw, undefined);
  assert.deepEqual(d.attributes, BASE);
  assert.deepEqual(d.discarded.map((e) => [e.action, e.notification.subcode]), [
    ['attribute-discard', UpdateMessageError.ATTRIBUTE_LENGTH_ERROR],
    ['attribute-discard', UpdateMessageError.ATTRIBUTE_LENGTH_ERROR],
  ]);
  assert.deepEqual(routeChanges(d), [{ family: 'ipv4', withdrawn: [], announced: ['10.0.0.0/8'], nextHop: '10.0.0.1' }]);
});

test('duplicate attributes: the first counts, later ones are discarded; MP_* twice resets', () => {
  const d = decodeUpdate(update('', BASE_ATTRS + '40010102' + '80040400000001' + '80040400000002', '080a'), OPTS);
  assert.equal(d.attributes.origin, 0);
  assert.equal(d.attributes.med, 1);
  assert.equal(d.discarded.length, 2);
  assert.equal(d.discarded[0]!.notification.subcode, UpdateMessageError.MALFORMED_ATTRIBUTE_LIST);
  const unreach = '800f03000201';
  assert.throws(
    () => decodeUpdate(update('', unreach + unreach), OPTS),
    (e: unknown) => e instanceof BgpMessageError && e.action === 'session-reset' && e.notification.subcode === UpdateMessageError.MALFORMED_ATTRIBUTE_LIST,
  );
});

test('missing well-known attributes: treat-as-withdraw only when something is announced', () => {
  const noNextHop = decodeUpdate(update('', BASE_ATTRS.slice(0, -14), '080a'), OPTS);
  assert.equal(noNextHop.treatAsWithdraw?.notification.subcode, UpdateMessageError.MISSING_WELL_KNOWN_ATTRIBUTE);
  assert.deepEqual(noNextHop.treatAsWithdraw?.notification.data, hex('03'));
  const noOrigin = decodeUpdate(update('', BASE_ATTRS.slice(8), '080a'), OPTS);
  assert.deepEqual(noOrigin.treatAsWithdraw?.notification.data, hex('01'));
  const noAsPath = decodeUpdate(update('', '40010100 4003040a000001', '080a'), OPTS);
  assert.deepEqual(noAsPath.treatAsWithdraw?.notification.data, hex('02'));
  // MP_REACH_NLRI carries its own next hop.
  const mpOnly = decodeUpdate(update('', '800e0b 0001 01 04 0a000001 00 080a' + BASE_ATTRS.slice(0, -14)), OPTS);
  assert.equal(mpOnly.treatAsWithdraw, undefined);
  assert.equal(decodeUpdate(update('', '40010100'), OPTS).treatAsWithdraw, undefined);
});

test('an attribute overrunning the attribute list: treat-as-withdraw, NLRI found by the total length', () => {
  const d = decodeUpdate(update('', BASE_ATTRS + 'c00810ffffff01', '080a'), OPTS);
  assert.equal(d.treatAsWithdraw?.notification.subcode, UpdateMessageError.MALFORMED_ATTRIBUTE_LIST);
  assert.deepEqual(d.nlri, ['10.0.0.0/8']);
  const t = decodeUpdate(update('', BASE_ATTRS + 'c008', '080a'), OPTS);
  assert.equal(t.treatAsWithdraw?.notification.subcode, UpdateMessageError.MALFORMED_ATTRIBUTE_LIST);
  assert.deepEqual(t.nlri, ['10.0.0.0/8']);
});

test('session-reset errors are thrown: NLRI, withdrawn routes, lengths, unknown well-known, MP_REACH', () => {
  const reset = (subcode: number) => (e: unknown) =>
    e instanceof BgpMessageError && e.action === 'session-reset' && e.notification.code === 3 && e.notification.subcode === subcode;
  assert.throws(() => decodeUpdate(update('', BASE_ATTRS, '210a000000'), OPTS), reset(UpdateMessageError.INVALID_NETWORK_FIELD));
  assert.throws(() => decodeUpdate(update('180a00', ''), OPTS), reset(UpdateMessageError.INVALID_NETWORK_FIELD));
  assert.throws(() => decodeUpdate(hex('ffffffffffffffffffffffffffffffff 0017 02 0005 0000'), OPTS), reset(UpdateMessageError.MALFORMED_ATTRIBUTE_LIST));
  assert.throws(() => decodeUpdate(hex('ffffffffffffffffffffffffffffffff 0018 02 0000 0002 00'), OPTS), reset(UpdateMessageError.MALFORMED_ATTRIBUTE_LIST));
  assert.throws(() => decodeUpdate(update('', BASE_ATTRS + '401e0100', '080a'), OPTS), (e: unknown) => {
    assert.ok(reset(UpdateMessageError.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE)(e));
    assert.deepEqual((e as BgpMessageError).notification.data, hex('401e0100'));
    return true;
  });
  assert.throws(() => decodeUpdate(update('', '800e0a 0002 01 04 0a000001 00 00'), OPTS), reset(UpdateMessageError.OPTIONAL_ATTRIBUTE_ERROR));
  assert.throws(() => decodeUpdate(update('', 'c00e03 000201'), OPTS), reset(UpdateMessageError.ATTRIBUTE_FLAGS_ERROR));
});

test('MP_* of a family the codec does not know is discarded, not fatal', () => {
  const d = decodeUpdate(update('', '800e08 0019 46 00 00 02 0000' + '800f03 000180'), OPTS);
  assert.deepEqual(d.attributes, {});
  assert.deepEqual(d.discarded.map((e) => e.action), ['attribute-discard', 'attribute-discard']);
});
