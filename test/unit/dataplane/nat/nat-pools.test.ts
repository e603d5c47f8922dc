// The natOutgoing decision and the address sets both dataplanes are filled from.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../../../src/errors.js';
import { natApplies, natSets, type NatPool } from '../../../../src/dataplane/nat/nat-pools.js';

const POOLS: NatPool[] = [
  { cidr: '10.66.0.0/16', natOutgoing: true },
  { cidr: '10.67.0.0/16', natOutgoing: false },
  { cidr: '10.68.0.0/16', natOutgoing: true, disabled: true },
  { cidr: 'fd00:66::/48', natOutgoing: true },
];

test('natSets: per family, canonical, sorted, unique; disabled pools still masquerade', () => {
  const s = natSets([...POOLS, { cidr: '10.66.3.4/16', natOutgoing: true }]);
  assert.deepEqual(s[4], { masq: ['10.66.0.0/16', '10.68.0.0/16'], all: ['10.66.0.0/16', '10.67.0.0/16', '10.68.0.0/16'] });
  assert.deepEqual(s[6], { masq: ['fd00:66::/48'], all: ['fd00:66::/48'] });
  assert.deepEqual(natSets([]), { 4: { masq: [], all: [] }, 6: { masq: [], all: [] } });
});

test('natSets rejects what is not a pool list', () => {
  for (const bad of [
    [{ cidr: '10.0.0.0', natOutgoing: true }],
    [{ cidr: '10.0.0.0/8', natOutgoing: 'yes' }],
    [{ cidr: '10.0.0.0/8', natOutgoing: true, disabled: 1 }],
    [null],
  ]) {
    assert.throws(() => natSets(bad as unknown as NatPool[]), ValidationError, JSON.stringify(bad));
  }
});

const DECISIONS: Array<[string, string, boolean, string]> = [
  ['10.66.1.2', '8.8.8.8', true, 'natOutgoing pool to the outside'],
  ['10.66.1.2', '10.67.1.2', false, 'to another pool'],
  ['10.66.1.2', '10.66.9.9', false, 'within the pool'],
  ['10.67.1.2', '8.8.8.8', false, 'pool without natOutgoing'],
  ['10.68.1.2', '8.8.8.8', true, 'disabled pool with natOutgoing'],
  ['192.168.1.1', '8.8.8.8', false, 'not from a pool (the node itself)'],
  ['fd00:66::5', '2001:db8::1', true, 'IPv6'],
  ['fd00:66::5', '8.8.8.8', false, 'mixed families'],
];

for (const [src, dst, want, why] of DECISIONS) {
  test(`natApplies ${src} -> ${dst}: ${want} (${why})`, () => {
    assert.equal(natApplies(natSets(POOLS), src, dst), want);
  });
}
