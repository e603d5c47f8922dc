import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareAddresses, parsePrefix, prefixWithin } from '../../../../src/bgp/rib/address.js';

test('compareAddresses: numeric, IPv4 before IPv6', () => {
  const sorted = ['fd00::10', '10.0.0.10', '::ffff:1.2.3.4', '10.0.0.9', '9.255.255.255', 'fd00::9', '2001:db8::1'].sort(compareAddresses);
  assert.deepEqual(sorted, ['9.255.255.255', '10.0.0.9', '10.0.0.10', '::ffff:1.2.3.4', '2001:db8::1', 'fd00::9', 'fd00::10']);
  assert.equal(compareAddresses('FD00::1', 'fd00:0:0::1'), 0);
});

test('parsePrefix and prefixWithin', () => {
  const p = (s: string) => parsePrefix(s)!;
  assert.deepEqual(p('::ffff:10.0.0.1/128').words, [0, 0, 0xffff, 0x0a000001]);
  assert.equal(parsePrefix('10.0.0.0/33'), undefined);
  assert.equal(parsePrefix('10.0.0/8'), undefined);
  assert.equal(parsePrefix('fd00::1::2/64'), undefined);
  assert.equal(parsePrefix('1:2:3:4:5:6:7:8:9/64'), undefined);
  assert.ok(prefixWithin(p('10.1.2.0/24'), p('10.0.0.0/8')));
  assert.ok(!prefixWithin(p('11.1.2.0/24'), p('10.0.0.0/8')));
  assert.ok(prefixWithin(p('1.2.3.4/32'), p('0.0.0.0/0')));
  assert.ok(prefixWithin(p('fd00:10:0:5::/64'), p('fd00:10::/32')));
  assert.ok(!prefixWithin(p('fd00:11::/48'), p('fd00:10::/32')));
  assert.ok(prefixWithin(p('fd00:10::/33'), p('fd00:10::/33')));
  assert.ok(!prefixWithin(p('fd00:10:8000::/33'), p('fd00:10::/33')));
  assert.ok(!prefixWithin(p('10.0.0.0/8'), p('::/0')), 'families do not mix');
});
