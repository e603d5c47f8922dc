// Next-hop reachability as the RIB sees it: a next hop is eligible until something (the
// speaker's next-hop tracking) says it is not. Only unreachable ones cost anything on
// the UPDATE path: one Set lookup per path while at least one is unreachable.

import type { Path } from './types.js';

/** The address a path is forwarded through (its NEXT_HOP, else the IPv6 link-local one). */
export function nextHopKey(p: Path): string | undefined {
  return p.attributes.nextHop ?? p.attributes.linkLocalNextHop;
}

export class NextHopStates {
  private readonly state = new Map<string, boolean>();
  private readonly down = new Set<string>();

  /** Some next hop is unreachable (else every path is eligible). */
  get any(): boolean {
    return this.down.size > 0;
  }

  eligible(p: Path): boolean {
    const nh = nextHopKey(p);
    return nh === undefined || !this.down.has(nh);
  }

  get(nextHop: string): boolean | undefined {
    return this.state.get(nextHop);
  }

  /** Records the state; false when it was already so (nothing to re-select). */
  set(nextHop: string, reachable: boolean): boolean {
    const before = this.state.get(nextHop) ?? true;
    this.state.set(nextHop, reachable);
    if (reachable) this.down.delete(nextHop);
    else this.down.add(nextHop);
    return before !== reachable;
  }

  /** Forget next hops no path uses any more (keeps the maps bounded). */
  retain(used: ReadonlySet<string>): void {
    for (const nh of this.state.keys()) {
      if (used.has(nh)) continue;
      this.state.delete(nh);
      this.down.delete(nh);
    }
  }
}
