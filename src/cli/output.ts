// calicoctl's output forms: table, wide, yaml and json.
import { stringify } from 'yaml';
import type { Resource } from '../api/types.js';
import { DEFAULTS } from '../api/types.js';

export type OutputFormat = 'table' | 'wide' | 'yaml' | 'json';

/** What a column may need besides the resource itself (inherited values). */
export interface TableContext {
  defaultAsNumber: number;
}

type Column = [header: string, value: (r: Resource, ctx: TableContext) => unknown, wideOnly?: boolean];

const spec = (r: Resource) => r.spec as Record<string, any>;
const text = (v: unknown) => (v === undefined || v === null ? '' : String(v));

const COLUMNS: Record<string, Column[]> = {
  BGPConfiguration: [
    ['NAME', (r) => r.metadata.name],
    ['LOGSEVERITY', (r) => spec(r).logSeverityScreen ?? (r.metadata.name === 'default' ? DEFAULTS.logSeverityScreen : '')],
    ['MESHENABLED', (r) => spec(r).nodeToNodeMeshEnabled ?? (r.metadata.name === 'default' ? DEFAULTS.nodeToNodeMeshEnabled : '')],
    ['ASNUMBER', (r) => spec(r).asNumber ?? (r.metadata.name === 'default' ? DEFAULTS.asNumber : '')],
  ],
  BGPPeer: [
    ['NAME', (r) => r.metadata.name],
    ['PEERIP', (r) => spec(r).peerIP ?? spec(r).peerSelector],
    ['NODE', (r) => spec(r).node ?? spec(r).nodeSelector ?? '(global)'],
    ['ASN', (r) => spec(r).asNumber ?? ''],
  ],
  Node: [
    ['NAME', (r) => r.metadata.name],
    ['ASN', (r, ctx) => spec(r).bgp?.asNumber ?? (spec(r).bgp ? `(${ctx.defaultAsNumber})` : ''), true],
    ['IPV4', (r) => spec(r).bgp?.ipv4Address, true],
    ['IPV6', (r) => spec(r).bgp?.ipv6Address, true],
  ],
  IPPool: [
    ['NAME', (r) => r.metadata.name],
    ['CIDR', (r) => spec(r).cidr],
    ['NAT', (r) => spec(r).natOutgoing, true],
    ['IPIPMODE', (r) => spec(r).ipipMode, true],
    ['VXLANMODE', (r) => spec(r).vxlanMode, true],
    ['DISABLED', (r) => spec(r).disabled, true],
    ['DISABLEBGPEXPORT', (r) => spec(r).disableBGPExport, true],
    ['SELECTOR', (r) => spec(r).nodeSelector],
  ],
  BGPFilter: [['NAME', (r) => r.metadata.name]],
  CalicoNodeStatus: [
    ['NAME', (r) => r.metadata.name],
    ['NODE', (r) => spec(r).node],
    ['CLASSES', (r) => (spec(r).classes ?? []).join(','), true],
  ],
};

/** Left-aligned columns separated by three spaces, like Go's tabwriter in calicoctl. */
export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd()).join('\n') + '\n';
}

function listOf(kind: string, items: Resource[], revision?: number) {
  return { apiVersion: 'projectcalico.org/v3', kind: `${kind}List`, items, metadata: revision === undefined ? {} : { resourceVersion: String(revision) } };
}

/**
 * Render resources. `single` is set when the user named one resource: yaml/json then
 * show the object itself instead of a List, as calicoctl does.
 */
export function render(
  kind: string,
  items: Resource[],
  format: OutputFormat,
  opts: { single?: boolean; revision?: number; ctx?: TableContext } = {},
): string {
  if (format === 'json') return JSON.stringify(opts.single ? items[0] : listOf(kind, items, opts.revision), null, 2) + '\n';
  if (format === 'yaml') return stringify(opts.single ? items[0] : listOf(kind, items, opts.revision));
  const ctx = opts.ctx ?? { defaultAsNumber: DEFAULTS.asNumber };
  const cols = (COLUMNS[kind] ?? [['NAME', (r: Resource) => r.metadata.name] as Column]).filter((c) => format === 'wide' || !c[2]);
  return formatTable([cols.map((c) => c[0]), ...items.map((r) => cols.map((c) => text(c[1](r, ctx))))]);
}
