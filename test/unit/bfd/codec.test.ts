// BFD Control packet codec: the RFC 5880 §4.1 layout bit by bit, a round trip, the
// packets §6.8.6 discards before any session is looked at, and a property that decoding
// throws nothing but BfdPacketError.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeControl, encodeControl, type BfdControlFields } from '../../../src/bfd/codec.js';
import { BfdState } from '../../../src/bfd/constants.js';
import { BfdPacketError } from '../../../src/bfd/errors.js';

const fields: BfdControlFields = {
  diag: 1,
  state: BfdState.Up,
  poll: true,
  final: false,
  demand: false,
  detectMult: 3,
  myDiscriminator: 0x01020304,
  yourDiscriminator: 0xa0b0c0d0,
  desiredMinTxInterval: 100_000,
  requiredMinRxInterval: 300_000,
  requiredMinEchoRxInterval: 0,
};

/** A packet by the RFC 5880 §4.1 diagram, octet by octet. */
function rfcPacket(o: { vers?: number; diag?: number; sta?: number; flags?: number; mult?: number; length?: number; my?: number; your?: number; extra?: Buffer } = {}): Buffer {
  const b = Buffer.alloc(24);
  b[0] = ((o.vers ?? 1) << 5) | (o.diag ?? 0); // Vers (3 bits) | Diag (5 bits)
  b[1] = ((o.sta ?? BfdState.Down) << 6) | (o.flags ?? 0); // Sta (2) | P F C A D M
  b[2] = o.mult ?? 3;
  b[3] = o.length ?? 24;
  b.writeUInt32BE(o.my ?? 7, 4);
  b.writeUInt32BE(o.your ?? 0, 8);
  b.writeUInt32BE(1_000_000, 12);
  b.writeUInt32BE(100_000, 16);
  b.writeUInt32BE(0, 20);
  return o.extra ? Buffer.concat([b, o.extra]) : b;
}

const P = 0x20, F = 0x10, C = 0x08, A = 0x04, D = 0x02, M = 0x01;

describe('BFD codec (RFC 5880 §4.1)', () => {
  test('encodes the mandatory section as the §4.1 diagram lays it out', () => {
    const b = encodeControl(fields);
    assert.equal(b.length, 24);
    assert.equal(b[0], (1 << 5) | 1, 'version 1, diag 1');
    assert.equal(b[1], (3 << 6) | P, 'Up with P');
    assert.equal(b[2], 3);
    assert.equal(b[3], 24);
    assert.equal(b.toString('hex', 4, 24), '01020304' + 'a0b0c0d0' + '000186a0' + '000493e0' + '00000000');
  });

  test('round trip, flags included', () => {
    const d = decodeControl(encodeControl({ ...fields, poll: false, final: true, demand: true, controlPlaneIndependent: true }));
    assert.deepEqual(
      [d.version, d.diag, d.state, d.poll, d.final, d.demand, d.controlPlaneIndependent, d.authPresent, d.multipoint, d.detectMult, d.length],
      [1, 1, BfdState.Up, false, true, true, true, false, false, 3, 24],
    );
    assert.deepEqual([d.myDiscriminator, d.yourDiscriminator, d.desiredMinTxInterval, d.requiredMinRxInterval, d.requiredMinEchoRxInterval], [0x01020304, 0xa0b0c0d0, 100_000, 300_000, 0]);
  });

  test('decodes a packet built from the diagram, and keeps the authentication section', () => {
    const d = decodeControl(rfcPacket({ sta: BfdState.Init, flags: F | C, diag: 3, my: 42, your: 9 }));
    assert.deepEqual([d.state, d.final, d.controlPlaneIndependent, d.poll, d.diag, d.myDiscriminator, d.yourDiscriminator], [BfdState.Init, true, true, false, 3, 42, 9]);
    assert.equal(d.desiredMinTxInterval, 1_000_000);
    // §4.2: Auth Type, Auth Len, then type-specific data (here Simple Password "ab").
    const auth = Buffer.from([1, 5, 1, 0x61, 0x62]);
    const withAuth = rfcPacket({ flags: A, length: 29, extra: auth });
    const a = decodeControl(withAuth);
    assert.equal(a.authPresent, true);
    assert.deepEqual(a.auth, { type: 1, section: auth });
  });

  // RFC 5880 §6.8.6, the checks before a session is selected; each MUST discard.
  const discards: [string, Buffer, string][] = [
    ['fewer octets than a Control packet', rfcPacket().subarray(0, 23), 'short'],
    ['version is not 1', rfcPacket({ vers: 0 }), 'version'],
    ['Length below 24 with A clear', rfcPacket({ length: 23 }), 'length'],
    ['Length below 26 with A set', rfcPacket({ flags: A, length: 25, extra: Buffer.alloc(2) }), 'length'],
    ['Length greater than the payload', rfcPacket({ length: 28 }), 'length'],
    ['Detect Mult zero', rfcPacket({ mult: 0 }), 'detect-mult'],
    ['Multipoint bit set', rfcPacket({ flags: M }), 'multipoint'],
    ['My Discriminator zero', rfcPacket({ my: 0 }), 'my-discriminator'],
  ];
  for (const [name, packet, reason] of discards) {
    test(`§6.8.6 discards: ${name}`, () => {
      assert.throws(
        () => decodeControl(packet),
        (err: unknown) => err instanceof BfdPacketError && err.reason === reason && err.code === 'BFD_PACKET',
      );
    });
  }

  test('a payload longer than Length is fine (the Length field rules)', () => {
    assert.equal(decodeControl(rfcPacket({ extra: Buffer.alloc(8) })).length, 24);
  });

  test('the D bit is read; the encoder never sets P and F together (§6.5)', () => {
    assert.equal(decodeControl(rfcPacket({ flags: D })).demand, true);
    assert.throws(() => encodeControl({ ...fields, poll: true, final: true }), RangeError);
    assert.throws(() => encodeControl({ ...fields, detectMult: 0 }), RangeError);
  });

  test('property: decoding any bytes throws nothing but BfdPacketError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), (bytes) => {
        try {
          decodeControl(Buffer.from(bytes));
        } catch (err) {
          if (!(err instanceof BfdPacketError)) throw err;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
