import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  normalizeIpv6,
  isIpv4Address,
  isIpv6Address,
  prefixFamily,
} from '../../../../src/bgp/wire/index.js';
import { readIpv4Prefixes, readIpv6Prefixes, writeIpv4Prefix, writeIpv6Prefix } from '../../../../src/bgp/wire/prefix.js';
import { Writer } from '../../../../src/bgp/wire/writer.js';
import { hex } from './helpers.js';

function enc4(prefixes: string[]): Buffer {
  const w = new Writer(4);
  for (const p of prefixes) writeIpv4Prefix(w, p);
  return w.finish();
}

function enc6(prefixes: string[]): Buffer {
  const w = new Writer(4);
  for (const p of prefixes) writeIpv6Prefix(w, p);
  return w.finish();
}

function dec4(b: Buffer, ids?: number[]): string[] {
  const out: string[] = [];
  assert.equal(readIpv4Prefixes(b, 0, b.length, out, ids), undefined);
  return out;
}

function dec6(b: Buffer): string[] {
  const out: string[] = [];
  assert.equal(readIpv6Prefixes(b, 0, b.length, out, undefined), undefined);
  return out;
}

test('IPv4 prefixes encode to the minimal octets and back', () => {
  const prefixes = ['0.0.0.0/0', '10.0.0.0/8', '10.244.1.0/26', '198.51.100.0/24', '192.0.2.1/32', '128.0.0.0/1', '172.16.0.0/12'];
  const b = enc4(prefixes);
  assert.deepEqual(b, hex('00' + '080a' + '1a0af40100' + '18c63364' + '20c0000201' + '0180' + '0cac10'));
  assert.deepEqual(dec4(b), prefixes);
});

test('IPv6 prefixes encode and print in RFC 5952 form', () => {
  const prefixes = ['::/0', 'fd00::/64', '2001:db8:100::/48', '2001:db8::1/128', 'fe80::6038:d9ff:fef7:5c14/128', '2001:db8:0:1:1:1:1:1/128', '8000::/1'];
  const b = enc6(prefixes);
  assert.deepEqual(dec6(b), prefixes);
  assert.deepEqual(enc6(['fd00::/64']), hex('40 fd00 0000 0000 0000'));
});

test('host bits beyond the prefix length are cleared both ways', () => {
  assert.deepEqual(dec4(hex('1a0af401ff')), ['10.244.1.192/26']);
  assert.deepEqual(dec4(hex('0fffff')), ['255.254.0.0/15']);
  assert.deepEqual(enc4(['10.1.2.3/16']), hex('100a01'));
  // Two runs of three zero groups: the leftmost is compressed.
  assert.deepEqual(dec6(hex('41 fd00 0000 0000 0000 ff')), ['fd00::8000:0:0:0/65']);
  assert.deepEqual(enc6(['2001:db8::ffff/32']), hex('20 2001 0db8'));
});

test('add-path identifiers are read before each prefix', () => {
  const ids: number[] = [];
  assert.deepEqual(dec4(hex('00000001 180a0000' + 'ffffffff 00'), ids), ['10.0.0.0/24', '0.0.0.0/0']);
  assert.deepEqual(ids, [1, 0xffffffff]);
});

test('malformed NLRI is reported, not thrown', () => {
  const out: string[] = [];
  assert.match(readIpv4Prefixes(hex('21'), 0, 1, out, undefined)!, /exceeds 32/);
  assert.match(readIpv4Prefixes(hex('180a00'), 0, 3, out, undefined)!, /overruns/);
  assert.match(readIpv4Prefixes(hex('000000'), 0, 3, out, [])!, /path identifier/);
  assert.match(readIpv6Prefixes(hex('81'), 0, 1, out, undefined)!, /exceeds 128/);
  assert.match(readIpv6Prefixes(hex('40fd00'), 0, 3, out, undefined)!, /overruns/);
});

test('RFC 5952: longest zero run compressed, leftmost on ties, single zero kept, mapped IPv4 dotted', () => {
  const cases: [string, string][] = [
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['FD00:10::1', 'fd00:10::1'],
    ['::ffff:10.10.0.2', '::ffff:10.10.0.2'],
    ['0:0:0:0:0:ffff:a0a:2', '::ffff:10.10.0.2'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
  ];
  for (const [input, want] of cases) assert.equal(normalizeIpv6(input), want, input);
});

test('address and prefix validation', () => {
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', '1.2.3.4 ', 'a.b.c.d']) assert.equal(isIpv4Address(bad), false, bad);
  for (const good of ['0.0.0.0', '255.255.255.255', '10.10.0.1']) assert.equal(isIpv4Address(good), true, good);
  for (const bad of ['', ':', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'g::', '1:', ':1', '1:2:3:4:5:6:7:1.2.3.4', '::1.2.3']) {
    assert.equal(isIpv6Address(bad), false, bad);
  }
  for (const good of ['::', '::1', '1::', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:1.2.3.4', '::1.2.3.4']) assert.equal(isIpv6Address(good), true, good);
  for (const bad of ['10.0.0.0', '10.0.0.0/33', '10.0.0.0/', '10.0.0/8', '10.0.0.0/8x', 'fd00::/64']) {
    assert.throws(() => enc4([bad]), TypeError, bad);
  }
  for (const bad of ['fd00::', 'fd00::/129', '10.0.0.0/8', 'fd00:::/64']) assert.throws(() => enc6([bad]), TypeError, bad);
  assert.equal(prefixFamily('fd00::/64'), 'ipv6');
  assert.equal(prefixFamily('10.0.0.0/8'), 'ipv4');
});

test('every IPv4 prefix length and every IPv6 prefix length round-trips', () => {
  for (let len = 0; len <= 32; len++) {
    const v = len === 0 ? 0 : (0xdeadbeef & (-1 << (32 - len))) >>> 0;
    const p = `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/${len}`;
    assert.deepEqual(dec4(enc4([p])), [p]);
  }
  for (let len = 0; len <= 128; len++) {
    const full = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
    const [p] = dec6(enc6([`${full}/${len}`]));
    assert.deepEqual(dec6(enc6([p!])), [p!]);
    assert.equal(p!.endsWith(`/${len}`), true);
  }
});
