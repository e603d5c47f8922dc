// Adj-RIB-Out for one family of a peer we send several paths per prefix (RFC 7911 add-path
// negotiated with us as sender). As BIRD's `add paths tx`, every candidate path that
// passes export goes out, each under its source's path id (PathIds), not only the best
// one; a path that stops passing is withdrawn by its id. Changes are coalesced per
// prefix as in AdjRibOut: mark() notes the prefix, take() compares what the prefix's
// candidates want with what was sent.

import type { Family } from '../wire/index.js';
import { AttributePool, type PoolEntry } from './attribute-pool.js';
import { exportAttributes } from './export-policy.js';
import type { Outbound } from './adj-rib-out.js';
import type { PathIds } from './path-ids.js';
import type { BestPathChange, ExportFilter, Path, PathSource, PeerDescriptor, RibAttributes, RibOptions } from './types.js';

/** Every candidate path of a prefix (the Loc-RIB's view when pending changes are taken). */
export type PathsOf = (family: Family, prefix: string) => readonly Path[];

interface Memo {
  readonly source: PathSource;
  readonly attrs: RibAttributes | null;
  entry?: PoolEntry;
}

type Sent = Map<number, PoolEntry>;

export class AddPathRibOut {
  private readonly pool = new AttributePool();
  private readonly sent = new Map<string, Sent>();
  private readonly pending = new Set<string>();
  private readonly forced = new Set<string>();
  private memo = new WeakMap<Path, Memo>();
  private paths = 0;

  constructor(
    readonly family: Family,
    private target: PeerDescriptor,
    private readonly self: RibOptions,
    private readonly ids: PathIds,
    private filter?: ExportFilter,
  ) {}

  setTarget(target: PeerDescriptor, filter?: ExportFilter): void {
    this.target = target;
    this.filter = filter;
    this.memo = new WeakMap();
  }

  /**
   * Any change to a prefix's candidates may change what this peer gets (the best path
   * alone cannot tell). A prefix it has nothing of, and none of whose paths it could get
   * (a mesh peer and iBGP-learned paths), is not noted.
   */
  mark(changes: readonly BestPathChange[], pathsOf: PathsOf): void {
    for (const c of changes) {
      if (c.family !== this.family) continue;
      if (this.sent.has(c.prefix) || pathsOf(c.family, c.prefix).some((p) => this.memoOf(p).attrs !== null)) this.pending.add(c.prefix);
    }
  }

  markAll(prefixes: Iterable<readonly [string, unknown]>): void {
    for (const [prefix] of prefixes) this.pending.add(prefix);
    for (const prefix of this.sent.keys()) this.pending.add(prefix);
  }

  markRefresh(): void {
    for (const prefix of this.sent.keys()) {
      this.pending.add(prefix);
      this.forced.add(prefix);
    }
  }

  pendingCount(): number {
    return this.pending.size;
  }

  /** Paths advertised (prefixes × path ids). */
  advertised(): number {
    return this.paths;
  }

  /** The path ids advertised for the prefix, with their attributes. */
  advertisedPaths(prefix: string): ReadonlyMap<number, RibAttributes> {
    const out = new Map<number, RibAttributes>();
    for (const [id, e] of this.sent.get(prefix) ?? []) out.set(id, e.attrs);
    return out;
  }

  take(pathsOf: PathsOf, max = Infinity): Outbound {
    const withdrawn: string[] = [];
    const withdrawnPathIds: number[] = [];
    const groups = new Map<PoolEntry, { prefixes: string[]; pathIds: number[] }>();
    const announce = (prefix: string, id: number, e: PoolEntry): void => {
      const g = groups.get(e);
      if (g) {
        g.prefixes.push(prefix);
        g.pathIds.push(id);
      } else groups.set(e, { prefixes: [prefix], pathIds: [id] });
    };
    let n = 0;
    for (const prefix of this.pending) {
      if (n++ >= max) break;
      this.pending.delete(prefix);
      const force = this.forced.size > 0 && this.forced.delete(prefix);
      const want = new Map<number, PoolEntry>();
      for (const p of pathsOf(this.family, prefix)) {
        const e = this.desired(prefix, p);
        if (e !== null) want.set(this.ids.of(p), e);
      }
      let sent = this.sent.get(prefix);
      if (sent !== undefined) {
        for (const [id, cur] of sent) {
          if (want.has(id)) continue;
          sent.delete(id);
          this.pool.release(cur);
          this.paths--;
          withdrawn.push(prefix);
          withdrawnPathIds.push(id);
        }
      }
      for (const [id, e] of want) {
        const cur = sent?.get(id);
        if (cur === e) {
          if (force) announce(prefix, id, e);
          continue;
        }
        if (sent === undefined) this.sent.set(prefix, (sent = new Map()));
        this.pool.retain(e);
        sent.set(id, e);
        if (cur === undefined) this.paths++;
        else this.pool.release(cur);
        announce(prefix, id, e);
      }
      if (sent !== undefined && sent.size === 0) this.sent.delete(prefix);
    }
    const announced = [...groups].map(([e, g]) => ({ attributes: e.attrs, prefixes: g.prefixes, pathIds: g.pathIds }));
    return { family: this.family, withdrawn, withdrawnPathIds, announced };
  }

  clear(): void {
    for (const sent of this.sent.values()) for (const e of sent.values()) this.pool.release(e);
    this.sent.clear();
    this.pending.clear();
    this.forced.clear();
    this.paths = 0;
  }

  /** Export result of one path, computed once per path rather than once per prefix. */
  private memoOf(path: Path): Memo {
    let m = this.memo.get(path);
    if (m === undefined || m.source !== path.peer) {
      m = { source: path.peer, attrs: exportAttributes(path, this.family, this.target, this.self) };
      this.memo.set(path, m);
    }
    return m;
  }

  private desired(prefix: string, path: Path): PoolEntry | null {
    const m = this.memoOf(path);
    if (m.attrs === null) return null;
    if (this.filter !== undefined && !this.filter(prefix, path, this.target, this.family)) return null;
    if (m.entry === undefined || !m.entry.live) m.entry = this.pool.intern({ ...m.attrs });
    return m.entry;
  }
}
