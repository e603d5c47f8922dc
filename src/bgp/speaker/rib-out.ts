// What we send one Established peer, per family: the best path (AdjRibOut) or, where the
// session negotiated add-path with us as sender (RFC 7911 §4), every path that passes
// export (AddPathRibOut). The peer runtime talks to this one object either way.

import { AddPathRibOut, AdjRibOut, type BestPathChange, type ExportFilter, type Outbound, type Path, type PeerDescriptor, type Rib } from '../rib/index.js';
import type { Family } from '../wire/index.js';

export class RibOut {
  private readonly best: AdjRibOut;
  private readonly all = new Map<Family, AddPathRibOut>();
  private readonly paths = (f: Family, prefix: string): readonly Path[] => this.rib.candidates(f, prefix);

  constructor(
    private readonly rib: Rib,
    target: PeerDescriptor,
    filter: ExportFilter | undefined,
    addPathSend: ReadonlySet<Family>,
  ) {
    this.best = new AdjRibOut(target, rib.options, filter);
    for (const f of addPathSend) this.all.set(f, new AddPathRibOut(f, target, rib.options, rib.pathIds, filter));
  }

  /** Families sent with every path. */
  get addPathFamilies(): Family[] {
    return [...this.all.keys()];
  }

  setTarget(target: PeerDescriptor, filter?: ExportFilter): void {
    this.best.setTarget(target, filter);
    for (const a of this.all.values()) a.setTarget(target, filter);
  }

  mark(changes: readonly BestPathChange[]): void {
    for (const a of this.all.values()) a.mark(changes, this.paths);
    if (this.all.size === 2) return;
    // Without any add-path session there are no othersOnly changes: the hot path stays as it was.
    if (!this.rib.allPaths) this.best.mark(changes);
    else this.best.mark(changes.filter((c) => !c.othersOnly && !this.all.has(c.family)));
  }

  markAll(family: Family, best: Iterable<readonly [string, Path]>): void {
    const a = this.all.get(family);
    if (a) a.markAll(best);
    else this.best.markAll(family, best);
  }

  markRefresh(family: Family): void {
    const a = this.all.get(family);
    if (a) a.markRefresh();
    else this.best.markRefresh(family);
  }

  pendingCount(family?: Family): number {
    if (family !== undefined) return this.all.get(family)?.pendingCount() ?? this.best.pendingCount(family);
    let n = this.best.pendingCount();
    for (const a of this.all.values()) n += a.pendingCount();
    return n;
  }

  take(family: Family, max: number): Outbound {
    const a = this.all.get(family);
    if (a) return a.take(this.paths, max);
    return this.best.take(family, (f, prefix) => this.rib.best(f, prefix), max);
  }

  /** Prefixes advertised; with add-path, paths (prefixes × path ids). */
  advertised(family: Family): number {
    return this.all.get(family)?.advertised() ?? this.best.advertised(family);
  }

  clear(): void {
    this.best.clear();
    for (const a of this.all.values()) a.clear();
  }
}
