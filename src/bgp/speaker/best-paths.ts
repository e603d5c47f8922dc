// Loc-RIB changes → what the dataplane wants: learned best paths with their ECMP next
// hops, as plain data. Our own routes are not "learned": a prefix whose best path is
// local shows as withdrawn from this view.

import { isLinkLocal6 } from '../../api/net.js';
import type { BestPathChange, Path } from '../rib/index.js';
import type { Family } from '../wire/index.js';
import type { BestPath } from './types.js';

const learned = (p: Path | null | undefined): p is Path => p !== null && p !== undefined && p.peer.type !== 'local';

/** One shared array per attribute set (interned by the RIB): equal next hops are one object downstream. */
const single = new WeakMap<object, readonly string[]>();
const NONE: readonly string[] = Object.freeze([]);

/**
 * The address to route through: the global next hop, or the link-local one when the
 * global is absent, unspecified or itself link-local — BIRD's rule (proto/bgp/packets.c
 * bgp_decode_next_hop_ip moves a link-local first address to the second slot;
 * bgp_apply_next_hop takes the global when non-zero, else the link-local on the
 * session's interface). A link-local address is on-link by definition (RFC 4291 §2.5.6).
 */
export function forwardingNextHop(a: { nextHop?: string; linkLocalNextHop?: string }): string | undefined {
  const g = a.nextHop;
  if (g !== undefined && g !== '::' && !isLinkLocal6(g)) return g;
  return a.linkLocalNextHop ?? (g === '::' ? undefined : g);
}

function nexthops(multipath: readonly Path[]): readonly string[] {
  if (multipath.length === 1) {
    const p = multipath[0]!;
    const nh = forwardingNextHop(p.attributes);
    if (nh === undefined || p.peer.type === 'local') return NONE;
    let hit = single.get(p.attributes);
    if (hit === undefined) single.set(p.attributes, (hit = Object.freeze([nh])));
    return hit;
  }
  const out: string[] = [];
  for (const p of multipath) {
    const nh = forwardingNextHop(p.attributes);
    if (nh !== undefined && p.peer.type !== 'local' && !out.includes(nh)) out.push(nh);
  }
  return out;
}

/** The learned view of one prefix, from its ECMP set (best first); undefined when it has no learned best path. */
export function bestPathOf(family: Family, prefix: string, multipath: readonly Path[]): BestPath | undefined {
  const best = multipath[0];
  if (!learned(best)) return undefined;
  return { family, prefix, nexthops: nexthops(multipath), peerId: best.peer.id, attributes: best.attributes };
}

/** The change as the dataplane sees it, or undefined when the learned view did not change. */
export function learnedChange(c: BestPathChange): BestPath | undefined {
  if (learned(c.best)) return bestPathOf(c.family, c.prefix, c.multipath);
  if (!learned(c.previous)) return undefined;
  return { family: c.family, prefix: c.prefix, nexthops: NONE, peerId: null };
}

export function learnedChanges(changes: readonly BestPathChange[]): BestPath[] {
  const out: BestPath[] = [];
  for (const c of changes) {
    if (c.othersOnly) continue; // best path and ECMP set as they were
    const b = learnedChange(c);
    if (b) out.push(b);
  }
  return out;
}
