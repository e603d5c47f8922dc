// IPAM on a real etcd shared by several nodes: conditional writes on mod_revision keep
// every address unique while many writers race, on one node and across nodes.
// The racing-hosts case follows Calico's libcalico-go/lib/ipam/ipam_block_reader_writer_test.go
// "should handle multiple racing block affinity claims from different hosts" (a /22 of /26
// blocks, 32 hosts, 16 affinities, owners assigned from their own block, the rest borrow).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { IPPool } from '../../src/api/types.js';
import { EtcdDatastore } from '../../src/datastore/etcd-datastore.js';
import { Ipam } from '../../src/ipam/ipam.js';
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { needs } from '../helpers/require.js';

const pool = (name: string, cidr: string, blockSize: number): IPPool => ({
  apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name }, spec: { cidr, blockSize, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, disabled: false, disableBGPExport: false, nodeSelector: 'all()' },
});

describe('IPAM on etcd', { ...needs({ tools: ['etcd'] }), timeout: 180_000 }, () => {
  let etcd: EtcdCluster;
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.stop();
  });

  /** `n` clients on their own connections, under a fresh key prefix. */
  async function clients(n: number): Promise<EtcdDatastore[]> {
    const prefix = `/test-${randomUUID()}/tabby/v3/`;
    return Promise.all(Array.from({ length: n }, () => EtcdDatastore.open({ endpoints: etcd.endpoints, prefix })));
  }

  test('two nodes, 20 concurrent assignments each: no address twice, each node in its own block, nothing left after release', async () => {
    const stores = await clients(8);
    try {
      const p = pool('p', '10.80.0.0/16', 26);
      const jobs = ['node-a', 'node-b'].flatMap((node) => Array.from({ length: 20 }, (_, i) => ({ node, handle: `net.${node}-c${i}.eth0` })));
      const got = await Promise.all(jobs.map((j, i) => new Ipam(stores[i % stores.length]!).assign(j.node, j.handle, 4, { pools: [p] })));
      assert.equal(new Set(got).size, 40);
      const blocks = await new Ipam(stores[0]!).blocks();
      for (const b of blocks) {
        const owner = b.spec.affinity.slice('host:'.length);
        assert.ok(Object.values(b.spec.allocations).every((h) => h.startsWith(`net.${owner}-`)), `${b.spec.cidr} holds only ${owner}'s addresses`);
      }
      await Promise.all(jobs.map((j, i) => new Ipam(stores[i % stores.length]!).release(j.handle)));
      assert.deepEqual((await new Ipam(stores[0]!).blocks()).flatMap((b) => Object.keys(b.spec.allocations)), []);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  test('32 hosts racing for 16 blocks: each block one owner, every host an address', async () => {
    const stores = await clients(8);
    try {
      const p = pool('race', '10.0.0.0/22', 26);
      const hosts = Array.from({ length: 32 }, (_, i) => `host-${i}`);
      const got = await Promise.all(hosts.map((h, i) => new Ipam(stores[i % stores.length]!).assign(h, h, 4, { pools: [p] })));
      assert.equal(new Set(got).size, 32);
      const blocks = await new Ipam(stores[0]!).blocks();
      assert.equal(blocks.length, 16);
      assert.equal(new Set(blocks.map((b) => b.spec.affinity)).size, 16);
      for (const b of blocks) {
        const owner = b.spec.affinity.slice('host:'.length);
        assert.ok(Object.entries(b.spec.allocations).some(([, h]) => h === owner), `${owner} assigned from its own block`);
      }
      const borrowed = blocks.flatMap((b) => Object.entries(b.spec.attributes ?? {}).filter(([, a]) => `host:${a.node}` !== b.spec.affinity));
      assert.equal(borrowed.length, 16, 'the hosts without a block borrowed');
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
