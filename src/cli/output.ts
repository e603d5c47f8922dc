// calicoctl's output forms (calicoctl/commands/get.go): ps (Tabby's "table"), wide,
// custom-columns=…, yaml (or yml) and json; go templates are refused with a pointer.
import type { Resource } from '../api/types.js';
import { DEFAULTS } from '../api/types.js';
import { ValidationError } from '../errors.js';

export type OutputFormat = 'table' | 'wide' | 'yaml' | 'json' | { columns: string[] };

const FORMS = 'table (or ps), wide, yaml (or yml), json, custom-columns=COL[,COL...]';

/** `-o` as calicoctl takes it; anything Tabby does not offer is refused with what it does. */
export function parseOutputFormat(text: string): OutputFormat {
  const form = text.trim();
  switch (form) {
    case 'table':
    case 'ps':
      return 'table';
    case 'wide':
      return 'wide';
    case 'yaml':
    case 'yml':
      return 'yaml';
    case 'json':
      return 'json';
  }
  const [key, value = ''] = form.split(/=(.*)/s, 2) as [string, string?];
  if (key === 'custom-columns') {
    const columns = value.split(',').map((c) => c.trim()).filter(Boolean);
    if (columns.length === 0) throw new ValidationError('--output', 'custom-columns needs at least one column, e.g. -o custom-columns=NAME,CIDR');
    return { columns };
  }
  if (key === 'go-template' || key === 'go-template-file') {
    throw new ValidationError('--output', `${key} is not offered by Tabby (it has no Go templates); use -o json with jq, or -o custom-columns=COL[,COL...]`);
  }
  throw new ValidationError('--output', `unrecognized output format ${JSON.stringify(text)}; use ${FORMS}`);
}

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
  // calicoctl/calicoctl/resourcemgr/workloadendpoint.go: table and wide headings.
  WorkloadEndpoint: [
    ['NAME', (r) => r.metadata.name, true],
    ['WORKLOAD', (r) => spec(r).workload || spec(r).pod],
    ['NODE', (r) => spec(r).node],
    ['NETWORKS', (r) => (spec(r).ipNetworks ?? []).join(',')],
    ['INTERFACE', (r) => spec(r).interfaceName],
    ['PROFILES', (r) => (spec(r).profiles ?? []).join(','), true],
    ['NATS', (r) => (spec(r).ipNATs ?? []).map((n: { internalIP: string; externalIP: string }) => `${n.internalIP}:${n.externalIP}`).join(','), true],
  ],
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
export async function render(
  kind: string,
  items: Resource[],
  format: OutputFormat,
  opts: { single?: boolean; revision?: number; ctx?: TableContext } = {},
): Promise<string> {
  if (format === 'json') return JSON.stringify(opts.single ? items[0] : listOf(kind, items, opts.revision), null, 2) + '\n';
  if (format === 'yaml') return (await import('yaml')).stringify(opts.single ? items[0] : listOf(kind, items, opts.revision));
  const ctx = opts.ctx ?? { defaultAsNumber: DEFAULTS.asNumber };
  const all = COLUMNS[kind] ?? [['NAME', (r: Resource) => r.metadata.name] as Column];
  const cols = typeof format === 'object' ? pickColumns(all, format.columns) : all.filter((c) => format === 'wide' || !c[2]);
  return formatTable([cols.map((c) => c[0]), ...items.map((r) => cols.map((c) => text(c[1](r, ctx))))]);
}

/** The named columns in the order given (headings match case-insensitively). */
function pickColumns(all: Column[], names: string[]): Column[] {
  return names.map((name) => {
    const col = all.find((c) => c[0] === name.toUpperCase());
    if (!col) throw new ValidationError('--output', `Unknown heading ${name}, valid values are: ${all.map((c) => c[0]).join(', ')}`);
    return col;
  });
}
