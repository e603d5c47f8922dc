// From a snapshot of resources to what this node originates and which remote VTEPs it
// needs (pure; the agent feeds the results to the speaker and the dataplane).
import { cidrContains, parseCidr, parseIP } from '../api/net.js';
import type { BGPConfiguration, IPPool, Node } from '../api/types.js';
import { effectiveBgpConfig } from '../calc/bgp-config.js';
import type { RemoteVtep } from '../calc/routes.js';
import type { IpamBlock } from '../ipam/ipam.js';

export interface Snapshot {
  nodes: Node[];
  configs: BGPConfiguration[];
  pools: IPPool[];
  blocks: IpamBlock[];
}

export interface Origination {
  prefix: string;
  communities: string[];
}

const affine = (b: IpamBlock, node: string) => b.spec.affinity === `host:${node}`;

/** Blocks affine to the node, in pools that still exist. */
export function localBlocks(node: string, snap: Snapshot): string[] {
  return snap.blocks.filter((b) => affine(b, node) && snap.pools.some((p) => cidrContains(p.spec.cidr, b.spec.cidr))).map((b) => b.spec.cidr);
}

function serviceCidrs(snap: Snapshot, node: string): string[] {
  const spec = effectiveBgpConfig(snap.configs, node).spec;
  return [...(spec.serviceClusterIPs ?? []), ...(spec.serviceExternalIPs ?? []), ...(spec.serviceLoadBalancerIPs ?? [])].map((s) => s.cidr);
}

/** What may be advertised at all: pool space (unless disableBGPExport) and service CIDRs. */
export function exportable(snap: Snapshot, node: string): (prefix: string) => boolean {
  const pools = snap.pools.filter((p) => !p.spec.disableBGPExport).map((p) => p.spec.cidr);
  const services = serviceCidrs(snap, node);
  const noExport = snap.pools.filter((p) => p.spec.disableBGPExport).map((p) => p.spec.cidr);
  return (prefix) => !noExport.some((c) => cidrContains(c, prefix)) && [...pools, ...services].some((c) => cidrContains(c, prefix));
}

/**
 * The node's own advertisements: each affine block (not from a disableBGPExport pool) and the
 * service CIDRs, with communities from prefixAdvertisements (by name or literal value).
 */
export function originations(node: string, snap: Snapshot): Origination[] {
  const spec = effectiveBgpConfig(snap.configs, node).spec;
  const named = new Map((spec.communities ?? []).map((c) => [c.name, c.value]));
  const allowed = exportable(snap, node);
  const prefixes = [...localBlocks(node, snap).filter(allowed), ...serviceCidrs(snap, node)];
  return [...new Set(prefixes)].map((prefix) => ({
    prefix,
    communities: (spec.prefixAdvertisements ?? [])
      .filter((a) => cidrContains(a.cidr, prefix))
      .flatMap((a) => a.communities.map((c) => named.get(c) ?? c)),
  }));
}

/** Remote VTEPs: every other node with a VXLAN tunnel address, MAC and blocks. */
export function remoteVteps(node: string, snap: Snapshot): RemoteVtep[] {
  const out: RemoteVtep[] = [];
  for (const n of snap.nodes) {
    const nodeIP = n.spec.bgp?.ipv4Address ? parseCidr(n.spec.bgp.ipv4Address)?.address : undefined;
    if (n.metadata.name === node || !nodeIP || !n.spec.ipv4VXLANTunnelAddr || !n.spec.vxlanTunnelMACAddr) continue;
    const blocks = snap.blocks.filter((b) => affine(b, n.metadata.name) && parseCidr(b.spec.cidr)?.family === 4).map((b) => b.spec.cidr);
    out.push({ node: n.metadata.name, nodeIP, tunnelIP: n.spec.ipv4VXLANTunnelAddr, mac: n.spec.vxlanTunnelMACAddr, blocks });
  }
  return out;
}

/** Does any enabled pool that selects this node want VXLAN? */
export function needsVxlan(pools: IPPool[]): boolean {
  return pools.some((p) => !p.spec.disabled && p.spec.vxlanMode !== 'Never');
}

/**
 * Underlay IPv4 addresses that may send this node IPIP or VXLAN: every other node in
 * the datastore, whether or not it owns a block (a control-plane node, a route
 * reflector, a node just joining). Felix's counterpart is the all-hosts ipset that its
 * INPUT rules accept tunnel packets from (felix/rules/static.go, filterInputChain:
 * "Allow IPIP packets from Calico hosts", "Drop IPv4 VXLAN packets from non-allowed
 * hosts"), filled from each Node's BGP address and its other IPv4 addresses.
 */
export function tunnelSources(node: string, snap: Snapshot): string[] {
  const out = new Set<string>();
  const add = (a: string | undefined) => {
    const c = a ? (parseCidr(a) ?? parseIP(a)) : undefined;
    if (c?.family === 4) out.add(c.address);
  };
  for (const n of snap.nodes) {
    if (n.metadata.name === node) continue;
    add(n.spec.bgp?.ipv4Address);
    for (const a of n.spec.addresses ?? []) add(a.address);
  }
  return [...out].sort();
}
