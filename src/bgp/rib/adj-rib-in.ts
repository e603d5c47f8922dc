// Adj-RIB-In: what one peer (or 'local') told us, after import policy, keyed by
// (family, prefix, path id). Paths are interned per peer: every prefix announced with the
// same attributes points at one StoredPath, so a million prefixes cost a map entry each.

import type { Family } from '../wire/index.js';
import type { AttributePool, PoolEntry } from './attribute-pool.js';
import type { Path, PathSource, RibAttributes } from './types.js';

export class StoredPath implements Path {
  /** Prefixes pointing at this path. */
  refs = 0;
  stale = false;
  /** Long-lived stale (RFC 9494): its attributes carry LLGR_STALE. */
  longLived = false;
  /** [this]: the ECMP set of a prefix with this path alone, shared rather than made per change. */
  readonly alone: readonly Path[];
  constructor(
    private readonly owner: AdjRibIn,
    readonly family: Family,
    readonly entry: PoolEntry,
    readonly pathId: number,
  ) {
    this.alone = [this];
  }

  get peer(): PathSource {
    return this.owner.peer;
  }

  get attributes(): RibAttributes {
    return this.entry.attrs;
  }
}

/** One path, or several when add-path gives a prefix more than one path id. */
type Slot = StoredPath | StoredPath[];

function find(slot: Slot | undefined, pathId: number): StoredPath | undefined {
  if (slot === undefined) return undefined;
  if (!Array.isArray(slot)) return slot.pathId === pathId ? slot : undefined;
  return slot.find((p) => p.pathId === pathId);
}

export class AdjRibIn {
  private readonly tables: Record<Family, Map<string, Slot>> = { ipv4: new Map(), ipv6: new Map() };
  private readonly counts: Record<Family, number> = { ipv4: 0, ipv6: 0 };
  /** Interned paths of this peer, by attribute entry (several: path ids, stale twins). */
  private readonly cache = new Map<PoolEntry, StoredPath[]>();
  /** Announced but rejected by import policy or a loop check ("received" minus "accepted"). */
  readonly filtered: Record<Family, Set<string>> = { ipv4: new Set(), ipv6: new Set() };

  constructor(
    public peer: PathSource,
    private readonly pool: AttributePool,
  ) {}

  /** The fresh path for these attributes, created (unreferenced) when new. */
  pathFor(family: Family, entry: PoolEntry, pathId: number): StoredPath {
    let list = this.cache.get(entry);
    const hit = list?.find((p) => p.pathId === pathId && p.family === family && !p.stale);
    if (hit) return hit;
    const p = new StoredPath(this, family, entry, pathId);
    if (list === undefined) this.cache.set(entry, (list = []));
    list.push(p);
    this.pool.retain(entry);
    return p;
  }

  /** Forget a path from pathFor that no prefix took. */
  dropIfUnused(p: StoredPath): void {
    if (p.refs <= 0) this.forget(p);
  }

  get(family: Family, prefix: string, pathId: number): StoredPath | undefined {
    return find(this.tables[family].get(prefix), pathId);
  }

  /** All paths for the prefix (several only with add-path). */
  all(family: Family, prefix: string): readonly StoredPath[] {
    const slot = this.tables[family].get(prefix);
    return slot === undefined ? [] : Array.isArray(slot) ? slot : [slot];
  }

  /** Stores `path` under its path id; returns the path it replaced. */
  set(family: Family, prefix: string, path: StoredPath): StoredPath | undefined {
    const table = this.tables[family];
    const slot = table.get(prefix);
    let old: StoredPath | undefined;
    if (slot === undefined) {
      table.set(prefix, path);
    } else if (!Array.isArray(slot)) {
      if (slot.pathId === path.pathId) {
        old = slot;
        if (old !== path) table.set(prefix, path);
      } else {
        table.set(prefix, [slot, path]);
      }
    } else {
      const i = slot.findIndex((p) => p.pathId === path.pathId);
      if (i < 0) slot.push(path);
      else {
        old = slot[i];
        slot[i] = path;
      }
    }
    if (old === path) return old;
    path.refs++;
    if (old === undefined) this.counts[family]++;
    else this.unref(old);
    return old;
  }

  delete(family: Family, prefix: string, pathId: number): StoredPath | undefined {
    const table = this.tables[family];
    const slot = table.get(prefix);
    let old: StoredPath | undefined;
    if (slot === undefined) return undefined;
    if (!Array.isArray(slot)) {
      if (slot.pathId !== pathId) return undefined;
      old = slot;
      table.delete(prefix);
    } else {
      const i = slot.findIndex((p) => p.pathId === pathId);
      if (i < 0) return undefined;
      old = slot[i]!;
      slot.splice(i, 1);
      if (slot.length === 1) table.set(prefix, slot[0]!);
    }
    this.counts[family]--;
    this.unref(old);
    return old;
  }

  /** Every (prefix, path) of the family. Do not change the table while iterating. */
  *entries(family: Family): IterableIterator<[string, StoredPath]> {
    for (const [prefix, slot] of this.tables[family]) {
      if (Array.isArray(slot)) for (const p of slot) yield [prefix, p];
      else yield [prefix, slot];
    }
  }

  /** Paths held for the family (prefixes × path ids). */
  count(family: Family): number {
    return this.counts[family];
  }

  /** RFC 4724: everything the peer sent so far becomes stale, still usable for forwarding. */
  markStale(family: Family): void {
    for (const list of this.cache.values()) for (const p of list) if (p.family === family) p.stale = true;
  }

  /** Removes the stale paths of the family, calling `removed` for each. */
  sweepStale(family: Family, removed: (prefix: string, path: StoredPath) => void): void {
    const gone: [string, number][] = [];
    for (const [prefix, p] of this.entries(family)) if (p.stale) gone.push([prefix, p.pathId]);
    for (const [prefix, id] of gone) removed(prefix, this.delete(family, prefix, id)!);
  }

  /**
   * RFC 9494: the family's stale paths become long-lived stale. `rewrite` gives a path's
   * new attributes, or null to delete it; `changed` hears each prefix's old and new path.
   */
  toLongLived(family: Family, rewrite: (p: StoredPath) => PoolEntry | null, changed: (prefix: string, old: StoredPath, next: StoredPath | undefined) => void): void {
    const todo: [string, StoredPath][] = [];
    for (const [prefix, p] of this.entries(family)) if (p.stale && !p.longLived) todo.push([prefix, p]);
    // One twin per path, so prefixes sharing attributes still share a path.
    const twins = new Map<StoredPath, StoredPath | null>();
    for (const [prefix, p] of todo) {
      let twin = twins.get(p);
      if (twin === undefined) {
        const e = rewrite(p);
        twin = e === null ? null : this.longLivedTwin(family, e, p.pathId);
        twins.set(p, twin);
      }
      if (twin === null) changed(prefix, this.delete(family, prefix, p.pathId)!, undefined);
      else {
        this.set(family, prefix, twin);
        changed(prefix, p, twin);
      }
    }
    for (const t of twins.values()) if (t) this.dropIfUnused(t);
  }

  private longLivedTwin(family: Family, entry: PoolEntry, pathId: number): StoredPath {
    const p = new StoredPath(this, family, entry, pathId);
    p.stale = true;
    p.longLived = true;
    let list = this.cache.get(entry);
    if (list === undefined) this.cache.set(entry, (list = []));
    list.push(p);
    this.pool.retain(entry);
    return p;
  }

  /** Removes everything of the family, calling `removed` for each path first. */
  clear(family: Family, removed: (prefix: string, path: StoredPath) => void): void {
    for (const [prefix, p] of this.entries(family)) removed(prefix, p);
    this.tables[family].clear();
    this.counts[family] = 0;
    this.filtered[family].clear();
    for (const list of [...this.cache.values()]) for (const p of [...list]) if (p.family === family) this.forget(p);
  }

  private unref(p: StoredPath): void {
    if (--p.refs <= 0) this.forget(p);
  }

  private forget(p: StoredPath): void {
    const list = this.cache.get(p.entry);
    if (list === undefined) return;
    const i = list.indexOf(p);
    if (i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.cache.delete(p.entry);
    p.refs = 0;
    this.pool.release(p.entry);
  }
}
