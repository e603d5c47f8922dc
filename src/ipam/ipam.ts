// IPAM: per-node block affinity and address assignment inside IP pools, as Calico's
// libcalico-go/lib/ipam does it. A block is claimed by creating its IPAMBlock resource
// (create-if-absent), so two nodes never own the same block whatever the backend. An
// address is taken by a conditional update of its block (the stored revision must not
// have moved), so concurrent writers on one node or many never hand an address out
// twice: the loser re-reads and tries again. Every allocation carries a handle, so a
// release by handle frees exactly what the assignment took.
import { parseCidr, parseIP, type Family } from '../api/net.js';
import { matchesSelector } from '../api/selector.js';
import type { IPPool } from '../api/types.js';
import type { Datastore, StoredResource } from '../datastore/datastore.js';
import { AlreadyExistsError, ConflictError, NotFoundError, TabbyError } from '../errors.js';
import { blockAt, blockCount, freeAddress, offsetIn, startIndex } from './block-math.js';

export const BLOCK_KIND = 'IPAMBlock';

/** Calico's allocation attributes (libcalico-go/lib/ipam: AttributeNode, AttributeTimestamp, …). */
export interface AllocationAttributes {
  /** The node that asked for the address: differs from the block's affinity when borrowed. */
  node: string;
  timestamp: string;
  /** `vxlanTunnelAddress` for the node's VXLAN device, absent for workloads. */
  type?: string;
  containerID?: string;
  ifname?: string;
  network?: string;
  namespace?: string;
  pod?: string;
}

export interface IpamBlockSpec {
  cidr: string;
  /** `host:<node>` as Calico writes it. */
  affinity: string;
  pool: string;
  /** address → handle of what holds it. */
  allocations: Record<string, string>;
  /** address → who asked for it (absent in blocks written before attributes existed). */
  attributes?: Record<string, AllocationAttributes>;
}

export type IpamBlock = StoredResource & { spec: IpamBlockSpec };

export class IpamExhaustedError extends TabbyError {
  override readonly code = 'IPAM_EXHAUSTED';
}

/** The resource name for a block CIDR (`10-244-1-0-26`). */
export const blockName = (cidr: string) => cidr.toLowerCase().replace(/[.:/]/g, '-');

export const hostAffinity = (node: string) => `host:${node}`;

const MAX_SCAN = 65536n;
/** Conditional writes lost to other writers before giving up (each loss means someone else progressed). */
const MAX_ROUNDS = 200;

export interface AssignOptions {
  /**
   * Pools to assign from. With pools, a full node claims another block of them, and when
   * none is left borrows an address from another node's block (Calico without
   * strictAffinity). Without, only the node's existing blocks are used.
   */
  pools?: IPPool[];
  /** Node labels for the pools' nodeSelector (default: every pool given applies). */
  labels?: Record<string, string>;
  attributes?: Omit<AllocationAttributes, 'node' | 'timestamp'>;
  /** Wait before retrying a lost write (tests pass 0). */
  backoff?: (round: number) => Promise<void>;
}

export interface Released {
  address: string;
  block: string;
  handle: string;
  attributes?: AllocationAttributes;
}

const familyOf = (cidr: string) => parseCidr(cidr)!.family;

function defaultBackoff(round: number): Promise<void> {
  // Jittered, growing to ~50 ms: writers that collided do not collide again in step.
  const ms = Math.random() * Math.min(50, 2 + round * 2);
  return new Promise((r) => setTimeout(r, ms));
}

export class Ipam {
  constructor(private readonly store: Datastore) {}

  async blocks(): Promise<IpamBlock[]> {
    return (await this.store.list(BLOCK_KIND)).items as IpamBlock[];
  }

  async blocksOf(node: string): Promise<IpamBlock[]> {
    return (await this.blocks()).filter((b) => b.spec.affinity === hostAffinity(node));
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
      try {
        owned.push(await this.claim(node, pool));
      } catch (err) {
        // A pool with no block left for this node: its workloads borrow (Calico without
        // strictAffinity), and the node's other pools must not wait on it.
        if (!(err instanceof IpamExhaustedError)) throw err;
      }
    }
    return owned;
  }

  /** Claim a free block of the pool for the node. */
  async claim(node: string, pool: IPPool): Promise<IpamBlock> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const r = await this.tryClaim(node, pool, await this.blocks());
      if (r !== 'raced') {
        if (r) return r;
        break;
      }
    }
    throw new IpamExhaustedError(`IP pool ${pool.metadata.name} (${pool.spec.cidr}) has no free /${pool.spec.blockSize} block`);
  }

  /**
   * Create the first block of the pool not in `known`. 'raced' when someone created it
   * first: `known` is stale, so the caller reads again (and may find that a racer on the
   * same node claimed the block it needed). Undefined when the pool has no free block.
   */
  private async tryClaim(node: string, pool: IPPool, known: IpamBlock[]): Promise<IpamBlock | 'raced' | undefined> {
    const count = blockCount(pool.spec.cidr, pool.spec.blockSize);
    const taken = new Set(known.map((b) => b.spec.cidr));
    // Every block made already: no need to walk the pool to find that out.
    if (BigInt(known.filter((b) => inPool(pool, b.spec.cidr)).length) >= count) return undefined;
    const start = startIndex(node, count);
    const limit = count < MAX_SCAN ? count : MAX_SCAN;
    for (let i = 0n; i < limit; i++) {
      const cidr = blockAt(pool.spec.cidr, pool.spec.blockSize, (start + i) % count);
      if (taken.has(cidr)) continue;
      const block: IpamBlock = {
        apiVersion: 'projectcalico.org/v3',
        kind: BLOCK_KIND,
        metadata: { name: blockName(cidr) },
        spec: { cidr, affinity: hostAffinity(node), pool: pool.metadata.name, allocations: {}, attributes: {} },
      };
      try {
        return (await this.store.create(block)) as IpamBlock;
      } catch (err) {
        if (!(err instanceof AlreadyExistsError)) throw err;
        return 'raced';
      }
    }
    return undefined;
  }

  /** The address of the family `handle` holds, if any. */
  async byHandle(handle: string, family?: Family): Promise<{ address: string; block: IpamBlock } | undefined> {
    return findHandle(await this.blocks(), handle, family);
  }

  /**
   * Assign an address of the family to `handle` (idempotent per handle and family): from
   * the node's blocks, else a newly claimed block, else borrowed from another block.
   */
  async assign(node: string, handle: string, family: Family, opts: AssignOptions = {}): Promise<string> {
    const backoff = opts.backoff ?? defaultBackoff;
    const pools = (opts.pools ?? []).filter(
      (p) => !p.spec.disabled && familyOf(p.spec.cidr) === family && (!opts.labels || matchesSelector(p.spec.nodeSelector, opts.labels)),
    );
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const all = await this.blocks();
      const held = findHandle(all, handle, family);
      if (held) return held.address;
      const usable = (b: IpamBlock) => familyOf(b.spec.cidr) === family && (!opts.pools || pools.some((p) => inPool(p, b.spec.cidr)));
      const mine = all.filter((b) => b.spec.affinity === hostAffinity(node) && usable(b));
      let block = mine.find((b) => freeAddress(b.spec.cidr, b.spec.allocations) !== undefined);
      if (!block && pools.length > 0) {
        // Full (or no block yet): claim another; if the pools have none left, borrow.
        let claimed: IpamBlock | 'raced' | undefined;
        for (const pool of pools) if ((claimed = await this.tryClaim(node, pool, all))) break;
        if (claimed) continue; // re-read: a new block is ours, or the picture changed
        block = all.filter((b) => usable(b) && b.spec.affinity !== hostAffinity(node)).find((b) => freeAddress(b.spec.cidr, b.spec.allocations) !== undefined);
      }
      if (!block) break;
      const address = freeAddress(block.spec.cidr, block.spec.allocations)!;
      const attrs: AllocationAttributes = { node, timestamp: new Date().toISOString(), ...opts.attributes };
      const next = withAllocation(block, address, handle, attrs);
      try {
        await this.store.update(next);
        return address;
      } catch (err) {
        if (!(err instanceof ConflictError) && !(err instanceof NotFoundError)) throw err;
        await backoff(round); // someone else wrote the block meanwhile: read again
      }
    }
    const where = opts.pools ? `pools ${pools.map((p) => p.metadata.name).join(', ') || '(none usable)'}` : `the blocks of node ${node}`;
    throw new IpamExhaustedError(`no free IPv${family} address in ${where}`);
  }

  /** Release every address held by `handle`; returns what was released (nothing is fine). */
  async release(handle: string, opts: { backoff?: (round: number) => Promise<void> } = {}): Promise<Released[]> {
    return this.releaseWhere((address, h) => h === handle, opts.backoff);
  }

  /** Release one address whatever holds it (`tabby ipam release --ip`), or only while `handle` does. */
  async releaseAddress(ip: string, opts: { handle?: string; backoff?: (round: number) => Promise<void> } = {}): Promise<Released[]> {
    const want = parseIP(ip)?.address;
    if (!want) throw new TabbyError(`not an IP address: ${JSON.stringify(ip)}`);
    return this.releaseWhere((address, handle) => address === want && (opts.handle === undefined || handle === opts.handle), opts.backoff);
  }

  private async releaseWhere(match: (address: string, handle: string) => boolean, backoff = defaultBackoff): Promise<Released[]> {
    const out: Released[] = [];
    for (const { metadata } of await this.blocks()) {
      for (let round = 0; ; round++) {
        const block = (await this.store.get(BLOCK_KIND, metadata.name)) as IpamBlock | undefined;
        if (!block) break;
        const gone = Object.entries(block.spec.allocations).filter(([a, h]) => match(a, h));
        if (gone.length === 0) break;
        const allocations = { ...block.spec.allocations };
        const attributes = { ...(block.spec.attributes ?? {}) };
        for (const [a] of gone) {
          delete allocations[a];
          delete attributes[a];
        }
        try {
          await this.store.update({ ...block, spec: { ...block.spec, allocations, attributes } });
          for (const [address, handle] of gone) out.push({ address, handle, block: block.spec.cidr, attributes: block.spec.attributes?.[address] });
          break;
        } catch (err) {
          if (!(err instanceof ConflictError) || round >= MAX_ROUNDS) throw err;
          await backoff(round);
        }
      }
    }
    return out;
  }
}

function inPool(pool: IPPool, cidr: string): boolean {
  const p = parseCidr(pool.spec.cidr)!;
  const b = parseCidr(cidr)!;
  return p.family === b.family && offsetIn(pool.spec.cidr, b.address) >= 0n;
}

function findHandle(blocks: IpamBlock[], handle: string, family?: Family): { address: string; block: IpamBlock } | undefined {
  for (const block of blocks) {
    if (family !== undefined && familyOf(block.spec.cidr) !== family) continue;
    for (const [address, h] of Object.entries(block.spec.allocations)) if (h === handle) return { address, block };
  }
  return undefined;
}

function withAllocation(block: IpamBlock, address: string, handle: string, attrs: AllocationAttributes): IpamBlock {
  return {
    ...block,
    spec: {
      ...block.spec,
      allocations: { ...block.spec.allocations, [address]: handle },
      attributes: { ...(block.spec.attributes ?? {}), [address]: attrs },
    },
  };
}
