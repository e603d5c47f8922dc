import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { IPPool } from '../../../src/api/types.js';
import { FileDatastore } from '../../../src/datastore/file-datastore.js';
import { blockAt, blockCount } from '../../../src/ipam/block-math.js';
import { Ipam, IpamExhaustedError } from '../../../src/ipam/ipam.js';

const pool = (name: string, cidr: string, blockSize: number, extra: Partial<IPPool['spec']> = {}): IPPool => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'IPPool',
  metadata: { name },
  spec: { cidr, blockSize, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, disabled: false, disableBGPExport: false, nodeSelector: 'all()', ...extra },
});

let dir: string;
before(() => (dir = mkdtempSync(join(tmpdir(), 'tabby-ipam-'))));
after(() => rmSync(dir, { recursive: true, force: true }));
const fresh = (name: string) => new FileDatastore(join(dir, name));

test('block maths', () => {
  assert.equal(blockCount('10.244.0.0/16', 26), 1024n);
  assert.equal(blockAt('10.244.0.0/16', 26, 0n), '10.244.0.0/26');
  assert.equal(blockAt('10.244.0.0/16', 26, 5n), '10.244.1.64/26');
  assert.equal(blockAt('fd00:10::/48', 122, 1n), 'fd00:10::40/122');
});

test('each node gets its own block per matching pool, and keeps it after a restart', async () => {
  const store = fresh('a');
  const pools = [pool('v4', '10.244.0.0/16', 26), pool('v6', 'fd00:10::/48', 122), pool('rack2', '10.99.0.0/24', 28, { nodeSelector: "rack == '2'" })];
  const a = await new Ipam(store).ensureBlocks('node-a', { rack: '1' }, pools);
  const b = await new Ipam(store).ensureBlocks('node-b', { rack: '2' }, pools);
  assert.deepEqual(a.map((x) => x.spec.pool).sort(), ['v4', 'v6']);
  assert.deepEqual(b.map((x) => x.spec.pool).sort(), ['rack2', 'v4', 'v6']);
  const cidrs = [...a, ...b].map((x) => x.spec.cidr);
  assert.equal(new Set(cidrs).size, cidrs.length, 'no block shared');
  const again = await new Ipam(store).ensureBlocks('node-a', { rack: '1' }, pools);
  assert.deepEqual(again.map((x) => x.spec.cidr).sort(), a.map((x) => x.spec.cidr).sort(), 'reused after restart');
  await store.close();
});

test('nodes claiming at once never share a block; a full pool is a clear error', async () => {
  const store = fresh('b');
  const small = pool('small', '10.50.0.0/28', 30); // 4 blocks
  const nodes = ['n1', 'n2', 'n3', 'n4'];
  const results = await Promise.all(nodes.map((n) => new Ipam(store).ensureBlocks(n, {}, [small])));
  const cidrs = results.flat().map((b) => b.spec.cidr);
  assert.equal(new Set(cidrs).size, 4);
  await assert.rejects(new Ipam(store).ensureBlocks('n5', {}, [small]), IpamExhaustedError);
  await store.close();
});

test('disabled pools give no new block', async () => {
  const store = fresh('c');
  assert.deepEqual(await new Ipam(store).ensureBlocks('n1', {}, [pool('off', '10.60.0.0/16', 26, { disabled: true })]), []);
  await store.close();
});

test('addresses: assigned once per handle, released, exhausted clearly', async () => {
  const store = fresh('d');
  const ipam = new Ipam(store);
  await ipam.ensureBlocks('n1', {}, [pool('tiny', '10.70.0.0/29', 30)]); // a /30: two usable
  const w1 = await ipam.assign('n1', 'w1', 4);
  assert.equal(await ipam.assign('n1', 'w1', 4), w1, 'idempotent');
  const w2 = await ipam.assign('n1', 'w2', 4);
  assert.notEqual(w1, w2);
  await assert.rejects(ipam.assign('n1', 'w3', 4), IpamExhaustedError);
  await ipam.release('w1');
  assert.equal(await ipam.assign('n1', 'w3', 4), w1);
  await assert.rejects(ipam.assign('n1', 'w4', 6), /no free IPv6/);
  await store.close();
});
