// What the kernel should hold, from resources and BGP's best paths (pure): a blackhole per
// local block, learned blocks with the encapsulation their pool asks for, and VXLAN routes
// to other nodes' blocks from the datastore (VXLAN routes never come from BGP).
// Resource routes are computed once per plan (routeContext); a learned route is then one
// cheap call (learnedIntent) per best-path change, so BGP churn never re-plans anything.
import { cidrContains, parseCidr } from '../api/net.js';
import type { EncapMode, IPPool } from '../api/types.js';
import { CidrTable } from './cidr-table.js';

export interface LearnedRoute {
  prefix: string;
  /** Next hops of the best path (several for ECMP). */
  nexthops: readonly string[];
}

export interface RemoteVtep {
  node: string;
  /** The remote node's underlay address. */
  nodeIP: string;
  tunnelIP: string;
  mac: string;
  blocks: string[];
}

export interface LearnedNexthop {
  address: string;
  encap: 'none' | 'ipip';
}

export type RouteIntent =
  | { kind: 'blackhole'; dst: string }
  /** Plain routing, or IPIP per next hop (each next hop is the remote node's address). */
  | { kind: 'learned'; dst: string; nexthops: readonly LearnedNexthop[] }
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
  const i = new CidrTable(pools.map((p) => p.spec.cidr)).lookup(prefix);
  return i < 0 ? undefined : pools[i];
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

/** What learned routes are judged against: the resource side of the plan. */
export class RouteContext {
  readonly local: ReadonlySet<string>;
  readonly vxlanDst: ReadonlySet<string>;
  /** Our own connected subnets stay the kernel's: a learned copy would only shadow them. */
  readonly connected: ReadonlySet<string>;
  readonly resourceIntents: readonly RouteIntent[];
  /** Equal for contexts that judge every learned route alike (a new plan with the same key needs no re-translation). */
  readonly key: string;
  private readonly pools: CidrTable;
  /** Per pool (index + 1; 0 = no pool): next-hop list → its encapsulated form (null: left to VXLAN). */
  private readonly memo: WeakMap<readonly string[], readonly LearnedNexthop[] | null>[];

  constructor(private readonly input: Omit<RouteInputs, 'learned'>) {
    this.local = new Set(input.localBlocks);
    this.connected = new Set(input.nodeCidrs.map((c) => parseCidr(c)!.network));
    this.pools = new CidrTable(input.pools.map((p) => p.spec.cidr));
    this.memo = Array.from({ length: input.pools.length + 1 }, () => new WeakMap());
    const out: RouteIntent[] = [];
    for (const block of input.localBlocks) {
      const c = parseCidr(block)!;
      // No blackhole for single-address blocks: the workload route is the whole block.
      if (c.prefixLength < (c.family === 4 ? 32 : 128)) out.push({ kind: 'blackhole', dst: c.network });
    }
    const vxlanDst = new Set<string>();
    for (const vtep of input.vteps) {
      for (const block of vtep.blocks) {
        const pool = this.poolOf(block);
        if (!pool || this.local.has(block) || !encapsulates(pool.spec.vxlanMode, input.nodeCidrs, vtep.nodeIP)) continue;
        out.push({ kind: 'vxlan', dst: block, vtep });
        vxlanDst.add(block);
      }
    }
    this.vxlanDst = vxlanDst;
    this.resourceIntents = out;
    const pools = input.pools.map((p) => [p.spec.cidr, p.spec.ipipMode, p.spec.vxlanMode]);
    this.key = JSON.stringify([input.nodeCidrs, pools, input.localBlocks, [...vxlanDst]]);
  }

  poolOf(prefix: string): IPPool | undefined {
    const i = this.pools.lookup(prefix);
    return i < 0 ? undefined : this.input.pools[i];
  }

  /**
   * The kernel route for a learned best path, or undefined when the kernel gets none
   * from BGP (our own block, a VXLAN block, a connected subnet, no next hop). Pass the
   * same `nexthops` array for equal next-hop lists and the work is done once per list.
   */
  learned(prefix: string, nexthops: readonly string[]): RouteIntent | undefined {
    const hops = this.learnedHops(prefix, nexthops);
    return hops === undefined ? undefined : { kind: 'learned', dst: prefix, nexthops: hops };
  }

  /** learned() without the intent object: the next hops with their encapsulation (shared per list). */
  learnedHops(prefix: string, nexthops: readonly string[]): readonly LearnedNexthop[] | undefined {
    if (nexthops.length === 0) return undefined;
    if ((this.local.size > 0 && this.local.has(prefix)) || (this.vxlanDst.size > 0 && this.vxlanDst.has(prefix)) || this.connected.has(prefix)) return undefined;
    const i = this.pools.lookup(prefix);
    const memo = this.memo[i + 1]!;
    let hops = memo.get(nexthops);
    if (hops === undefined) {
      hops = this.encapsulated(i < 0 ? undefined : this.input.pools[i], nexthops);
      memo.set(nexthops, hops);
    }
    return hops ?? undefined;
  }

  private encapsulated(pool: IPPool | undefined, nexthops: readonly string[]): readonly LearnedNexthop[] | null {
    const nodeCidrs = this.input.nodeCidrs;
    // A VXLAN pool's blocks go over VXLAN except next hops in our own subnet (CrossSubnet).
    if (pool && pool.spec.vxlanMode !== 'Never' && nexthops.some((nh) => encapsulates(pool.spec.vxlanMode, nodeCidrs, nh))) return null;
    return nexthops.map((address) => ({ address, encap: encapsulates(pool?.spec.ipipMode, nodeCidrs, address) ? 'ipip' : 'none' }));
  }
}

/** Every route at once: the resource routes, then one per learned best path. */
export function desiredRoutes(input: RouteInputs): RouteIntent[] {
  const ctx = new RouteContext(input);
  const out = [...ctx.resourceIntents];
  for (const r of input.learned) {
    const intent = ctx.learned(r.prefix, r.nexthops);
    if (intent) out.push(intent);
  }
  return out;
}
