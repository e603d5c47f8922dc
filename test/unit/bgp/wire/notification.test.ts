import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BgpMessageError,
  CeaseSubcode,
  decodeKeepalive,
  decodeMessage,
  decodeNotification,
  decodeRouteRefresh,
  encodeKeepalive,
  encodeMessage,
  encodeNotification,
  encodeRouteRefresh,
  ErrorCode,
  formatNotification,
  notificationOf,
  RouteRefreshSubtype,
  routeRefresh,
  shutdownCommunication,
  shutdownNotification,
  type BgpMessage,
} from '../../../../src/bgp/wire/index.js';
import { hex, MARKER, message, options } from './helpers.js';

const OPTS = options();

test('KEEPALIVE is a bare 19-octet header', () => {
  const k = encodeKeepalive();
  assert.deepEqual(k, hex(MARKER + '0013 04'));
  decodeKeepalive(k);
  k[0] = 0; // a fresh copy each time
  assert.equal(encodeKeepalive()[0], 0xff);
});

test('NOTIFICATION round trip with data', () => {
  const n = { code: ErrorCode.UPDATE_MESSAGE_ERROR, subcode: 2, data: hex('401e0100') };
  const bytes = encodeNotification(n);
  assert.deepEqual(bytes, hex(MARKER + '0019 03 03 02 401e0100'));
  assert.deepEqual(decodeNotification(bytes), n);
  assert.deepEqual(decodeNotification(encodeNotification({ code: 4, subcode: 0 })), { code: 4, subcode: 0, data: Buffer.alloc(0) });
});

test('formatNotification names codes and subcodes', () => {
  assert.equal(formatNotification({ code: 6, subcode: 2 }), 'Cease/Administrative Shutdown');
  assert.equal(formatNotification({ code: 6, subcode: 4 }), 'Cease/Administrative Reset');
  assert.equal(formatNotification({ code: 6, subcode: 9 }), 'Cease/Hard Reset');
  assert.equal(formatNotification({ code: 3, subcode: 11 }), 'UPDATE Message Error/Malformed AS_PATH');
  assert.equal(formatNotification({ code: 1, subcode: 1 }), 'Message Header Error/Connection Not Synchronized');
  assert.equal(formatNotification({ code: 2, subcode: 6 }), 'OPEN Message Error/Unacceptable Hold Time');
  assert.equal(formatNotification({ code: 4, subcode: 0 }), 'Hold Timer Expired/Unspecific');
  assert.equal(formatNotification({ code: 5, subcode: 1 }), 'Finite State Machine Error/Receive Unexpected Message in OpenSent State');
  assert.equal(formatNotification({ code: 7, subcode: 1 }), 'ROUTE-REFRESH Message Error/Invalid Message Length');
  assert.equal(formatNotification({ code: 6, subcode: 77 }), 'Cease/subcode 77');
  assert.equal(formatNotification({ code: 42, subcode: 1 }), 'Error code 42/subcode 1');
});

test('shutdown communication (RFC 9003): build, encode, decode', () => {
  const n = shutdownNotification(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, 'maintenance window');
  assert.deepEqual(encodeNotification(n).subarray(0, 19), hex(MARKER + '0028 03'));
  assert.deepEqual(encodeNotification(n).subarray(19), Buffer.concat([hex('060212'), Buffer.from('maintenance window')]));
  assert.equal(shutdownCommunication(decodeNotification(encodeNotification(n))), 'maintenance window');
  const reset = shutdownNotification(CeaseSubcode.ADMINISTRATIVE_RESET, 'übergang ✓');
  assert.equal(shutdownCommunication(reset), 'übergang ✓');
  // Cut at 255 octets without splitting a character.
  const long = shutdownNotification(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, 'é'.repeat(200));
  assert.equal(long.data[0], 254);
  assert.equal(shutdownCommunication(long), 'é'.repeat(127));
});

test('shutdown communication is ignored when absent, malformed, or on other codes', () => {
  assert.equal(shutdownCommunication({ code: 6, subcode: 2, data: Buffer.alloc(0) }), undefined);
  assert.equal(shutdownCommunication({ code: 6, subcode: 2, data: hex('00') }), undefined);
  assert.equal(shutdownCommunication({ code: 6, subcode: 2, data: hex('0561') }), undefined);
  assert.equal(shutdownCommunication({ code: 6, subcode: 2, data: hex('02c328') }), undefined);
  assert.equal(shutdownCommunication({ code: 6, subcode: 3, data: hex('0161') }), undefined);
  assert.equal(shutdownCommunication({ code: 6, subcode: 4, data: hex('016162') }), 'a');
});

test('ROUTE-REFRESH: normal and enhanced subtypes, ORF kept raw, length errors', () => {
  const rr = routeRefresh('ipv6', RouteRefreshSubtype.BEGINNING_OF_ROUTE_REFRESH);
  const bytes = encodeRouteRefresh(rr, OPTS);
  assert.deepEqual(bytes, hex(MARKER + '0017 05 0002 01 01'));
  assert.deepEqual(decodeRouteRefresh(bytes, OPTS), { afi: 2, safi: 1, subtype: 1 });
  const orf = { afi: 1, safi: 1, subtype: 0, orf: hex('0140000100') };
  assert.deepEqual(decodeRouteRefresh(encodeRouteRefresh(orf, OPTS), OPTS), orf);
  assert.throws(
    () => decodeRouteRefresh(message(5, '0001 02 01 00'), OPTS),
    (e: unknown) => e instanceof BgpMessageError && e.notification.code === 7 && e.notification.subcode === 1 && e.notification.data.length === 24,
  );
  assert.throws(() => decodeRouteRefresh(message(5, '0001 00'), OPTS), (e: unknown) => e instanceof BgpMessageError && e.notification.code === 1);
});

test('decodeMessage/encodeMessage round-trip every message type', () => {
  const msgs: BgpMessage[] = [
    { type: 'open', open: { asn: 65001, holdTime: 90, bgpId: '10.10.0.1', capabilities: [{ kind: 'route-refresh' }] } },
    { type: 'update', update: { withdrawn: ['10.0.0.0/8'], attributes: {}, nlri: [] } },
    { type: 'notification', notification: { code: 6, subcode: 2, data: hex('0161') } },
    { type: 'keepalive' },
    { type: 'route-refresh', routeRefresh: { afi: 1, safi: 1, subtype: 0 } },
  ];
  for (const m of msgs) {
    const bytes = encodeMessage(m, OPTS);
    const back = decodeMessage(bytes, OPTS);
    assert.equal(back.type, m.type);
    assert.deepEqual(encodeMessage(back, OPTS), bytes, m.type);
  }
});

test('notificationOf gives the NOTIFICATION for a decode error', () => {
  try {
    decodeMessage(message(9, ''), OPTS);
    assert.fail('should throw');
  } catch (e) {
    assert.ok(e instanceof BgpMessageError);
    assert.deepEqual(notificationOf(e), { code: 1, subcode: 3, data: hex('09') });
    assert.deepEqual(encodeNotification(notificationOf(e)), hex(MARKER + '0016 03 01 03 09'));
  }
});
