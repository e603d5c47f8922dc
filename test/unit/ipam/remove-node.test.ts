// Deleting a Node removes what libcalico-go's node deletion removes
// (libcalico-go/lib/clientv3/node.go Delete): the IPs of its workload endpoints and its
// IPIP/VXLAN tunnel addresses are released, those endpoints deleted, its block affinities
// released by RemoveIPAMHost with mustBeEmpty=false (ipam.go: an empty block is deleted,
// a block that still holds addresses only loses its affinity), its node-specific BGPPeers
// and its node.<name> BGPConfiguration deleted, then the Node itself.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FileDatastore } from '../../../src/datastore/file-datastore.js';
import type { StoredResource } from '../../../src/datastore/datastore.js';
import { BLOCK_KIND } from '../../../src/ipam/ipam.js';
import { removeNode } from '../../../src/ipam/remove-node.js';
import { NotFoundError } from '../../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'tabby-remove-node-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const r = (kind: string, name: string, spec: unknown): StoredResource => ({ apiVersion: 'projectcalico.org/v3', kind, metadata: { name }, spec });
const block = (cidr: string, node: string | undefined, allocations: Record<string, string>) =>
  r(BLOCK_KIND, cidr.replace(/[./]/g, '-'), { cidr, ...(node ? { affinity: `host:${node}` } : {}), pool: 'p', allocations });

test('delete node: addresses, endpoints, blocks, affinities, peers and config go with it; others stay', async () => {
  const store = await FileDatastore.open(join(dir, 'a'));
  try {
    await store.txn(
      [
        r('Node', 'n1', { bgp: { ipv4Address: '10.0.0.1/24', ipv4IPIPTunnelAddr: '10.244.0.1' }, ipv4VXLANTunnelAddr: '10.244.0.2' }),
        r('Node', 'n2', { bgp: { ipv4Address: '10.0.0.2/24' } }),
        // n1's blocks: one holds only n1's own addresses (emptied, then deleted), one also
        // an address of n2's workload that borrowed from it (kept, affinity released).
        block('10.244.0.0/26', 'n1', { '10.244.0.1': 'ipip-tunnel-addr-n1', '10.244.0.2': 'vxlan-tunnel-addr-n1', '10.244.0.3': 'wep-a' }),
        block('10.244.0.64/26', 'n1', { '10.244.0.65': 'wep-b', '10.244.0.66': 'wep-on-n2' }),
        block('10.244.1.0/26', 'n2', { '10.244.1.1': 'wep-c', '10.244.0.99': 'odd' }),
        r('WorkloadEndpoint', 'n1-k8s-a-eth0', { node: 'n1', ipNetworks: ['10.244.0.3/32'] }),
        r('WorkloadEndpoint', 'n1-k8s-b-eth0', { node: 'n1', ipNetworks: ['10.244.0.65/32'] }),
        r('WorkloadEndpoint', 'n2-k8s-c-eth0', { node: 'n2', ipNetworks: ['10.244.0.66/32'] }),
        r('BGPPeer', 'n1-tor', { node: 'n1', peerIP: '10.0.0.254', asNumber: 65000 }),
        r('BGPPeer', 'global-tor', { peerIP: '10.0.0.253', asNumber: 65000 }),
        r('BGPConfiguration', 'node.n1', { listenPort: 1179 }),
        r('BGPConfiguration', 'default', { asNumber: 64512 }),
      ].map((resource) => ({ op: 'create' as const, resource })),
    );
    await removeNode(store, 'n1');
    const names = async (kind: string) => (await store.list(kind)).items.map((x) => x.metadata.name).sort();
    assert.deepEqual(await names('Node'), ['n2']);
    assert.deepEqual(await names('WorkloadEndpoint'), ['n2-k8s-c-eth0']);
    assert.deepEqual(await names('BGPPeer'), ['global-tor']);
    assert.deepEqual(await names('BGPConfiguration'), ['default']);
    const blocks = (await store.list(BLOCK_KIND)).items as Array<StoredResource & { spec: { cidr: string; affinity?: string; allocations: Record<string, string> } }>;
    assert.deepEqual(blocks.map((b) => b.spec.cidr).sort(), ['10.244.0.64/26', '10.244.1.0/26'], 'the emptied block is gone');
    const kept = blocks.find((b) => b.spec.cidr === '10.244.0.64/26')!;
    assert.equal(kept.spec.affinity, undefined, 'affinity released');
    assert.deepEqual(kept.spec.allocations, { '10.244.0.66': 'wep-on-n2' }, "n2's borrowed address stays");
    assert.equal(blocks.find((b) => b.spec.cidr === '10.244.1.0/26')!.spec.affinity, 'host:n2');
    await assert.rejects(removeNode(store, 'n1'), (e: unknown) => e instanceof NotFoundError && /Node "n1" not found/.test(e.message));
  } finally {
    await store.close();
  }
});
