// Which pool prefixes a node originates, from the IPAM blocks alone (pure). Calico's
// confd bird_aggr.cfg.template (calico_aggr) exports each block affine to the node and
// nothing beneath it; a workload address the node borrowed from another node's block is
// not beneath any of its own blocks, so its /32 (/128) is exported as well.
import { cidrContains, parseCidr } from '../api/net.js';

/** What this needs of an IPAMBlock (structurally: calc does not import ipam). */
export interface BlockView {
  spec: {
    cidr: string;
    /** `host:<node>`; absent or null for a block no node holds. */
    affinity?: string | null;
    allocations?: Record<string, string>;
    attributes?: Record<string, { node?: string }>;
  };
}

export interface BlockAdvertisements {
  /** The node's own blocks, each as one prefix. */
  blocks: string[];
  /** Host routes for addresses the node borrowed from blocks it does not own. */
  borrowed: string[];
}

/** `pools` are the pool CIDRs that exist: blocks of deleted pools are not advertised. */
export function blockAdvertisements(node: string, blocks: readonly BlockView[], pools: readonly string[]): BlockAdvertisements {
  const inPools = (prefix: string) => pools.some((p) => cidrContains(p, prefix));
  const affinity = `host:${node}`;
  const own = blocks.filter((b) => b.spec.affinity === affinity && inPools(b.spec.cidr)).map((b) => b.spec.cidr);
  const borrowed: string[] = [];
  for (const b of blocks) {
    if (b.spec.affinity === affinity) continue;
    for (const address of Object.keys(b.spec.allocations ?? {})) {
      if (b.spec.attributes?.[address]?.node !== node) continue;
      const host = `${address}/${parseCidr(b.spec.cidr)!.family === 4 ? 32 : 128}`;
      // Inside one of our own blocks it is covered already (a block reassigned to us).
      if (inPools(host) && !own.some((c) => cidrContains(c, host))) borrowed.push(host);
    }
  }
  return { blocks: [...new Set(own)].sort(), borrowed: [...new Set(borrowed)].sort() };
}
