// The Long-Lived Graceful Restart capability (RFC 9494 §3.1): code 71, zero or more tuples
// of AFI (2 octets), SAFI (1), flags (1: the F bit is the top one, the rest reserved) and
// the Long-lived Stale Time (3 octets, seconds).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BgpMessageError, decodeOpen, encodeOpen, ErrorCode, UNSPECIFIC, type Capability } from '../../../../src/bgp/wire/index.js';
import { message } from './helpers.js';

const capBytes = (cap: Capability): string => encodeOpen({ asn: 65001, holdTime: 90, bgpId: '10.0.0.1', capabilities: [cap] }).subarray(31).toString('hex');
/** An OPEN (AS 65001, hold 90, id 10.0.0.1) carrying one capability given as hex code, length and value. */
const openWith = (capHex: string): Buffer => {
  const cap = capHex.replace(/ /g, '');
  const param = `02${(cap.length / 2).toString(16).padStart(2, '0')}${cap}`;
  return message(1, `04fde9005a0a000001${(param.length / 2).toString(16).padStart(2, '0')}${param}`);
};

test('RFC 9494 §3.1: each family is AFI, SAFI, flags with F as the top bit, and a 24-bit stale time', () => {
  const cap: Capability = {
    kind: 'long-lived-graceful-restart',
    families: [
      { afi: 1, safi: 1, forwarding: true, staleTime: 3600 },
      { afi: 2, safi: 1, forwarding: false, staleTime: 0xffffff },
    ],
  };
  assert.equal(capBytes(cap), '470e' + '0001 01 80 000e10'.replace(/ /g, '') + '0002 01 00 ffffff'.replace(/ /g, ''));
  assert.deepEqual(decodeOpen(openWith('470e 0001 01 80 000e10 0002 01 00 ffffff')).capabilities, [cap]);
});

test('RFC 9494 §3.1: an empty capability (BIRD\'s "aware") has no families; reserved flag bits are ignored', () => {
  assert.deepEqual(decodeOpen(openWith('4700')).capabilities, [{ kind: 'long-lived-graceful-restart', families: [] }]);
  assert.deepEqual(decodeOpen(openWith('4707 0001 01 7f 000001')).capabilities, [
    { kind: 'long-lived-graceful-restart', families: [{ afi: 1, safi: 1, forwarding: false, staleTime: 1 }] },
  ]);
});

// RFC 9494 sets no rule for a malformed value; BIRD (proto/bgp/packets.c
// bgp_read_capabilities, `case 71: if (cl % 7) goto err;`) answers OPEN Message Error
// subcode 0, as for every malformed capability, and so does Tabby.
test('a value that is not whole 7-octet tuples is an OPEN Message Error carrying the capability, as BIRD answers it', () => {
  for (const bad of ['4706 0001 01 80 000e', '4708 0001 01 80 000e10 00']) {
    assert.throws(
      () => decodeOpen(openWith(bad)),
      (err: unknown) => {
        assert.ok(err instanceof BgpMessageError);
        assert.equal(err.notification.code, ErrorCode.OPEN_MESSAGE_ERROR);
        assert.equal(err.notification.subcode, UNSPECIFIC);
        assert.equal(err.action, 'session-reset');
        assert.equal(err.notification.data.toString('hex'), bad.replace(/ /g, ''));
        return true;
      },
      bad,
    );
  }
});

test('a stale time past 24 bits cannot be encoded', () => {
  assert.throws(() => capBytes({ kind: 'long-lived-graceful-restart', families: [{ afi: 1, safi: 1, forwarding: false, staleTime: 0x1000000 }] }), RangeError);
});
