import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BgpMessageError,
  checkHeader,
  encodeKeepalive,
  encodeNotification,
  encodeUpdate,
  ErrorCode,
  MessageHeaderError,
  MessageReader,
  MessageType,
} from '../../../../src/bgp/wire/index.js';
import { hex, MARKER, message, options } from './helpers.js';

function headerError(subcode: number, data?: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof BgpMessageError);
    assert.equal(err.code, 'BGP_MESSAGE');
    assert.equal(err.action, 'session-reset');
    assert.equal(err.notification.code, ErrorCode.MESSAGE_HEADER_ERROR);
    assert.equal(err.notification.subcode, subcode);
    if (data !== undefined) assert.equal(err.notification.data.toString('hex'), data);
    return true;
  };
}

test('checkHeader accepts each type at its bounds and rejects the rest', () => {
  const opts = options();
  assert.equal(checkHeader(encodeKeepalive(), opts), MessageType.KEEPALIVE);
  assert.throws(() => checkHeader(message(4, '00'), opts), headerError(MessageHeaderError.BAD_MESSAGE_LENGTH, '0014'));
  assert.throws(() => checkHeader(message(2, '0000'), opts), headerError(MessageHeaderError.BAD_MESSAGE_LENGTH, '0015'));
  assert.throws(() => checkHeader(message(3, '06'), opts), headerError(MessageHeaderError.BAD_MESSAGE_LENGTH, '0014'));
  assert.throws(() => checkHeader(message(1, '04'), opts), headerError(MessageHeaderError.BAD_MESSAGE_LENGTH, '0014'));
  assert.throws(() => checkHeader(message(9, ''), opts), headerError(MessageHeaderError.BAD_MESSAGE_TYPE, '09'));
  assert.throws(() => checkHeader(message(0, ''), opts), headerError(MessageHeaderError.BAD_MESSAGE_TYPE, '00'));
  const badMarker = encodeKeepalive();
  badMarker[3] = 0;
  assert.throws(() => checkHeader(badMarker, opts), headerError(MessageHeaderError.CONNECTION_NOT_SYNCHRONIZED));
  assert.throws(() => checkHeader(hex(MARKER + '0012 04'), opts), headerError(MessageHeaderError.BAD_MESSAGE_LENGTH, '0012'));
  assert.throws(() => checkHeader(hex(MARKER + '0013'), opts), headerError(MessageHeaderError.BAD_MESSAGE_LENGTH));
});

test('message length limit is 4096, or 65535 with extended messages (not for OPEN)', () => {
  const big = message(3, Buffer.alloc(5000 - 19, 6));
  assert.throws(() => checkHeader(big, options()), headerError(MessageHeaderError.BAD_MESSAGE_LENGTH, '1388'));
  assert.equal(checkHeader(big, options({ extendedMessage: true })), MessageType.NOTIFICATION);
  const bigOpen = message(1, Buffer.alloc(5000 - 19));
  assert.throws(() => checkHeader(bigOpen, options({ extendedMessage: true })), headerError(MessageHeaderError.BAD_MESSAGE_LENGTH));
});

test('encoders refuse messages longer than the negotiated maximum', () => {
  const nlri = Array.from({ length: 1200 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
  assert.throws(() => encodeUpdate({ nlri, attributes: {} }, options()), RangeError);
  assert.ok(encodeUpdate({ nlri, attributes: {} }, options({ extendedMessage: true })).length > 4096);
  // NOTIFICATION data is cut instead, so an error can always be reported.
  assert.equal(encodeNotification({ code: 6, subcode: 2, data: Buffer.alloc(10000) }).length, 4096);
});

function stream(): Buffer[] {
  return [
    encodeKeepalive(),
    encodeUpdate({ withdrawn: ['10.0.0.0/8'], attributes: {} }, options()),
    encodeNotification({ code: 6, subcode: 2, data: hex('02686921') }),
    encodeUpdate({ nlri: ['10.1.0.0/16'], attributes: { origin: 0, asPath: [], nextHop: '10.0.0.1' } }, options()),
  ];
}

test('MessageReader yields whole messages whatever the chunking', () => {
  const msgs = stream();
  const all = Buffer.concat(msgs);
  for (const size of [1, 2, 3, 7, 18, 19, 20, 23, 64, all.length]) {
    const r = new MessageReader();
    const got: Buffer[] = [];
    for (let i = 0; i < all.length; i += size) {
      r.push(all.subarray(i, i + size));
      for (const m of r) got.push(Buffer.from(m));
    }
    assert.deepEqual(got, msgs, `chunk size ${size}`);
    assert.equal(r.bufferedLength, 0);
  }
});

test('MessageReader returns views into a chunk that holds whole messages', () => {
  const all = Buffer.concat(stream());
  const r = new MessageReader();
  r.push(all);
  const first = r.next()!;
  assert.equal(first.buffer, all.buffer);
  assert.equal(r.next()!.length, stream()[1]!.length);
});

test('MessageReader waits on a partial header or body and throws on a bad header, for good', () => {
  const r = new MessageReader();
  const k = encodeKeepalive();
  r.push(k.subarray(0, 10));
  assert.equal(r.next(), undefined);
  r.push(k.subarray(10));
  assert.deepEqual(r.next(), k);
  assert.equal(r.next(), undefined);
  r.push(hex(MARKER + '2000 02'));
  assert.throws(() => r.next(), headerError(MessageHeaderError.BAD_MESSAGE_LENGTH, '2000'));
  r.push(encodeKeepalive());
  assert.throws(() => r.next(), headerError(MessageHeaderError.BAD_MESSAGE_LENGTH));
  const r2 = new MessageReader();
  r2.push(hex('00'.repeat(19)));
  assert.throws(() => r2.next(), headerError(MessageHeaderError.CONNECTION_NOT_SYNCHRONIZED));
});

test('MessageReader allows extended messages once told so', () => {
  const big = message(3, Buffer.alloc(6000, 1));
  const r = new MessageReader();
  r.extendedMessage = true;
  for (let i = 0; i < big.length; i += 1000) r.push(big.subarray(i, i + 1000));
  assert.deepEqual(r.next(), big);
});
