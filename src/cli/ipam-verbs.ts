// `tabby ipam show [--show-blocks]`: calicoctl's utilisation table (calicoctl/commands/
// ipam/show.go ShowBlockUtilization) over Tabby's blocks: a row per pool, and per block
// with --show-blocks; blocks outside every pool get no pool row, as in calicoctl.
import type { IPPool } from '../api/types.js';
import { boxTable } from '../agent/status.js';
import { blockAddresses, offsetIn } from '../ipam/block-math.js';
import { BLOCK_KIND, type IpamBlock } from '../ipam/ipam.js';
import { out, withClient, type GlobalArgs } from './context.js';

/** "%.5g (%.f%%)" as calicoctl prints counts. */
const pct = (n: bigint, total: bigint) => `${fmt(n)} (${total === 0n ? 0 : Math.round((100 * Number(n)) / Number(total))}%)`;
const fmt = (n: bigint) => (n < 100000n ? String(n) : Number(n).toPrecision(5).replace(/\.?0+e/, 'e'));

export async function show(args: GlobalArgs, opts: { showBlocks: boolean }): Promise<void> {
  const { pools, blocks } = await withClient(
    args,
    async (c) => ({ pools: (await c.list('IPPool')).items as IPPool[], blocks: (await c.store.list(BLOCK_KIND)).items as IpamBlock[] }),
    { read: true },
  );
  const rows: string[][] = [];
  const row = (grouping: string, cidr: string, total: bigint, used: bigint) => rows.push([grouping, cidr, fmt(total), pct(used, total), pct(total - used, total)]);
  const inPool = (p: IPPool, b: IpamBlock) => offsetIn(p.spec.cidr, b.spec.cidr.split('/')[0]!) >= 0n;
  const used = (b: IpamBlock) => BigInt(Object.keys(b.spec.allocations ?? {}).length);
  for (const pool of pools) {
    const mine = blocks.filter((b) => inPool(pool, b));
    row('IP Pool', pool.spec.cidr, blockAddresses(pool.spec.cidr), mine.reduce((n, b) => n + used(b), 0n));
    if (opts.showBlocks) for (const b of mine) row('Block', b.spec.cidr, blockAddresses(b.spec.cidr), used(b));
  }
  if (opts.showBlocks) for (const b of blocks.filter((b) => !pools.some((p) => inPool(p, b)))) row('Block', b.spec.cidr, blockAddresses(b.spec.cidr), used(b));
  out(rows.length === 0 ? 'No IP pools.' : boxTable(['GROUPING', 'CIDR', 'IPS TOTAL', 'IPS IN USE', 'IPS FREE'], rows));
}
