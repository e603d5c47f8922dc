// What a node originates from IPAM. Expectations follow Calico's
// confd/etc/calico/confd/templates/bird_aggr.cfg.template: calico_aggr() accepts
// `net = BLOCK` and rejects `net ~ BLOCK` for each block affine to the node ("export the
// block, nothing beneath it"), so workload /32s inside own blocks stay quiet while a /32
// borrowed from another node's block (not beneath any own block) is exported.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blockAdvertisements, type BlockView } from '../../../src/calc/block-advertisements.js';

const block = (cidr: string, owner: string, allocs: Record<string, string> = {}): BlockView => ({
  spec: { cidr, affinity: `host:${owner}`, allocations: Object.fromEntries(Object.keys(allocs).map((a) => [a, `h-${a}`])), attributes: Object.fromEntries(Object.entries(allocs).map(([a, node]) => [a, { node }])) },
});
const POOLS = ['10.244.0.0/16', 'fd00:10::/48'];

test('own blocks are advertised whole; own workloads beneath them are not', () => {
  const r = blockAdvertisements('a', [block('10.244.1.0/26', 'a', { '10.244.1.1': 'a', '10.244.1.2': 'a' }), block('10.244.2.0/26', 'b')], POOLS);
  assert.deepEqual(r, { blocks: ['10.244.1.0/26'], borrowed: [] });
});

test('an address borrowed from another node\'s block is advertised as a host route', () => {
  const blocks = [block('10.244.1.0/26', 'a', { '10.244.1.1': 'a' }), block('10.244.2.0/26', 'b', { '10.244.2.0': 'b', '10.244.2.7': 'a' }), block('fd00:10::/122', 'b', { 'fd00:10::5': 'a' })];
  assert.deepEqual(blockAdvertisements('a', blocks, POOLS), { blocks: ['10.244.1.0/26'], borrowed: ['10.244.2.7/32', 'fd00:10::5/128'] });
  // The owner keeps aggregating: it advertises its block, not the lender's view of the /32.
  assert.deepEqual(blockAdvertisements('b', blocks, POOLS), { blocks: ['10.244.2.0/26', 'fd00:10::/122'], borrowed: [] });
});

test('a node with no block of its own still advertises what it borrowed', () => {
  assert.deepEqual(blockAdvertisements('c', [block('10.244.2.0/26', 'b', { '10.244.2.9': 'c' })], POOLS), { blocks: [], borrowed: ['10.244.2.9/32'] });
});

test('nothing from pools that no longer exist; allocations without attributes are not borrowed', () => {
  const legacy: BlockView = { spec: { cidr: '10.244.3.0/26', affinity: 'host:b', allocations: { '10.244.3.4': 'x' } } };
  assert.deepEqual(blockAdvertisements('a', [block('10.99.0.0/26', 'a'), block('10.99.1.0/26', 'b', { '10.99.1.3': 'a' }), legacy], POOLS), { blocks: [], borrowed: [] });
});
