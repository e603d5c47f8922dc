// What the kernel should hold, from resources and BGP's best paths (pure): a blackhole per
// local block, learned blocks with the encapsulation their pool asks for, and VXLAN routes
// to other nodes' blocks from the datastore (VXLAN routes never come from BGP).
import { cidrContains, parseCidr } from '../api/net.js';
import type { EncapMode, IPPool } from '../api/types.js';

export interface LearnedRoute {
  prefix: string;
  /** Next hops of the best path (several for ECMP). */
  nexthops: string[];
}

export interface RemoteVtep {
  node: string;
  /** The remote node's underlay address. */
  nodeIP: string;
  tunnelIP: string;
  mac: string;
  blocks: string[];
}

export type RouteIntent =
  | { kind: 'blackhole'; dst: string }
  /** Plain routing, or IPIP per next hop (each next hop is the remote node's address). */
  | { kind: 'learned'; dst: string; nexthops: { address: string; encap: 'none' | 'ipip' }[] }
  | { kind: 'vxlan'; dst: string; vtep: RemoteVtep };

export interface RouteInputs {
  /** This node's underlay addresses as CIDRs (the length says what "same subnet" is). */
  nodeCidrs: string[];
  pools: IPPool[];
  localBlocks: string[];
  learned: LearnedRoute[];
  vteps: RemoteVtep[];
}

/** The pool a prefix belongs to (the most specific one when pools nest). */
export function poolFor(prefix: string, pools: IPPool[]): IPPool | undefined {
  return pools
    .filter((p) => cidrContains(p.spec.cidr, prefix))
    .sort((a, b) => parseCidr(b.spec.cidr)!.prefixLength - parseCidr(a.spec.cidr)!.prefixLength)[0];
}

/** Is `address` inside the subnet of one of this node's addresses? */
function sameSubnet(nodeCidrs: string[], address: string): boolean {
  return nodeCidrs.some((c) => cidrContains(parseCidr(c)!.network, address));
}

/** Does `mode` call for encapsulation towards a next hop? */
export function encapsulates(mode: EncapMode | undefined, nodeCidrs: string[], nexthop: string): boolean {
  if (mode === 'Always') return true;
  if (mode === 'CrossSubnet') return !sameSubnet(nodeCidrs, nexthop);
  return false;
}

export function desiredRoutes(input: RouteInputs): RouteIntent[] {
  const out: RouteIntent[] = [];
  const local = new Set(input.localBlocks);
  for (const block of input.localBlocks) {
    const c = parseCidr(block)!;
    // No blackhole for single-address blocks: the workload route is the whole block.
    if (c.prefixLength < (c.family === 4 ? 32 : 128)) out.push({ kind: 'blackhole', dst: c.network });
  }
  const vxlanDst = new Set<string>();
  for (const vtep of input.vteps) {
    for (const block of vtep.blocks) {
      const pool = poolFor(block, input.pools);
      if (!pool || local.has(block) || !encapsulates(pool.spec.vxlanMode, input.nodeCidrs, vtep.nodeIP)) continue;
      out.push({ kind: 'vxlan', dst: block, vtep });
      vxlanDst.add(block);
    }
  }
  // Our own connected subnets stay the kernel's: a learned copy would only shadow them.
  const connected = new Set(input.nodeCidrs.map((c) => parseCidr(c)!.network));
  for (const r of input.learned) {
    if (local.has(r.prefix) || vxlanDst.has(r.prefix) || connected.has(r.prefix)) continue;
    const pool = poolFor(r.prefix, input.pools);
    // A VXLAN pool's blocks go over VXLAN except next hops in our own subnet (CrossSubnet).
    if (pool && pool.spec.vxlanMode !== 'Never' && r.nexthops.some((nh) => encapsulates(pool.spec.vxlanMode, input.nodeCidrs, nh))) continue;
    const nexthops = r.nexthops.map((address) => ({
      address,
      encap: (encapsulates(pool?.spec.ipipMode, input.nodeCidrs, address) ? 'ipip' : 'none') as 'none' | 'ipip',
    }));
    out.push({ kind: 'learned', dst: r.prefix, nexthops });
  }
  return out;
}
