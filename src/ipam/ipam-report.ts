// What `tabby ipam show` and `tabby ipam check` report, computed from resources alone
// (pure). Usage follows calicoctl ipam show (per pool, optionally per block: total, in
// use, free); the check follows calicoctl ipam check: an allocation nobody uses
// (no WorkloadEndpoint lists it, it is no node's tunnel address) is leaked, an address
// in use without an allocation is a problem too. Tabby adds one owner test Calico makes
// through Kubernetes: a WorkloadEndpoint on this node whose network namespace is gone.
import { cidrContains, parseCidr } from '../api/net.js';
import type { IPPool, Node } from '../api/types.js';
import { blockAddresses } from './block-math.js';
import type { IpamBlock } from './ipam.js';

export interface Usage {
  cidr: string;
  total: bigint;
  inUse: number;
  free: bigint;
}

export interface PoolUsage extends Usage {
  name: string;
  blocks: (Usage & { affinity: string })[];
}

export function ipamUsage(pools: readonly IPPool[], blocks: readonly IpamBlock[]): PoolUsage[] {
  const poolOf = (cidr: string) => pools.find((p) => cidrContains(p.spec.cidr, cidr));
  const out: PoolUsage[] = pools.map((p) => ({ name: p.metadata.name, cidr: p.spec.cidr, total: blockAddresses(p.spec.cidr), inUse: 0, free: 0n, blocks: [] }));
  // Blocks of pools since deleted still hold addresses: one row without a pool, as calicoctl does.
  const orphans: PoolUsage = { name: '', cidr: '', total: 0n, inUse: 0, free: 0n, blocks: [] };
  for (const b of [...blocks].sort((x, y) => x.spec.cidr.localeCompare(y.spec.cidr))) {
    const pool = poolOf(b.spec.cidr);
    const row = pool ? out.find((r) => r.cidr === pool.spec.cidr)! : orphans;
    const inUse = Object.keys(b.spec.allocations).length;
    const total = blockAddresses(b.spec.cidr);
    row.blocks.push({ cidr: b.spec.cidr, affinity: b.spec.affinity, total, inUse, free: total - BigInt(inUse) });
    row.inUse += inUse;
  }
  for (const r of out) r.free = r.total - BigInt(r.inUse);
  return orphans.blocks.length > 0 ? [...out, orphans] : out;
}

export interface EndpointView {
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec: { node?: string; ipNetworks?: string[] };
}

export type ProblemKind = 'leaked' | 'container-gone' | 'not-allocated' | 'not-in-pool';

export interface Problem {
  kind: ProblemKind;
  address: string;
  handle?: string;
  node?: string;
  /** The WorkloadEndpoint concerned, when there is one. */
  endpoint?: string;
  /** Old enough to fix (leaked allocations younger than the grace may be an ADD in flight). */
  fixable: boolean;
  detail: string;
}

export interface CheckInput {
  pools: readonly IPPool[];
  blocks: readonly IpamBlock[];
  nodes: readonly Node[];
  endpoints: readonly EndpointView[];
  /** Node whose namespaces this host can see; endpoints elsewhere are never "gone". */
  localNode: string;
  /** Does this network namespace path still exist here? */
  netnsExists(path: string): boolean;
  now: number;
  /** Leaked allocations younger than this are reported but not fixed (an ADD writes its endpoint after its address). */
  graceMs: number;
  netnsAnnotation: string;
}

export interface CheckReport {
  /** Counts calicoctl ipam check prints on its way (check.go). */
  blocks: number;
  activePools: string[];
  nodeIPs: number;
  workloadIPs: number;
  allocations: number;
  inUse: number;
  problems: Problem[];
}

const bare = (cidrOrIp: string) => parseCidr(cidrOrIp)?.address ?? cidrOrIp;

export function ipamCheck(c: CheckInput): CheckReport {
  const owners = new Map<string, string>();
  const gone = new Map<string, EndpointView>();
  let nodeIPs = 0;
  let workloadIPs = 0;
  for (const n of c.nodes) {
    for (const a of [n.spec.ipv4VXLANTunnelAddr, n.spec.bgp?.ipv4IPIPTunnelAddr, n.spec.ipv6VXLANTunnelAddr]) {
      if (!a) continue;
      owners.set(a, `Node(${n.metadata.name})`);
      nodeIPs++;
    }
  }
  for (const w of c.endpoints) {
    const netns = w.metadata.annotations?.[c.netnsAnnotation];
    const isGone = w.spec.node === c.localNode && netns !== undefined && !c.netnsExists(netns);
    for (const n of w.spec.ipNetworks ?? []) {
      workloadIPs++;
      if (isGone) gone.set(bare(n), w);
      else owners.set(bare(n), `Workload(${w.metadata.namespace ?? 'default'}/${w.metadata.name})`);
    }
  }
  const problems: Problem[] = [];
  const allocated = new Set<string>();
  for (const b of c.blocks) {
    for (const [address, handle] of Object.entries(b.spec.allocations)) {
      allocated.add(address);
      if (owners.has(address)) continue;
      const attrs = b.spec.attributes?.[address];
      const age = attrs ? c.now - Date.parse(attrs.timestamp) : Infinity;
      const old = !(age < c.graceMs);
      const w = gone.get(address);
      problems.push(
        w
          ? { kind: 'container-gone', address, handle, node: attrs?.node, endpoint: w.metadata.name, fixable: true, detail: `network namespace ${w.metadata.annotations?.[c.netnsAnnotation]} of ${w.metadata.name} is gone` }
          : { kind: 'leaked', address, handle, node: attrs?.node, fixable: old, detail: old ? 'allocated but not in use' : `allocated ${Math.round(age / 1000)} s ago, not in use yet (an ADD may be in flight)` },
      );
    }
  }
  const activePools = c.pools.filter((p) => !p.spec.disabled).map((p) => p.spec.cidr);
  for (const [address, owner] of owners) {
    if (allocated.has(address)) continue;
    const inPool = activePools.some((p) => cidrContains(p, address));
    problems.push({ kind: inPool ? 'not-allocated' : 'not-in-pool', address, fixable: false, detail: `in use by ${owner} ${inPool ? 'but has no IPAM allocation' : 'and in no active IP pool'}` });
  }
  problems.sort((a, b) => a.kind.localeCompare(b.kind) || a.address.localeCompare(b.address));
  return { blocks: c.blocks.length, activePools, nodeIPs, workloadIPs, allocations: allocated.size, inUse: owners.size, problems };
}
