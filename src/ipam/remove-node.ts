// Deleting a Node the way calicoctl does (libcalico-go lib/clientv3/node.go Delete):
// release the addresses of its workload endpoints and its tunnel addresses, delete those
// endpoints, release its block affinities (an empty block is deleted, a block still
// holding addresses loses only its affinity: ipam.go RemoveIPAMHost with mustBeEmpty
// false), delete its node-specific BGPPeers and its `node.<name>` BGPConfiguration, then
// the Node. Tabby writes all of it in one transaction, retried when a block changed.
import { parseIP } from '../api/net.js';
import type { Datastore, StoredResource, TxnOp } from '../datastore/datastore.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { BLOCK_KIND, type IpamBlock } from './ipam.js';

export const WORKLOAD_ENDPOINT_KIND = 'WorkloadEndpoint';

const canonical = (addr: string) => parseIP(addr.split('/')[0]!)?.address ?? addr;

interface NodeSpec {
  node?: string;
  ipNetworks?: string[];
  ipv4VXLANTunnelAddr?: string;
  bgp?: { ipv4IPIPTunnelAddr?: string };
}

const specOf = (r: StoredResource) => (r.spec ?? {}) as NodeSpec;
const del = (r: StoredResource): TxnOp => ({ op: 'delete', kind: r.kind, name: r.metadata.name, resourceVersion: r.metadata.resourceVersion });

/** What deleting node `name` writes, read from the store as it is now. */
export async function nodeRemovalOps(store: Datastore, name: string): Promise<TxnOp[]> {
  const node = await store.get('Node', name);
  if (!node) throw new NotFoundError('Node', name);
  const weps = (await store.list(WORKLOAD_ENDPOINT_KIND)).items.filter((w) => specOf(w).node === name);
  const released = new Set(
    [...weps.flatMap((w) => specOf(w).ipNetworks ?? []), specOf(node).ipv4VXLANTunnelAddr, specOf(node).bgp?.ipv4IPIPTunnelAddr]
      .filter((a): a is string => typeof a === 'string' && a !== '')
      .map(canonical),
  );
  const ops: TxnOp[] = [];
  for (const block of (await store.list(BLOCK_KIND)).items as IpamBlock[]) {
    const kept = Object.fromEntries(Object.entries(block.spec.allocations ?? {}).filter(([addr]) => !released.has(canonical(addr))));
    const affine = block.spec.affinity === `host:${name}`;
    const changed = Object.keys(kept).length !== Object.keys(block.spec.allocations ?? {}).length;
    if (affine && Object.keys(kept).length === 0) {
      ops.push(del(block));
    } else if (affine || changed) {
      const spec: Partial<IpamBlock['spec']> = { ...block.spec, allocations: kept };
      if (affine) delete spec.affinity;
      ops.push({ op: 'update', resource: { ...block, spec } });
    }
  }
  ops.push(...weps.map(del));
  ops.push(...(await store.list('BGPPeer')).items.filter((p) => specOf(p).node === name).map(del));
  const nodeConfig = await store.get('BGPConfiguration', `node.${name}`);
  if (nodeConfig) ops.push(del(nodeConfig));
  ops.push(del(node));
  return ops;
}

/** Delete node `name` and everything calicoctl removes with it; retried on concurrent changes. */
export async function removeNode(store: Datastore, name: string, attempts = 10): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await store.txn(await nodeRemovalOps(store, name));
      return;
    } catch (err) {
      // Something it read changed meanwhile (an address assigned, a block claimed): read again.
      const raced = err instanceof ConflictError || (err instanceof NotFoundError && err.kind !== 'Node');
      if (!raced || i >= attempts) throw err;
    }
  }
}
