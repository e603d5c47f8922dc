// Best-path selection, RFC 4271 §9.1.2.2 with RFC 4456 additions, as a table of steps.
// Selection eliminates candidates step by step, as the RFC describes, rather than
// sorting with a pairwise comparator: MED is only compared within one neighbour AS, so
// pairwise comparison is not transitive and a sort would depend on arrival order.

import { AsPathSegmentType, asPathLength, WellKnownCommunity } from '../wire/index.js';
import { compareAddresses } from './address.js';
import { DEFAULT_LOCAL_PREF, type Path } from './types.js';

export interface DecisionStep {
  readonly name: string;
  /** Negative when `a` is preferred, positive when `b` is, 0 when this step cannot tell. */
  readonly compare: (a: Path, b: Path) => number;
  /** When set, only paths in the same group are compared (MED: the neighbour AS). */
  readonly group?: (p: Path) => number;
}

/** LOCAL_PREF as used for selection and sent to iBGP: eBGP-learned paths get the peer's default. */
export function localPrefOf(p: Path): number {
  if (p.peer.type === 'ebgp') return p.peer.defaultLocalPref ?? DEFAULT_LOCAL_PREF;
  return p.attributes.localPref ?? DEFAULT_LOCAL_PREF;
}

/** The AS we learned the path from: leftmost AS of the AS_PATH, else our own (RFC 4271 §9.1.2.2). */
export function neighbourAs(p: Path): number {
  for (const seg of p.attributes.asPath ?? []) {
    if (seg.type === AsPathSegmentType.AS_SEQUENCE) return seg.asns[0]!;
    if (seg.type === AsPathSegmentType.AS_SET) break;
  }
  return p.peer.localAsn;
}

function ipv4Number(s: string): number {
  const parts = s.split('.');
  return parts.length === 4 ? ((+parts[0]! << 24) | (+parts[1]! << 16) | (+parts[2]! << 8) | +parts[3]!) >>> 0 : 0;
}

/** RFC 9494 §4.3 and §4.4: a path with LLGR_STALE (ours after a restart, or received so) is least preferred. */
export function isLongLivedStale(p: Path): boolean {
  const c = p.attributes.communities;
  return c !== undefined && c.length > 0 && c.includes(WellKnownCommunity.LLGR_STALE);
}
const llgrStale = (p: Path): number => (isLongLivedStale(p) ? 1 : 0);
const isLocal = (p: Path): number => (p.peer.type === 'local' ? 1 : 0);
const isEbgp = (p: Path): number => (p.peer.type === 'ebgp' ? 1 : 0);
const originOf = (p: Path): number => p.attributes.origin ?? 2;
/** RFC 4456 §9: the ORIGINATOR_ID stands in for the router id of a reflected path. */
const routerIdOf = (p: Path): number => ipv4Number(p.attributes.originatorId ?? p.peer.routerId);

export const DECISION_STEPS: readonly DecisionStep[] = [
  // Before every other step: any path without LLGR_STALE beats one with it (RFC 9494 §4.4).
  { name: 'llgr-stale', compare: (a, b) => llgrStale(a) - llgrStale(b) },
  // Our own routes win, as BIRD's static/kernel protocols outrank BGP by preference.
  { name: 'local-origin', compare: (a, b) => isLocal(b) - isLocal(a) },
  { name: 'local-pref', compare: (a, b) => localPrefOf(b) - localPrefOf(a) },
  { name: 'as-path-length', compare: (a, b) => asPathLength(a.attributes.asPath ?? []) - asPathLength(b.attributes.asPath ?? []) },
  { name: 'origin', compare: (a, b) => originOf(a) - originOf(b) },
  // A missing MED counts as 0 (the lowest, RFC 4271 §9.1.2.2 c).
  { name: 'med', compare: (a, b) => (a.attributes.med ?? 0) - (b.attributes.med ?? 0), group: neighbourAs },
  { name: 'ebgp-over-ibgp', compare: (a, b) => isEbgp(b) - isEbgp(a) },
  // (IGP cost to the next hop is skipped: we have no IGP.)
  { name: 'router-id', compare: (a, b) => routerIdOf(a) - routerIdOf(b) },
  { name: 'cluster-list-length', compare: (a, b) => (a.attributes.clusterList?.length ?? 0) - (b.attributes.clusterList?.length ?? 0) },
  { name: 'peer-address', compare: (a, b) => compareAddresses(a.peer.address, b.peer.address) },
  // Beyond the RFC, so the order is total: add-path ids, then session ids.
  { name: 'path-id', compare: (a, b) => a.pathId - b.pathId },
  { name: 'peer-id', compare: (a, b) => (a.peer.id < b.peer.id ? -1 : a.peer.id > b.peer.id ? 1 : 0) },
];

/** Paths equal through this step are equal-cost (ECMP) candidates. */
export const MULTIPATH_LAST_STEP = 'ebgp-over-ibgp';
const MULTIPATH_CUT = DECISION_STEPS.findIndex((s) => s.name === MULTIPATH_LAST_STEP) + 1;

/** Pairwise: negative when `a` is better. Grouped steps are skipped for paths in different groups. */
export function comparePaths(a: Path, b: Path, from = 0): number {
  for (let i = from; i < DECISION_STEPS.length; i++) {
    const step = DECISION_STEPS[i]!;
    if (step.group && step.group(a) !== step.group(b)) continue;
    const c = step.compare(a, b);
    if (c !== 0) return c;
  }
  return 0;
}

/** Keeps the candidates that survive one step. */
function eliminate(paths: readonly Path[], step: DecisionStep): readonly Path[] {
  if (step.group === undefined) {
    let best = paths[0]!;
    for (const p of paths) if (step.compare(p, best) < 0) best = p;
    return paths.filter((p) => step.compare(p, best) === 0);
  }
  const bestOf = new Map<number, Path>();
  for (const p of paths) {
    const g = step.group(p);
    const cur = bestOf.get(g);
    if (cur === undefined || step.compare(p, cur) < 0) bestOf.set(g, p);
  }
  return paths.filter((p) => step.compare(p, bestOf.get(step.group!(p))!) === 0);
}

export interface Selection {
  readonly best: Path;
  /** Candidates equal to the best through MULTIPATH_LAST_STEP, best first, in preference order. */
  readonly equal: readonly Path[];
}

/** The best of one or more paths for a prefix, and its equal-cost peers. */
export function selectBest(paths: readonly Path[]): Selection {
  let cand = paths;
  for (let i = 0; i < MULTIPATH_CUT && cand.length > 1; i++) cand = eliminate(cand, DECISION_STEPS[i]!);
  // Past the cut every step is ungrouped, so a sort is exact.
  const equal = cand.length > 1 ? [...cand].sort((a, b) => comparePaths(a, b, MULTIPATH_CUT)) : cand;
  return { best: equal[0]!, equal };
}
