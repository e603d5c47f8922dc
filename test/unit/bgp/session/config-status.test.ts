import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../../../src/errors.js';
import { resolveConfig } from '../../../../src/bgp/session/config.js';
import { notificationName, receivedError, socketError } from '../../../../src/bgp/session/status.js';
import { canonicalAddress } from '../../../../src/bgp/session/listener.js';
import { bindAddress, ipMinTtlSet, ipTtlSet, tcpMd5Set, tcpSocket } from '../../../../src/native/sockopts.js';

const BASE = { localAs: 64512, remoteAs: 64512, routerId: '10.0.0.1', remoteAddress: '10.0.0.2' };

test('defaults follow Tabby and Calico: hold 90, connect retry 5 s, delay 2 s, OpenSent hold 240 s, error wait 5–30 s', () => {
  const c = resolveConfig(BASE);
  assert.equal(c.holdTime, 90);
  assert.equal(c.connectRetryMs, 5000);
  assert.equal(c.connectDelayMs, 2000);
  assert.equal(c.openSentHoldMs, 240_000);
  assert.deepEqual(c.idleHold, { initial: 5000, max: 30_000, resetAfter: 60_000 });
  assert.equal(c.remotePort, 179);
  assert.deepEqual(c.families, ['ipv4']);
  assert.equal(c.passive, false);
  assert.deepEqual(resolveConfig({ ...BASE, remoteAddress: '2001:db8::2' }).families, ['ipv6']);
});

test('invalid settings are ValidationErrors naming the field', () => {
  const bad: Array<[Record<string, unknown>, string]> = [
    [{ holdTime: 1 }, 'holdTime'],
    [{ holdTime: 2 }, 'holdTime'],
    [{ holdTime: 70000 }, 'holdTime'],
    [{ routerId: '0.0.0.0' }, 'routerId'],
    [{ routerId: 'x' }, 'routerId'],
    [{ remoteAddress: 'nope' }, 'remoteAddress'],
    [{ localAddress: '2001:db8::1' }, 'localAddress'],
    [{ md5Key: 'k'.repeat(81) }, 'md5Key'],
    [{ localAs: 0 }, 'localAs'],
    [{ remotePort: 0 }, 'remotePort'],
    [{ ttlSecurity: 255 }, 'ttlSecurity'],
    [{ families: ['ipv5'] }, 'families'],
    [{ idleHold: { initial: 10, max: 5 } }, 'idleHold.max'],
  ];
  for (const [over, path] of bad) {
    assert.throws(() => resolveConfig({ ...BASE, ...over } as typeof BASE), (e: unknown) => e instanceof ValidationError && e.path === path, path);
  }
  assert.equal(resolveConfig({ ...BASE, md5Key: 'k'.repeat(80) }).md5Key?.length, 80);
});

test('last-error strings in BIRD form', () => {
  assert.equal(notificationName({ code: 4, subcode: 0 }), 'Hold timer expired');
  assert.equal(notificationName({ code: 2, subcode: 2 }), 'Bad peer AS');
  assert.equal(notificationName({ code: 6, subcode: 9 }), 'Cease', 'unknown subcodes fall back to the code');
  assert.equal(notificationName({ code: 9, subcode: 1 }), 'Error code 9/subcode 1');
  assert.equal(receivedError({ code: 4, subcode: 0 }), 'Received: Hold timer expired');
  assert.equal(socketError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), 'Socket: Connection refused');
  assert.equal(socketError(Object.assign(new Error('x'), { code: 'ECONNRESET' })), 'Socket: Connection reset by peer');
  assert.equal(socketError(Object.assign(new Error('x'), { code: 'ETIMEDOUT' })), 'Socket: Connection timed out');
  assert.equal(socketError(Object.assign(new Error('x'), { op: 'tcpMd5Set', errno: 22 })), 'Error: Kernel MD5 auth failed');
});

test('listener addresses: v4-mapped and IPv6 spellings are one peer', () => {
  assert.equal(canonicalAddress('::ffff:10.0.0.1'), '10.0.0.1');
  assert.equal(canonicalAddress('2001:DB8:0::1'), '2001:db8::1');
  assert.equal(canonicalAddress('10.0.0.1'), '10.0.0.1');
});

test('socket option wrappers validate before touching the addon', () => {
  const cases: Array<[() => unknown, string]> = [
    [() => tcpSocket(5 as 4), 'family'],
    [() => tcpMd5Set(-1, 4, '10.0.0.1', 'k'), 'fd'],
    [() => tcpMd5Set(3, 4, 'nope', 'k'), 'peerAddress'],
    [() => tcpMd5Set(3, 4, '2001:db8::1', 'k'), 'peerAddress'],
    [() => tcpMd5Set(3, 6, '10.0.0.1', 'k'.repeat(81)), 'key'],
    [() => ipMinTtlSet(3, 4, 256), 'minTtl'],
    [() => ipTtlSet(3, 4, 0), 'ttl'],
    [() => bindAddress(3, 4, '10.0.0.1', 70000), 'port'],
  ];
  for (const [fn, path] of cases) assert.throws(fn, (e: unknown) => e instanceof ValidationError && e.path === path, path);
});
