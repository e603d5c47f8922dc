// The speaker's pure pieces: graceful-restart decisions, Cease/Hard Reset, local route
// tables, UPDATE packing; and the session's close() that the graceful stop relies on.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ceaseNotification, flushOnEstablish, retainOnDown } from '../../../../src/bgp/speaker/graceful-restart.js';
import { canonicalPrefix, localTables } from '../../../../src/bgp/speaker/local-routes.js';
import { chunks, packOutbound, prefixOctets } from '../../../../src/bgp/speaker/update-packer.js';
import type { DownEvent, NegotiatedInfo } from '../../../../src/bgp/session/index.js';
import { CeaseSubcode, encodeUpdate, ErrorCode, MAX_EXTENDED_MESSAGE_LENGTH, type CodecOptions } from '../../../../src/bgp/wire/index.js';
import { harness, settle } from '../session/helpers.js';

const N: NegotiatedInfo = {
  peerAs: 1,
  peerId: '10.0.0.1',
  holdTime: 90,
  keepaliveTime: 30,
  families: ['ipv4', 'ipv6'],
  fourOctetAs: true,
  addPath: { receive: [], send: [] },
  routeRefresh: true,
  extendedMessage: false,
  gracefulRestart: {
    restartTime: 120,
    restarting: false,
    notification: false,
    families: [
      { family: 'ipv4', forwarding: true },
      { family: 'ipv6', forwarding: false },
    ],
  },
};
const closed: DownEvent = { reason: 'connection lost', error: 'Socket: Connection closed', wasEstablished: true };
const withNote = (subcode: number, direction: 'sent' | 'received' = 'received'): DownEvent => ({
  ...closed,
  notification: { direction, code: ErrorCode.CEASE, subcode, name: 'x', at: new Date(0) },
});

test('retainOnDown: which families survive the session (RFC 4724, RFC 8538)', () => {
  const nBit = { ...N, gracefulRestart: { ...N.gracefulRestart!, notification: true } };
  const noGr = { ...N };
  delete noGr.gracefulRestart;
  const rows: Array<[string, NegotiatedInfo | undefined, DownEvent, boolean, string[]]> = [
    ['connection closed', N, closed, false, ['ipv4', 'ipv6']],
    ['only negotiated families', { ...N, families: ['ipv4'] }, closed, false, ['ipv4']],
    ['we ended it on purpose', N, closed, true, []],
    ['no capability', noGr, closed, false, []],
    ['restart time 0', { ...N, gracefulRestart: { ...N.gracefulRestart!, restartTime: 0 } }, closed, false, []],
    ['never established', N, { ...closed, wasEstablished: false }, false, []],
    ['NOTIFICATION without N bit', N, withNote(CeaseSubcode.ADMINISTRATIVE_RESET), false, []],
    ['NOTIFICATION with N bit', nBit, withNote(CeaseSubcode.ADMINISTRATIVE_RESET), false, ['ipv4', 'ipv6']],
    ['hold timer (sent) with N bit', nBit, { ...closed, notification: { direction: 'sent', code: ErrorCode.HOLD_TIMER_EXPIRED, subcode: 0, name: 'x', at: new Date(0) } }, false, ['ipv4', 'ipv6']],
    ['Hard Reset with N bit', nBit, withNote(CeaseSubcode.HARD_RESET), false, []],
  ];
  for (const [name, n, down, deliberate, want] of rows) assert.deepEqual(retainOnDown(n, down, deliberate), want, name);
});

test('flushOnEstablish: stale families the returning peer cannot vouch for', () => {
  assert.deepEqual(flushOnEstablish(['ipv4', 'ipv6'], N), ['ipv6'], 'F bit clear for IPv6');
  const noGr = { ...N };
  delete noGr.gracefulRestart;
  assert.deepEqual(flushOnEstablish(['ipv4'], noGr), ['ipv4']);
  assert.deepEqual(flushOnEstablish(['ipv4'], { ...N, families: ['ipv6'] }), ['ipv4']);
});

test('ceaseNotification: Hard Reset wraps the subcodes that must end graceful restart, only with the N bit', () => {
  assert.deepEqual(ceaseNotification(CeaseSubcode.PEER_DE_CONFIGURED, true), { code: 6, subcode: 9, data: Buffer.from([6, 3]) });
  assert.deepEqual(ceaseNotification(CeaseSubcode.PEER_DE_CONFIGURED, false), { code: 6, subcode: 3, data: Buffer.alloc(0) });
  assert.deepEqual(ceaseNotification(CeaseSubcode.ADMINISTRATIVE_RESET, true), { code: 6, subcode: 4, data: Buffer.alloc(0) });
  assert.deepEqual(ceaseNotification(CeaseSubcode.OTHER_CONFIGURATION_CHANGE, true), { code: 6, subcode: 6, data: Buffer.alloc(0) });
});

test('local routes: canonical prefixes, shared attributes, bad input refused', () => {
  assert.deepEqual(canonicalPrefix('FD00:0:0::/64'), { family: 'ipv6', prefix: 'fd00::/64' });
  assert.deepEqual(canonicalPrefix('10.1.2.3/24'), { family: 'ipv4', prefix: '10.1.2.0/24' });
  assert.equal(canonicalPrefix('10.1.2/24'), undefined);
  assert.equal(canonicalPrefix('10.1.2.0/33'), undefined);
  const t = localTables([{ prefix: '10.0.0.0/26' }, { prefix: '10.0.0.64/26' }, { prefix: 'fd00::/122', med: 3 }]);
  assert.equal(t.ipv4.get('10.0.0.0/26'), t.ipv4.get('10.0.0.64/26'), 'one attribute object for equal routes');
  assert.deepEqual(t.ipv6.get('fd00::/122'), { origin: 0, asPath: [], med: 3 });
  assert.throws(() => localTables([{ prefix: 'nope' }]), /routes\[0\]\.prefix/);
});

test('packing: NLRI octets, runs that fit, withdrawals and announcements within the message length', () => {
  assert.equal(prefixOctets('10.0.0.0/8', false), 2);
  assert.equal(prefixOctets('10.0.0.1/32', true), 9);
  assert.equal(prefixOctets('fd00::/64', false), 9);
  assert.deepEqual([...chunks(['a/8', 'b/8', 'c/8'], 4, false)], [['a/8', 'b/8'], ['c/8']]);
  assert.throws(() => [...chunks(['a/32'], 4, false)], /does not fit/);

  const opts: CodecOptions = { fourOctetAs: true, addPath: { receive: new Set(), send: new Set() }, extendedMessage: true };
  const prefixes = Array.from({ length: 20000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
  const ups = [...packOutbound({ family: 'ipv4', withdrawn: prefixes, announced: [{ attributes: { origin: 0, asPath: [], nextHop: '10.0.0.1' }, prefixes }] }, opts)];
  const sizes = ups.map((u) => encodeUpdate(u, opts).length);
  assert.ok(sizes.every((s) => s <= MAX_EXTENDED_MESSAGE_LENGTH));
  assert.equal(ups.length, 4, '80000 octets of withdrawals and of NLRI: two 65535-octet messages each');
  assert.equal(ups.reduce((n, u) => n + u.withdrawn.length + u.nlri.length, 0), 40000);
});

test('session.close(): the connection goes without a NOTIFICATION and the session stays Idle', async () => {
  const h = harness();
  const peer = await h.establish();
  await h.session.close();
  await settle();
  assert.equal(h.session.state, 'Idle');
  assert.equal(peer.closed, true);
  assert.equal(peer.count('notification'), 0);
  await h.clock.advance(60_000);
  assert.equal(h.dialer.attempts.length, 1, 'no restart on its own');
});
