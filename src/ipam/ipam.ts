// IPAM: per-node block affinity and address assignment inside IP pools. A block is
// claimed by creating its IPAMBlock resource (create-if-absent), so two nodes can never
// own the same block, whatever the datastore backend; a node reuses its blocks after a restart.
import { parseCidr } from '../api/net.js';
import { matchesSelector } from '../api/selector.js';
import type { IPPool } from '../api/types.js';
import type { Datastore, StoredResource } from '../datastore/datastore.js';
import { AlreadyExistsError, ConflictError, TabbyError } from '../errors.js';
import { addressAt, blockAddresses, blockAt, blockCount, offsetIn, startIndex } from './block-math.js';

export const BLOCK_KIND = 'IPAMBlock';

export interface IpamBlockSpec {
  cidr: string;
  /** `host:<node>` as Calico writes it. */
  affinity: string;
  pool: string;
  /** address → handle of what holds it. */
  allocations: Record<string, string>;
}

export type IpamBlock = StoredResource & { spec: IpamBlockSpec };

export class IpamExhaustedError extends TabbyError {
  override readonly code = 'IPAM_EXHAUSTED';
}

/** The resource name for a block CIDR (`10-244-1-0-26`). */
export const blockName = (cidr: string) => cidr.toLowerCase().replace(/[.:/]/g, '-');

const MAX_SCAN = 65536n;

export class Ipam {
  constructor(private readonly store: Datastore) {}

  async blocks(): Promise<IpamBlock[]> {
    return (await this.store.list(BLOCK_KIND)).items as IpamBlock[];
  }

  async blocksOf(node: string): Promise<IpamBlock[]> {
    return (await this.blocks()).filter((b) => b.spec.affinity === `host:${node}`);
  }

  /**
   * Make sure the node owns one block in every enabled pool whose nodeSelector matches it;
   * returns all blocks affine to the node (including ones in pools now disabled: their
   * routes are still advertised, as Calico does).
   */
  async ensureBlocks(node: string, labels: Record<string, string>, pools: IPPool[]): Promise<IpamBlock[]> {
    const owned = await this.blocksOf(node);
    for (const pool of pools) {
      if (pool.spec.disabled || !matchesSelector(pool.spec.nodeSelector, labels)) continue;
      if (owned.some((b) => b.spec.pool === pool.metadata.name && inPool(pool, b.spec.cidr))) continue;
      owned.push(await this.claim(node, pool));
    }
    return owned;
  }

  /** Claim a free block of the pool for the node. */
  async claim(node: string, pool: IPPool): Promise<IpamBlock> {
    const count = blockCount(pool.spec.cidr, pool.spec.blockSize);
    const taken = new Set((await this.blocks()).map((b) => b.spec.cidr));
    const start = startIndex(node, count);
    const limit = count < MAX_SCAN ? count : MAX_SCAN;
    for (let i = 0n; i < limit; i++) {
      const cidr = blockAt(pool.spec.cidr, pool.spec.blockSize, (start + i) % count);
      if (taken.has(cidr)) continue;
      const block: IpamBlock = {
        apiVersion: 'projectcalico.org/v3',
        kind: BLOCK_KIND,
        metadata: { name: blockName(cidr) },
        spec: { cidr, affinity: `host:${node}`, pool: pool.metadata.name, allocations: {} },
      };
      try {
        return (await this.store.create(block)) as IpamBlock;
      } catch (err) {
        if (!(err instanceof AlreadyExistsError)) throw err; // another node won this one
      }
    }
    throw new IpamExhaustedError(`IP pool ${pool.metadata.name} (${pool.spec.cidr}) has no free /${pool.spec.blockSize} block`);
  }

  /** Assign an address of the family to `handle` from the node's blocks (idempotent per handle). */
  async assign(node: string, handle: string, family: 4 | 6): Promise<string> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const blocks = (await this.blocksOf(node)).filter((b) => parseCidr(b.spec.cidr)!.family === family);
      const held = blocks.flatMap((b) => Object.entries(b.spec.allocations)).find(([, h]) => h === handle);
      if (held) return held[0];
      const block = blocks.find((b) => freeAddress(b) !== undefined);
      if (!block) break;
      const address = freeAddress(block)!;
      block.spec.allocations = { ...block.spec.allocations, [address]: handle };
      try {
        await this.store.update(block);
        return address;
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err; // someone else assigned meanwhile: re-read
      }
    }
    throw new IpamExhaustedError(`node ${node} has no free IPv${family} address in its blocks`);
  }

  /** Release every address held by `handle`. */
  async release(handle: string): Promise<void> {
    for (const { metadata } of await this.blocks()) {
      for (let attempt = 0; ; attempt++) {
        const block = (await this.store.get(BLOCK_KIND, metadata.name)) as IpamBlock | undefined;
        if (!block) break;
        const kept = Object.fromEntries(Object.entries(block.spec.allocations).filter(([, h]) => h !== handle));
        if (Object.keys(kept).length === Object.keys(block.spec.allocations).length) break;
        try {
          await this.store.update({ ...block, spec: { ...block.spec, allocations: kept } });
          break;
        } catch (err) {
          if (!(err instanceof ConflictError) || attempt >= 20) throw err;
        }
      }
    }
  }
}

function inPool(pool: IPPool, cidr: string): boolean {
  const p = parseCidr(pool.spec.cidr)!;
  const b = parseCidr(cidr)!;
  return p.family === b.family && offsetIn(pool.spec.cidr, b.address) >= 0n;
}

/** First free address, skipping the block's network address (and broadcast for IPv4 /31+ sized blocks). */
function freeAddress(block: IpamBlock): string | undefined {
  const size = blockAddresses(block.spec.cidr);
  const v4 = parseCidr(block.spec.cidr)!.family === 4;
  const first = size > 2n ? 1n : 0n;
  const last = v4 && size > 2n ? size - 2n : size - 1n;
  const limit = last - first + 1n < 4096n ? last : first + 4095n;
  for (let n = first; n <= limit; n++) {
    const addr = addressAt(block.spec.cidr, n);
    if (!(addr in block.spec.allocations)) return addr;
  }
  return undefined;
}
