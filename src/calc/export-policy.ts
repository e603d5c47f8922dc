// Calico's export rule as plain data, and the decision it makes per prefix: its
// calico_export_to_bgp_peers (confd bird_ipam.cfg.template, bgp_processor.go) rejects
// disableBGPExport pools, then accepts every route inside an enabled pool or a service
// CIDR — the node's own blocks and, towards eBGP peers, blocks learned over the mesh too —
// and rejects the rest. Before the pools, its calico_aggr (bird_aggr.cfg.template) rejects
// whatever lies beneath one of the node's own blocks: a /32 another node borrowed from the
// block is left to its borrower, the block's owner only sends the block. iBGP reflection
// is the RIB's own rule; BGPFilters decide before this rule (src/bgp/rib/bgp-filter.ts).

import type { BGPConfiguration, IPPool } from '../api/types.js';
import { effectiveBgpConfig } from './bgp-config.js';
import { blockAdvertisements, type BlockView } from './block-advertisements.js';
import { CidrTable } from './cidr-table.js';

export interface ExportPolicy {
  /** Pool CIDRs without disableBGPExport, and the service CIDRs. */
  readonly advertise: readonly string[];
  /** disableBGPExport pools: never advertised, even inside an allowed CIDR. */
  readonly deny: readonly string[];
  /** The node's own blocks (calico_aggr): each goes as itself, nothing beneath it goes. */
  readonly blocks: readonly string[];
}

/** The service CIDRs the node advertises (BGPConfiguration serviceClusterIPs, …ExternalIPs, …LoadBalancerIPs). */
export function serviceCidrs(configs: BGPConfiguration[], node: string): string[] {
  const spec = effectiveBgpConfig(configs, node).spec;
  return [...(spec.serviceClusterIPs ?? []), ...(spec.serviceExternalIPs ?? []), ...(spec.serviceLoadBalancerIPs ?? [])].map((s) => s.cidr);
}

export function exportPolicy(pools: IPPool[], configs: BGPConfiguration[], node: string, blocks: readonly BlockView[]): ExportPolicy {
  return {
    advertise: [...pools.filter((p) => !p.spec.disableBGPExport).map((p) => p.spec.cidr), ...serviceCidrs(configs, node)],
    deny: pools.filter((p) => p.spec.disableBGPExport).map((p) => p.spec.cidr),
    blocks: blockAdvertisements(node, blocks, pools.map((p) => p.spec.cidr)).blocks,
  };
}

/** Equal policies have equal keys (the agent keeps one filter function per key). */
export function exportPolicyKey(p: ExportPolicy): string {
  return JSON.stringify([p.advertise, p.deny, p.blocks]);
}

const prefixLength = (prefix: string) => Number(prefix.slice(prefix.indexOf('/') + 1));

/** The compiled decision of one policy. */
export class ExportRule {
  private readonly advertise: CidrTable;
  private readonly deny: CidrTable;
  private readonly blocks: CidrTable;

  constructor(readonly policy: ExportPolicy) {
    this.advertise = new CidrTable(policy.advertise);
    this.deny = new CidrTable(policy.deny);
    this.blocks = new CidrTable(policy.blocks);
  }

  /** May the prefix be advertised at all? */
  allows(prefix: string): boolean {
    return !this.deny.contains(prefix) && this.advertise.contains(prefix);
  }

  /**
   * To any peer: learned or originated, what the pools allow, except what lies beneath one
   * of the node's own blocks (the RIB adds iBGP's split horizon). Blocks never overlap.
   */
  exports(prefix: string): boolean {
    const own = this.blocks.lookup(prefix);
    if (own >= 0 && prefixLength(prefix) > prefixLength(this.policy.blocks[own]!)) return false;
    return this.allows(prefix);
  }
}
