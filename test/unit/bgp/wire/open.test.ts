import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AS_TRANS,
  BgpMessageError,
  commonFamilies,
  decodeOpen,
  encodeOpen,
  ErrorCode,
  findCapability,
  negotiateOptions,
  OpenMessageError,
  UNSPECIFIC,
  type Capability,
  type Open,
} from '../../../../src/bgp/wire/index.js';
import { hex, message } from './helpers.js';

const ALL_CAPABILITIES: Capability[] = [
  { kind: 'multiprotocol', afi: 1, safi: 1 },
  { kind: 'multiprotocol', afi: 2, safi: 1 },
  { kind: 'route-refresh' },
  { kind: 'enhanced-route-refresh' },
  { kind: 'extended-message' },
  { kind: 'four-octet-as', asn: 4200000002 },
  {
    kind: 'graceful-restart',
    restarting: true,
    notification: true,
    time: 4095,
    families: [
      { afi: 1, safi: 1, forwarding: true },
      { afi: 2, safi: 1, forwarding: false },
    ],
  },
  {
    kind: 'add-path',
    families: [
      { afi: 1, safi: 1, send: true, receive: true },
      { afi: 2, safi: 1, send: false, receive: true },
      { afi: 1, safi: 1, send: true, receive: false },
    ],
  },
  { kind: 'unknown', code: 73, value: hex('02766d00') },
  { kind: 'long-lived-graceful-restart', families: [{ afi: 1, safi: 1, forwarding: true, staleTime: 0xffffff }] },
];

test('OPEN round-trips with every capability', () => {
  const open: Open = { asn: 4200000002, holdTime: 90, bgpId: '10.10.0.2', capabilities: ALL_CAPABILITIES };
  const bytes = encodeOpen(open);
  const back = decodeOpen(bytes);
  assert.deepEqual(back, { ...open, version: 4, myAs: AS_TRANS });
  assert.deepEqual(encodeOpen(back), bytes);
});

test('each capability encodes as RFC 5492 code, length, value', () => {
  const cases: [Capability, string][] = [
    [{ kind: 'multiprotocol', afi: 2, safi: 1 }, '0104 0002 00 01'],
    [{ kind: 'route-refresh' }, '0200'],
    [{ kind: 'enhanced-route-refresh' }, '4600'],
    [{ kind: 'extended-message' }, '0600'],
    [{ kind: 'four-octet-as', asn: 65001 }, '4104 0000fde9'],
    [{ kind: 'graceful-restart', restarting: false, notification: false, time: 120, families: [{ afi: 1, safi: 1, forwarding: true }] }, '4006 0078 0001 01 80'],
    [{ kind: 'add-path', families: [{ afi: 1, safi: 1, send: false, receive: true }] }, '4504 0001 01 01'],
    [{ kind: 'unknown', code: 5, value: hex('000100010002') }, '0506 000100010002'],
  ];
  for (const [cap, want] of cases) {
    const bytes = encodeOpen({ asn: 65001, holdTime: 90, bgpId: '10.0.0.1', capabilities: [cap] });
    assert.equal(bytes.subarray(31).toString('hex'), want.replace(/ /g, ''), cap.kind);
    assert.deepEqual(decodeOpen(bytes).capabilities, [cap]);
  }
});

test('a 2-octet AS is sent as is, a 4-octet one as AS_TRANS plus the capability', () => {
  const small = decodeOpen(encodeOpen({ asn: 65001, holdTime: 0, bgpId: '1.1.1.1', capabilities: [{ kind: 'four-octet-as', asn: 65001 }] }));
  assert.equal(small.myAs, 65001);
  const noCap = decodeOpen(encodeOpen({ asn: 64512, holdTime: 3, bgpId: '1.1.1.1', capabilities: [] }));
  assert.equal(noCap.asn, 64512);
  assert.equal(noCap.holdTime, 3);
  assert.deepEqual(noCap.capabilities, []);
  assert.equal(encodeOpen({ asn: 64512, holdTime: 3, bgpId: '1.1.1.1', capabilities: [] }).length, 29);
  assert.throws(() => encodeOpen({ asn: 4200000000, holdTime: 90, bgpId: '1.1.1.1', capabilities: [] }), RangeError);
});

test('capabilities past 255 octets use RFC 9072 extended optional parameters', () => {
  const caps: Capability[] = Array.from({ length: 70 }, (_, i) => ({ kind: 'multiprotocol', afi: 1, safi: i + 1 }));
  const bytes = encodeOpen({ asn: 65001, holdTime: 90, bgpId: '10.0.0.1', capabilities: caps });
  assert.equal(bytes[28], 255);
  assert.equal(bytes[29], 255);
  assert.equal(bytes.readUInt16BE(30), 3 + 70 * 6);
  assert.equal(bytes[32], 2);
  assert.equal(bytes.readUInt16BE(33), 70 * 6);
  assert.deepEqual(decodeOpen(bytes).capabilities, caps);
});

test('capabilities spread over several optional parameters are all read', () => {
  // three parameters: [multiprotocol IPv4], [] and [route-refresh]
  const msg = message(1, '04 fde9 005a 0a000001 0e' + '02 06 0104 0001 00 01' + '02 00' + '02 02 0200');
  assert.deepEqual(decodeOpen(msg).capabilities, [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'route-refresh' }]);
});

function openError(subcode: number) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof BgpMessageError);
    assert.equal(err.notification.code, ErrorCode.OPEN_MESSAGE_ERROR);
    assert.equal(err.notification.subcode, subcode);
    assert.equal(err.action, 'session-reset');
    return true;
  };
}

test('OPEN errors', () => {
  assert.throws(() => decodeOpen(message(1, '03fde9005a0a00000100')), (e: unknown) => {
    openError(OpenMessageError.UNSUPPORTED_VERSION_NUMBER)(e);
    assert.equal((e as BgpMessageError).notification.data.toString('hex'), '0004');
    return true;
  });
  assert.throws(() => decodeOpen(message(1, '04fde900020a00000100')), openError(OpenMessageError.UNACCEPTABLE_HOLD_TIME));
  assert.throws(() => decodeOpen(message(1, '04fde9005a0000000000')), openError(OpenMessageError.BAD_BGP_IDENTIFIER));
  assert.throws(() => decodeOpen(message(1, '040000005a0a00000100')), openError(OpenMessageError.BAD_PEER_AS));
  assert.throws(() => decodeOpen(message(1, '04 5ba0 005a 0a000001 08 0206 4104 00000000')), openError(OpenMessageError.BAD_PEER_AS));
  assert.throws(() => decodeOpen(message(1, '04fde9005a0a00000104 0102 0000')), openError(OpenMessageError.UNSUPPORTED_OPTIONAL_PARAMETER));
  assert.throws(() => decodeOpen(message(1, '04fde9005a0a00000105 0203 0104')), openError(UNSPECIFIC));
  assert.throws(() => decodeOpen(message(1, '04fde9005a0a00000106 0204 4102 0000')), openError(UNSPECIFIC));
  assert.throws(() => decodeOpen(message(1, '04fde9005a0a00000107 0205 4103 000000')), openError(UNSPECIFIC));
  assert.throws(() => decodeOpen(message(1, '04fde9005a0a00000109 0207 0105 0001000100')), openError(UNSPECIFIC));
  assert.throws(() => decodeOpen(message(1, '04fde9005a0a000001 05 0203 0201')), openError(UNSPECIFIC));
  assert.throws(() => decodeOpen(message(1, '04fde9005a0a000001 00 00')), openError(UNSPECIFIC));
});

test('an add-path capability with an unknown send/receive value is kept as unknown, not an error', () => {
  const open = decodeOpen(message(1, '04fde9005a0a000001 08 0206 4504 0001 01 07'));
  assert.deepEqual(open.capabilities, [{ kind: 'unknown', code: 69, value: hex('00010107') }]);
});

test('negotiateOptions: 4-octet AS, add-path per direction, extended message', () => {
  const bird: Capability[] = [
    { kind: 'four-octet-as', asn: 65001 },
    { kind: 'add-path', families: [{ afi: 1, safi: 1, send: false, receive: true }] },
    { kind: 'extended-message' },
  ];
  const gobgp: Capability[] = [{ kind: 'four-octet-as', asn: 4200000002 }];
  const a = negotiateOptions(bird, gobgp);
  assert.equal(a.fourOctetAs, true);
  assert.equal(a.extendedMessage, false);
  assert.deepEqual([...a.addPath.receive], []);
  const peer: Capability[] = [
    { kind: 'add-path', families: [{ afi: 1, safi: 1, send: true, receive: true }, { afi: 2, safi: 1, send: true, receive: true }] },
    { kind: 'extended-message' },
  ];
  const b = negotiateOptions(bird, peer);
  assert.equal(b.fourOctetAs, false);
  assert.equal(b.extendedMessage, true);
  assert.deepEqual([...b.addPath.receive], ['ipv4']);
  assert.deepEqual([...b.addPath.send], []);
  const c = negotiateOptions(peer, bird);
  assert.deepEqual([...c.addPath.send], ['ipv4']);
  assert.deepEqual([...c.addPath.receive], []);
});

test('commonFamilies: intersection, IPv4 unicast when no multiprotocol capability', () => {
  const both: Capability[] = [
    { kind: 'multiprotocol', afi: 1, safi: 1 },
    { kind: 'multiprotocol', afi: 2, safi: 1 },
  ];
  assert.deepEqual([...commonFamilies(both, both)].sort(), ['ipv4', 'ipv6']);
  assert.deepEqual([...commonFamilies(both, [])], ['ipv4']);
  assert.deepEqual([...commonFamilies(both, [{ kind: 'multiprotocol', afi: 2, safi: 1 }])], ['ipv6']);
  assert.equal(findCapability(both, 'route-refresh'), undefined);
});
