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

test('nodes claiming at once never share a block; a full pool is a clear error, and no obstacle to the others', async () => {
  const store = fresh('b');
  const small = pool('small', '10.50.0.0/28', 30); // 4 blocks
  const nodes = ['n1', 'n2', 'n3', 'n4'];
  const results = await Promise.all(nodes.map((n) => new Ipam(store).ensureBlocks(n, {}, [small])));
  const cidrs = results.flat().map((b) => b.spec.cidr);
  assert.equal(new Set(cidrs).size, 4);
  await assert.rejects(new Ipam(store).claim('n5', small), IpamExhaustedError);
  // ensureBlocks goes on without that pool: the node borrows there, its other pools still get blocks.
  const other = pool('other', '10.51.0.0/24', 26);
  assert.deepEqual((await new Ipam(store).ensureBlocks('n5', {}, [small, other])).map((b) => b.spec.pool), ['other']);
  await store.close();
});

test('disabled pools give no new block', async () => {
  const store = fresh('c');
  assert.deepEqual(await new Ipam(store).ensureBlocks('n1', {}, [pool('off', '10.60.0.0/16', 26, { disabled: true })]), []);
  await store.close();
});

const now = { backoff: () => Promise.resolve() };

test('every address of a block is assignable; assigned once per handle; released exactly', async () => {
  // libcalico-go/lib/ipam/ipam_block.go newBlock: ordinals 0…n-1 all start unallocated.
  const store = fresh('d');
  const ipam = new Ipam(store);
  await ipam.ensureBlocks('n1', {}, [pool('tiny', '10.70.0.0/29', 30)]);
  const got: string[] = [];
  for (const h of ['w1', 'w2', 'w3', 'w4']) got.push(await ipam.assign('n1', h, 4, now));
  assert.deepEqual([...got].sort(), ['10.70.0.0', '10.70.0.1', '10.70.0.2', '10.70.0.3'], 'network and broadcast included');
  assert.equal(await ipam.assign('n1', 'w1', 4, now), got[0], 'idempotent');
  await assert.rejects(ipam.assign('n1', 'w5', 4, now), IpamExhaustedError);
  const w1 = (await ipam.byHandle('w1'))!.address;
  const released = await ipam.release('w1', now);
  assert.deepEqual(released.map((r) => [r.address, r.handle]), [[w1, 'w1']]);
  assert.deepEqual(await ipam.release('w1', now), [], 'a second release finds nothing and is fine');
  assert.equal(await ipam.assign('n1', 'w5', 4, now), w1);
  await assert.rejects(ipam.assign('n1', 'w6', 6, now), /no free IPv6/);
  await store.close();
});

test('a full node claims another block of its pools; attributes say who asked', async () => {
  const store = fresh('e');
  const ipam = new Ipam(store);
  const p = pool('p', '10.71.0.0/24', 30);
  const opts = { ...now, pools: [p], attributes: { containerID: 'c1', ifname: 'eth0' } };
  const addrs: string[] = [];
  for (let i = 0; i < 6; i++) addrs.push(await ipam.assign('n1', `h${i}`, 4, opts));
  assert.equal(new Set(addrs).size, 6);
  const blocks = await ipam.blocksOf('n1');
  assert.equal(blocks.length, 2, 'a /30 holds four: the fifth address needed a second block');
  const attrs = blocks.flatMap((b) => Object.values(b.spec.attributes ?? {}));
  assert.ok(attrs.every((a) => a.node === 'n1' && a.containerID === 'c1' && a.ifname === 'eth0' && !Number.isNaN(Date.parse(a.timestamp))));
  await store.close();
});

test('when no block can be claimed, an address is borrowed from another node\'s block', async () => {
  // libcalico-go/lib/ipam/ipam.go autoAssign: affine blocks, then a new block, then
  // (strictAffinity off, Calico's default) any block of the pool with room.
  const store = fresh('f');
  const ipam = new Ipam(store);
  const p = pool('one', '10.72.0.0/30', 30); // a single block
  const a = await ipam.assign('owner', 'o1', 4, { ...now, pools: [p] });
  const b = await ipam.assign('other', 'x1', 4, { ...now, pools: [p] });
  const [block] = await ipam.blocks();
  assert.equal(block!.spec.affinity, 'host:owner', 'the block stays the owner\'s');
  assert.equal(block!.spec.attributes![b]!.node, 'other', 'the borrower is recorded');
  assert.notEqual(a, b);
  assert.equal((await ipam.blocksOf('other')).length, 0);
  await store.close();
});

test('32 hosts racing for a pool of 16 blocks: every host gets an address, each block one owner', async () => {
  // libcalico-go/lib/ipam/ipam_block_reader_writer_test.go, "should handle multiple racing
  // block affinity claims from different hosts": 10.0.0.0/22, 32 hosts, 16 affinities,
  // hosts that own a block got their address from it, the others borrowed.
  const dir2 = join(dir, 'race');
  const p = pool('race', '10.0.0.0/22', 26);
  const hosts = Array.from({ length: 32 }, (_, i) => `host-${i}`);
  const stores = hosts.map(() => new FileDatastore(dir2));
  const got = await Promise.all(hosts.map((h, i) => new Ipam(stores[i]!).assign(h, h, 4, { ...now, pools: [p] })));
  assert.equal(new Set(got).size, 32, 'no address twice');
  const blocks = await new Ipam(stores[0]!).blocks();
  assert.equal(blocks.length, 16);
  assert.equal(new Set(blocks.map((b) => b.spec.affinity)).size, 16, 'one owner per block');
  for (const b of blocks) {
    const owner = b.spec.affinity.slice('host:'.length);
    const own = Object.entries(b.spec.allocations).find(([, h]) => h === owner);
    assert.ok(own, `${owner} got its address from its own block ${b.spec.cidr}`);
  }
  await Promise.all(stores.map((s) => s.close()));
});

test('20 concurrent assignments on one node: distinct addresses, all released again', async () => {
  const dir3 = join(dir, 'same');
  const p = pool('same', '10.73.0.0/24', 28);
  const stores = Array.from({ length: 20 }, () => new FileDatastore(dir3));
  const got = await Promise.all(stores.map((s, i) => new Ipam(s).assign('n1', `c${i}.eth0`, 4, { ...now, pools: [p] })));
  assert.equal(new Set(got).size, 20);
  await Promise.all(stores.map((s, i) => new Ipam(s).release(`c${i}.eth0`, now)));
  const left = (await new Ipam(stores[0]!).blocks()).flatMap((b) => Object.keys(b.spec.allocations));
  assert.deepEqual(left, []);
  await Promise.all(stores.map((s) => s.close()));
});

test('releaseAddress frees one address whatever holds it; pools are filtered by family, state and selector', async () => {
  const store = fresh('g');
  const ipam = new Ipam(store);
  const pools = [pool('off', '10.74.0.0/24', 26, { disabled: true }), pool('rack2', '10.75.0.0/24', 26, { nodeSelector: "rack == '2'" }), pool('v6', 'fd00:74::/120', 122)];
  await assert.rejects(ipam.assign('n1', 'h', 4, { ...now, pools, labels: { rack: '1' } }), /no free IPv4 address in pools \(none usable\)/);
  const v4 = await ipam.assign('n1', 'h', 4, { ...now, pools, labels: { rack: '2' } });
  const v6 = await ipam.assign('n1', 'h', 6, { ...now, pools, labels: { rack: '2' } });
  assert.match(v4, /^10\.75\.0\./);
  assert.match(v6, /^fd00:74::/);
  assert.deepEqual((await ipam.releaseAddress(v4, now)).map((r) => r.handle), ['h']);
  assert.equal((await ipam.byHandle('h', 4)), undefined);
  assert.equal((await ipam.byHandle('h', 6))?.address, v6, 'the other family is untouched');
  await assert.rejects(ipam.releaseAddress('not-an-ip'), /not an IP address/);
  await store.close();
});
