// Loc-RIB: every candidate path per prefix, the best one and the ECMP set. A prefix with
// one path (the common case) stores that path itself, no per-prefix object; only
// prefixes with several paths get a Destination.

import type { Family } from '../wire/index.js';
import { selectBest } from './best-path.js';
import { multipathSet, sameNextHops, samePath } from './multipath.js';
import type { BestPathChange, Path } from './types.js';

class Destination {
  constructor(
    public paths: Path[],
    public best: Path,
    public multipath: readonly Path[],
  ) {}
}

type Entry = Path | Destination;

const NONE: readonly Path[] = [];

function change(family: Family, prefix: string, best: Path | null, previous: Path | null, multipath: readonly Path[]): BestPathChange {
  return { family, prefix, best, previous, multipath };
}

export class LocRib {
  /** Report changes to non-best paths too (an add-path peer gets every path). */
  allPaths = false;
  private readonly tables: Record<Family, Map<string, Entry>> = { ipv4: new Map(), ipv6: new Map() };

  /**
   * Removes `removes` (by identity) and adds `adds` to the prefix's candidates. Returns
   * the change when the best path or the ECMP next-hop set changed.
   */
  apply(family: Family, prefix: string, removes: readonly Path[], adds: readonly Path[]): BestPathChange | undefined {
    const table = this.tables[family];
    const cur = table.get(prefix);
    if (!(cur instanceof Destination) && removes.length <= 1 && adds.length <= 1 && removes[0] === cur) return this.single(table, family, prefix, cur, adds[0]);
    const prevBest = cur === undefined ? null : cur instanceof Destination ? cur.best : cur;
    const prevMulti = cur === undefined ? NONE : cur instanceof Destination ? cur.multipath : [cur];
    const paths = cur === undefined ? [] : cur instanceof Destination ? cur.paths.slice() : [cur];
    for (const r of removes) {
      const i = paths.indexOf(r);
      if (i >= 0) paths.splice(i, 1);
    }
    paths.push(...adds);
    return this.store(family, prefix, cur, paths, prevBest, prevMulti);
  }

  /** apply() of one path replacing another (either may be absent), without an array per prefix. */
  replace(family: Family, prefix: string, old: Path | undefined, next: Path | undefined): BestPathChange | undefined {
    const table = this.tables[family];
    const cur = table.get(prefix);
    if (!(cur instanceof Destination) && old === cur) return this.single(table, family, prefix, cur, next);
    return this.apply(family, prefix, old ? [old] : NONE, next ? [next] : NONE);
  }

  // At most one path before and after: no selection needed.
  private single(table: Map<string, Entry>, family: Family, prefix: string, cur: Path | undefined, next: Path | undefined): BestPathChange | undefined {
    if (next === undefined) {
      if (cur === undefined) return undefined;
      table.delete(prefix);
      return change(family, prefix, null, cur, NONE);
    }
    table.set(prefix, next);
    if (samePath(cur, next)) return undefined;
    return change(family, prefix, next, cur ?? null, next.alone ?? [next]);
  }

  /** Runs selection again (a peer's router id or type changed). */
  reselect(family: Family, prefix: string): BestPathChange | undefined {
    const cur = this.tables[family].get(prefix);
    if (!(cur instanceof Destination)) return undefined;
    return this.store(family, prefix, cur, cur.paths, cur.best, cur.multipath);
  }

  best(family: Family, prefix: string): Path | undefined {
    const cur = this.tables[family].get(prefix);
    return cur instanceof Destination ? cur.best : cur;
  }

  multipath(family: Family, prefix: string): readonly Path[] {
    const cur = this.tables[family].get(prefix);
    return cur === undefined ? NONE : cur instanceof Destination ? cur.multipath : [cur];
  }

  /** All candidate paths for the prefix. */
  paths(family: Family, prefix: string): readonly Path[] {
    const cur = this.tables[family].get(prefix);
    return cur === undefined ? NONE : cur instanceof Destination ? cur.paths : [cur];
  }

  *bestPaths(family: Family): IterableIterator<[string, Path]> {
    for (const [prefix, cur] of this.tables[family]) yield [prefix, cur instanceof Destination ? cur.best : cur];
  }

  /** The ECMP set of every prefix, for a full dataplane resync. */
  *multipaths(family: Family): IterableIterator<[string, readonly Path[]]> {
    for (const [prefix, cur] of this.tables[family]) yield [prefix, cur instanceof Destination ? cur.multipath : [cur]];
  }

  size(family: Family): number {
    return this.tables[family].size;
  }

  private store(family: Family, prefix: string, cur: Entry | undefined, paths: Path[], prevBest: Path | null, prevMulti: readonly Path[]): BestPathChange | undefined {
    const table = this.tables[family];
    let best: Path | null = null;
    let multi: readonly Path[] = NONE;
    if (paths.length === 0) {
      table.delete(prefix);
    } else if (paths.length === 1) {
      best = paths[0]!;
      multi = [best];
      table.set(prefix, best);
    } else {
      const sel = selectBest(paths);
      best = sel.best;
      multi = multipathSet(sel.equal);
      if (cur instanceof Destination) {
        cur.paths = paths;
        cur.best = best;
        cur.multipath = multi;
      } else {
        table.set(prefix, new Destination(paths, best, multi));
      }
    }
    if (samePath(prevBest, best) && sameNextHops(prevMulti, multi)) {
      return this.allPaths ? { family, prefix, best, previous: prevBest, multipath: multi, othersOnly: true } : undefined;
    }
    return change(family, prefix, best, prevBest, multi);
  }
}
