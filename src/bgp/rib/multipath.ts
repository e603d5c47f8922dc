// ECMP: of the paths equal to the best through the eBGP/iBGP step (BIRD's "merge paths"),
// one per distinct next hop, best first. The kernel gets one route with these next hops.

import type { Path } from './types.js';

const nextHopOf = (p: Path): string => p.attributes.nextHop ?? '';

/** `equal` in preference order (best first); keeps the first path for each next hop. */
export function multipathSet(equal: readonly Path[]): readonly Path[] {
  if (equal.length <= 1) return equal;
  const seen = new Set<string>();
  const out: Path[] = [];
  for (const p of equal) {
    const nh = nextHopOf(p);
    if (seen.has(nh)) continue;
    seen.add(nh);
    out.push(p);
  }
  return out;
}

/** True when both sets have the same next hops (order ignored). */
export function sameNextHops(a: readonly Path[], b: readonly Path[]): boolean {
  if (a.length !== b.length) return false;
  if (a.length === 1) return nextHopOf(a[0]!) === nextHopOf(b[0]!);
  const hops = new Set(a.map(nextHopOf));
  return b.every((p) => hops.has(nextHopOf(p)));
}

/** Same source, attributes and path id: only staleness may differ, nothing to tell anyone. */
export function samePath(a: Path | null | undefined, b: Path | null | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.peer === b.peer && a.attributes === b.attributes && a.pathId === b.pathId && a.family === b.family;
}
