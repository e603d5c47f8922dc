// `tabby ipam show|release|check`, after calicoctl's ipam verbs:
// - show: the utilisation table (calicoctl/commands/ipam/show.go ShowBlockUtilization), a row
//   per pool and per block with --show-blocks (blocks outside every pool get no pool row, as
//   in calicoctl); --ip shows what holds one address (ShowIP);
// - release --ip: frees one address (release.go);
// - check: allocations nobody uses and addresses in use without one (check.go), computed by
//   src/ipam/ipam-report.ts; --fix releases the leaked ones.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseIP } from '../api/net.js';
import type { IPPool, Node } from '../api/types.js';
import { boxTable } from '../agent/status.js';
import { NETNS_ANNOTATION } from '../cni/workload-endpoint.js';
import type { Datastore } from '../datastore/datastore.js';
import { ValidationError } from '../errors.js';
import { BLOCK_KIND, Ipam, type IpamBlock } from '../ipam/ipam.js';
import { ipamCheck, ipamUsage, type EndpointView, type Usage } from '../ipam/ipam-report.js';
import { out, withClient, type GlobalArgs } from './context.js';

type Output = 'table' | 'json';

/** "%.5g (%.f%%)" as calicoctl prints counts. */
const fmt = (n: bigint) => (n < 100000n ? String(n) : Number(n).toPrecision(5).replace(/\.?0+e/, 'e'));
const pct = (n: bigint, total: bigint) => `${fmt(n)} (${total === 0n ? 0 : Math.round((100 * Number(n)) / Number(total))}%)`;
const row = (grouping: string, u: Usage) => [grouping, u.cidr, fmt(u.total), pct(BigInt(u.inUse), u.total), pct(u.free, u.total)];

const list = async <T>(store: Datastore, kind: string) => (await store.list(kind)).items as T[];

function checkIp(ip: string): string {
  const p = parseIP(ip);
  if (!p) throw new ValidationError('--ip', `${JSON.stringify(ip)} is not an IP address`);
  return p.address;
}

export async function show(args: GlobalArgs, opts: { showBlocks: boolean; ip?: string; output?: Output }): Promise<void> {
  const ip = opts.ip === undefined ? undefined : checkIp(opts.ip);
  const { pools, blocks } = await withClient(args, async (c) => ({ pools: (await c.list('IPPool')).items as IPPool[], blocks: await list<IpamBlock>(c.store, BLOCK_KIND) }), { read: true });
  if (ip !== undefined) return showIp(ip, blocks, opts.output);
  const usage = ipamUsage(pools, blocks);
  if (opts.output === 'json') {
    const num = (u: Usage) => ({ cidr: u.cidr, total: Number(u.total), inUse: u.inUse, free: Number(u.free) });
    return out(JSON.stringify({ pools: usage.map((p) => ({ name: p.name || null, ...num(p), blocks: p.blocks.map((b) => ({ ...num(b), affinity: b.affinity ?? null })) })) }, null, 2));
  }
  const rows: string[][] = [];
  for (const p of usage) {
    if (p.name) rows.push(row('IP Pool', p));
    if (opts.showBlocks) for (const b of p.blocks) rows.push(row('Block', b));
  }
  out(rows.length === 0 ? 'No IP pools.' : boxTable(['GROUPING', 'CIDR', 'IPS TOTAL', 'IPS IN USE', 'IPS FREE'], rows));
}

function showIp(ip: string, blocks: IpamBlock[], output?: Output): void {
  const block = blocks.find((b) => ip in (b.spec.allocations ?? {}));
  const handle = block?.spec.allocations[ip];
  const attrs = block?.spec.attributes?.[ip] ?? {};
  if (output === 'json') return out(JSON.stringify(block ? { ip, inUse: true, handle, block: block.spec.cidr, attributes: attrs } : { ip, inUse: false }, null, 2));
  if (!block) return out(`${ip} is not assigned`);
  const lines = Object.entries(attrs).sort(([x], [y]) => x.localeCompare(y)).map(([k, v]) => `  ${k}: ${v}`);
  out([`IP ${ip} is in use`, `Handle ID: ${handle}`, ...(lines.length ? ['Active Owner Attributes:', ...lines] : ['No Active Owner attributes defined'])].join('\n'));
}

export async function release(args: GlobalArgs, ipText: string): Promise<void> {
  const ip = checkIp(ipText);
  const released = await withClient(args, (c) => new Ipam(c.store).releaseAddress(ip), { read: true });
  // calicoctl's words (release.go): not an error in the datastore, but one for the caller.
  if (released.length === 0) throw new ValidationError('', `IP address ${ip} is not assigned`);
  out(`Successfully released IP address ${ip}`);
}

export async function check(args: GlobalArgs, opts: { fix: boolean; node?: string; grace: number; output?: Output }): Promise<void> {
  if (!Number.isFinite(opts.grace) || opts.grace < 0) throw new ValidationError('--grace', 'must be a number of seconds, 0 or more');
  const { report, released } = await withClient(
    args,
    async (c) => {
      const report = ipamCheck({
        pools: (await c.list('IPPool')).items as IPPool[],
        blocks: await list<IpamBlock>(c.store, BLOCK_KIND),
        nodes: await list<Node>(c.store, 'Node'),
        endpoints: await list<EndpointView>(c.store, 'WorkloadEndpoint'),
        localNode: opts.node ?? (process.env.TABBY_NODENAME || hostname()),
        netnsExists: existsSync,
        now: Date.now(),
        graceMs: opts.grace * 1000,
        netnsAnnotation: NETNS_ANNOTATION,
      });
      const released: string[] = [];
      if (opts.fix) {
        const ipam = new Ipam(c.store);
        for (const p of report.problems.filter((x) => x.fixable && x.handle)) {
          // Only while the same handle holds it: its endpoint may have turned up meanwhile.
          if ((await ipam.releaseAddress(p.address, { handle: p.handle })).length > 0) released.push(p.address);
          if (p.endpoint) await c.store.delete('WorkloadEndpoint', p.endpoint).catch(() => undefined);
        }
      }
      return { report, released };
    },
    { read: true },
  );
  if (opts.output === 'json') return out(JSON.stringify({ ...report, released }, null, 2));
  const count = (kinds: string[]) => report.problems.filter((p) => kinds.includes(p.kind)).length;
  // calicoctl ipam check's summary lines (check.go), then the problems in a table.
  out(
    [
      `Found ${report.blocks} IPAM blocks.`,
      `IPAM blocks record ${report.allocations} allocations.`,
      ...report.activePools.map((p) => `  ${p}`),
      `Found ${report.activePools.length} active IP pools.`,
      `Found ${report.nodeIPs} node tunnel IPs.`,
      `Found ${report.workloadIPs} workload IPs.`,
      `Workloads and nodes are using ${report.inUse} IPs.`,
      `Found ${count(['leaked', 'container-gone'])} IPs that are allocated in IPAM but not actually in use.`,
      `Found ${count(['not-in-pool'])} in-use IPs that are not in active IP pools.`,
      `Found ${count(['not-allocated'])} in-use IPs that are in active IP pools but have no corresponding IPAM allocation.`,
    ].join('\n'),
  );
  if (report.problems.length > 0) {
    out(boxTable(['IP', 'PROBLEM', 'HANDLE', 'NODE', 'DETAIL'], report.problems.map((p) => [p.address, p.kind, p.handle ?? '', p.node ?? '', p.detail])));
  }
  const tail = opts.fix ? ` Released ${released.length} addresses.` : report.problems.some((p) => p.fixable) ? ' Run with --fix to release the leaked ones.' : '';
  out(`Check complete; found ${report.problems.length} problems.${tail}`);
}
