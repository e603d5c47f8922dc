// Calico BGPFilter rules as ready import policy and export filter. Same semantics as the
// BIRD functions Calico generates: rules in order, first match decides; when nothing
// matches, import accepts and export falls through to the default export rules.

import { ValidationError } from '../../errors.js';
import type { Family } from '../wire/index.js';
import { parsePrefix, prefixWithin, samePrefix, type ParsedPrefix } from './address.js';
import type { ExportFilter, ImportPolicy, Path, PeerDescriptor } from './types.js';

export interface BgpFilterRule {
  readonly cidr?: string;
  readonly matchOperator?: 'Equal' | 'NotEqual' | 'In' | 'NotIn';
  /** With a cidr: lengths matched by In/NotIn. Alone: a length range on its own. */
  readonly prefixLength?: { readonly min?: number; readonly max?: number };
  /** RemotePeers: only routes learned over BGP (always true on import). */
  readonly source?: 'RemotePeers';
  /** Shell-style glob on the route's interface (local routes that have one). */
  readonly interface?: string;
  /** The session's type: the peer the route came from (import) or goes to (export). */
  readonly peerType?: 'eBGP' | 'iBGP';
  readonly action: 'Accept' | 'Reject';
}

/** BGPFilter's spec. */
export interface BgpFilterSpec {
  readonly exportV4?: readonly BgpFilterRule[];
  readonly importV4?: readonly BgpFilterRule[];
  readonly exportV6?: readonly BgpFilterRule[];
  readonly importV6?: readonly BgpFilterRule[];
}

export interface RouteFacts {
  readonly prefix: string;
  /** Learned from a BGP peer, as opposed to originated here. */
  readonly fromPeer: boolean;
  readonly interface?: string;
  readonly peerType?: 'ibgp' | 'ebgp';
}

export type FilterVerdict = 'accept' | 'reject' | undefined;
export type FilterDirection = 'import' | 'export';

interface CompiledRule {
  readonly cidr: ParsedPrefix | undefined;
  readonly op: BgpFilterRule['matchOperator'];
  readonly minLen: number;
  readonly maxLen: number;
  readonly hasLength: boolean;
  readonly fromPeer: boolean;
  readonly iface: RegExp | undefined;
  readonly peerType: 'ibgp' | 'ebgp' | undefined;
  readonly verdict: 'accept' | 'reject';
}

function glob(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

function compile(rule: BgpFilterRule, family: Family): CompiledRule {
  const familyMax = family === 'ipv4' ? 32 : 128;
  let cidr: ParsedPrefix | undefined;
  if (rule.cidr !== undefined) {
    cidr = parsePrefix(rule.cidr);
    if (cidr === undefined || cidr.v6 !== (family === 'ipv6')) throw new ValidationError('cidr', `BGPFilter: bad ${family} cidr ${JSON.stringify(rule.cidr)}`);
    if (rule.matchOperator === undefined) throw new ValidationError('matchOperator', 'BGPFilter: cidr without matchOperator');
  }
  const floor = cidr?.length ?? 0;
  return {
    cidr,
    op: rule.matchOperator,
    minLen: Math.max(floor, rule.prefixLength?.min ?? floor),
    maxLen: Math.min(familyMax, rule.prefixLength?.max ?? familyMax),
    hasLength: rule.prefixLength !== undefined,
    fromPeer: rule.source === 'RemotePeers',
    iface: rule.interface === undefined ? undefined : glob(rule.interface),
    peerType: rule.peerType === undefined ? undefined : rule.peerType === 'eBGP' ? 'ebgp' : 'ibgp',
    verdict: rule.action.toLowerCase() === 'reject' ? 'reject' : 'accept',
  };
}

function matches(r: CompiledRule, route: RouteFacts, prefix: () => ParsedPrefix | undefined): boolean {
  if (r.fromPeer && !route.fromPeer) return false;
  if (r.peerType !== undefined && r.peerType !== route.peerType) return false;
  if (r.iface !== undefined && (route.interface === undefined || !r.iface.test(route.interface))) return false;
  if (r.cidr === undefined && !r.hasLength) return true;
  const p = prefix();
  if (p === undefined) return false;
  const inRange = p.length >= r.minLen && p.length <= r.maxLen;
  if (r.cidr === undefined) return inRange;
  switch (r.op) {
    case 'Equal':
      return samePrefix(p, r.cidr);
    case 'NotEqual':
      return !samePrefix(p, r.cidr);
    case 'In':
      return prefixWithin(p, r.cidr) && inRange;
    case 'NotIn':
      return !(prefixWithin(p, r.cidr) && inRange);
    default:
      return false;
  }
}

/** One BGPFilter resource, rules parsed once. */
export class BgpFilter {
  private readonly rules: Record<FilterDirection, Record<Family, readonly CompiledRule[]>>;

  constructor(spec: BgpFilterSpec) {
    const c = (rules: readonly BgpFilterRule[] | undefined, f: Family): CompiledRule[] => (rules ?? []).map((r) => compile(r, f));
    this.rules = {
      import: { ipv4: c(spec.importV4, 'ipv4'), ipv6: c(spec.importV6, 'ipv6') },
      export: { ipv4: c(spec.exportV4, 'ipv4'), ipv6: c(spec.exportV6, 'ipv6') },
    };
  }

  /** The first matching rule's action, or undefined when none matches. */
  verdict(direction: FilterDirection, family: Family, route: RouteFacts): FilterVerdict {
    const rules = this.rules[direction][family];
    if (rules.length === 0) return undefined;
    let parsed: ParsedPrefix | undefined | null = null;
    const prefix = (): ParsedPrefix | undefined => (parsed === null ? (parsed = parsePrefix(route.prefix)) : parsed);
    for (const r of rules) if (matches(r, route, prefix)) return r.verdict;
    return undefined;
  }
}

function verdictOf(filters: readonly BgpFilter[], direction: FilterDirection, family: Family, route: RouteFacts): FilterVerdict {
  for (const f of filters) {
    const v = f.verdict(direction, family, route);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** Import policy for a peer with these filters (BGPPeer `filters`, in order). */
export function bgpFilterImportPolicy(specs: readonly BgpFilterSpec[]): ImportPolicy {
  const filters = specs.map((s) => new BgpFilter(s));
  return (prefix, _attributes, peer: PeerDescriptor, family) => verdictOf(filters, 'import', family, { prefix, fromPeer: true, peerType: peer.type }) ?? 'accept';
}

/**
 * Export filter: the BGPFilters decide first; when none matches, `fallback` (the
 * speaker's default export rules) does. `interfaceOf` names a local route's interface.
 */
export function bgpFilterExportFilter(
  specs: readonly BgpFilterSpec[],
  fallback: ExportFilter,
  interfaceOf?: (prefix: string, path: Path) => string | undefined,
): ExportFilter {
  const filters = specs.map((s) => new BgpFilter(s));
  if (filters.length === 0) return fallback;
  return (prefix, path, target, family) => {
    const fromPeer = path.peer.type !== 'local';
    const iface = interfaceOf?.(prefix, path);
    const route: RouteFacts = iface === undefined ? { prefix, fromPeer, peerType: target.type } : { prefix, fromPeer, peerType: target.type, interface: iface };
    const v = verdictOf(filters, 'export', family, route);
    return v === undefined ? fallback(prefix, path, target, family) : v === 'accept';
  };
}
