import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  asPathLength,
  community,
  formatAsPath,
  formatCommunity,
  formatExtendedCommunity,
  formatLargeCommunity,
  parseCommunity,
  parseLargeCommunity,
  WellKnownCommunity,
} from '../../../../src/bgp/wire/index.js';
import { hex } from './helpers.js';

test('communities: well-known names both ways, ASN:value otherwise', () => {
  assert.equal(formatCommunity(WellKnownCommunity.NO_EXPORT), 'NO_EXPORT');
  assert.equal(formatCommunity(0xffffff02), 'NO_ADVERTISE');
  assert.equal(formatCommunity(0xffffff03), 'NO_EXPORT_SUBCONFED');
  assert.equal(formatCommunity(0xffff029a), 'BLACKHOLE');
  assert.equal(formatCommunity(0xffff0000), 'GRACEFUL_SHUTDOWN');
  assert.equal(formatCommunity(community(65001, 100)), '65001:100');
  assert.equal(formatCommunity(community(65535, 1)), 'ACCEPT_OWN');
  assert.equal(formatCommunity(community(65535, 100)), '65535:100');
  assert.equal(parseCommunity('NO_EXPORT'), 0xffffff01);
  assert.equal(parseCommunity('no-export'), 0xffffff01);
  assert.equal(parseCommunity('65535:65281'), WellKnownCommunity.NO_EXPORT);
  assert.equal(parseCommunity('65001:100'), 0xfde90064);
  for (const bad of ['65536:1', '1:65536', '1', 'a:b', 'NO_SUCH', '1:2:3']) assert.equal(parseCommunity(bad), undefined, bad);
});

test('large and extended communities', () => {
  assert.equal(formatLargeCommunity([4200000002, 5, 6]), '4200000002:5:6');
  assert.deepEqual(parseLargeCommunity('4200000002:5:6'), [4200000002, 5, 6]);
  assert.equal(parseLargeCommunity('4294967296:1:1'), undefined);
  assert.equal(parseLargeCommunity('1:2'), undefined);
  assert.equal(formatExtendedCommunity(hex('0002fde900000064')), '0002fde900000064');
});

test('AS path text and length for route selection', () => {
  const path = [
    { type: 3 as const, asns: [65010] },
    { type: 2 as const, asns: [65001, 4200000002] },
    { type: 1 as const, asns: [1, 2, 3] },
    { type: 4 as const, asns: [65011] },
  ];
  assert.equal(formatAsPath(path), '(65010) 65001 4200000002 {1 2 3} [65011]');
  assert.equal(asPathLength(path), 3);
  assert.equal(asPathLength([]), 0);
});
