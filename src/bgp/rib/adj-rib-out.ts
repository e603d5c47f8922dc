// Adj-RIB-Out for one peer: what we last sent it, so identical re-sends are suppressed
// and withdrawals go only for prefixes it has. Output is grouped by identical attributes
// so the speaker can pack many prefixes into one UPDATE.
//
// Changes are coalesced per prefix: mark() only notes which prefixes may differ from what
// the peer has, and take() reads their current best paths when the peer can take more.
// A slow peer therefore costs one pending entry per prefix (memory proportional to the
// table), however often a prefix changes meanwhile, and it receives only the latest state.

import type { Family, PathAttributes, Update } from '../wire/index.js';
import { AttributePool, type PoolEntry } from './attribute-pool.js';
import { exportAttributes } from './export-policy.js';
import type { BestPathChange, ExportFilter, Path, PathSource, PeerDescriptor, RibAttributes, RibOptions } from './types.js';

export interface OutboundGroup {
  /** Interned: the same object for every group with equal attributes. */
  readonly attributes: RibAttributes;
  readonly prefixes: string[];
  /** RFC 7911 path ids, one per prefix (add-path sessions only). */
  readonly pathIds?: number[];
}

/** What to send for one family: withdrawals, then announcements grouped by attributes. */
export interface Outbound {
  readonly family: Family;
  readonly withdrawn: string[];
  /** RFC 7911 path ids, one per withdrawn prefix (add-path sessions only). */
  readonly withdrawnPathIds?: number[];
  readonly announced: OutboundGroup[];
}

/** Export result of one path, computed once per path rather than once per prefix. */
interface Memo {
  readonly source: PathSource;
  readonly attrs: RibAttributes | null;
  /** Interned once something is sent with them (marking alone interns nothing). */
  entry?: PoolEntry;
}

class OutboundBuilder {
  readonly withdrawn: string[] = [];
  readonly groups = new Map<PoolEntry, string[]>();
  constructor(readonly family: Family) {}

  announce(prefix: string, e: PoolEntry): void {
    const list = this.groups.get(e);
    if (list) list.push(prefix);
    else this.groups.set(e, [prefix]);
  }

  build(): Outbound {
    const announced: OutboundGroup[] = [];
    for (const [e, prefixes] of this.groups) announced.push({ attributes: e.attrs, prefixes });
    return { family: this.family, withdrawn: this.withdrawn, announced };
  }

  get empty(): boolean {
    return this.withdrawn.length === 0 && this.groups.size === 0;
  }
}

/** The current best path of a prefix (the Loc-RIB's view when pending changes are taken). */
export type BestOf = (family: Family, prefix: string) => Path | undefined;

export class AdjRibOut {
  private readonly pool = new AttributePool();
  private readonly sent: Record<Family, Map<string, PoolEntry>> = { ipv4: new Map(), ipv6: new Map() };
  /** Prefixes that may differ from what the peer has, in the order they were first marked. */
  private readonly pending: Record<Family, Set<string>> = { ipv4: new Set(), ipv6: new Set() };
  /** Pending prefixes to send again even if unchanged (ROUTE-REFRESH). */
  private readonly forced: Record<Family, Set<string>> = { ipv4: new Set(), ipv6: new Set() };
  private memo = new WeakMap<Path, Memo>();

  constructor(
    private target: PeerDescriptor,
    private readonly self: RibOptions,
    private filter?: ExportFilter,
  ) {}

  get peer(): PeerDescriptor {
    return this.target;
  }

  /** New session details or export filter; follow with sync() for every family. */
  setTarget(target: PeerDescriptor, filter?: ExportFilter): void {
    this.target = target;
    this.filter = filter;
    this.memo = new WeakMap();
  }

  /**
   * Loc-RIB changes in: the prefixes that may now differ from what the peer has are noted
   * (a prefix the peer neither has nor would get is not). Nothing is computed per change.
   */
  mark(changes: readonly BestPathChange[]): void {
    for (const c of changes) {
      const sent = this.sent[c.family];
      if (c.best === null) {
        if (sent.size > 0 && sent.has(c.prefix)) this.pending[c.family].add(c.prefix);
      } else if (this.exports(c.family, c.prefix, c.best) || (sent.size > 0 && sent.has(c.prefix))) {
        this.pending[c.family].add(c.prefix);
      }
    }
  }

  /** Every prefix of the family is pending: the initial table, or a resync after setTarget. */
  markAll(family: Family, best: Iterable<readonly [string, Path]>): void {
    const pending = this.pending[family];
    for (const [prefix] of best) pending.add(prefix);
    for (const prefix of this.sent[family].keys()) pending.add(prefix);
  }

  /** Everything advertised for the family goes again as it stands (ROUTE-REFRESH). */
  markRefresh(family: Family): void {
    for (const prefix of this.sent[family].keys()) {
      this.pending[family].add(prefix);
      this.forced[family].add(prefix);
    }
  }

  /** Prefixes waiting to be taken. */
  pendingCount(family?: Family): number {
    return family ? this.pending[family].size : this.pending.ipv4.size + this.pending.ipv6.size;
  }

  /**
   * Up to `max` pending prefixes of the family (oldest first), brought in line with their
   * current best paths: what to send for them. `sent` is updated as if it went out.
   */
  take(family: Family, bestOf: BestOf, max = Infinity): Outbound {
    const b = new OutboundBuilder(family);
    const pending = this.pending[family];
    const forced = this.forced[family];
    let n = 0;
    for (const prefix of pending) {
      if (n++ >= max) break;
      pending.delete(prefix);
      const best = bestOf(family, prefix);
      const want = best === undefined ? null : this.desired(family, prefix, best);
      if (forced.size > 0 && forced.delete(prefix) && want !== null && this.sent[family].get(prefix) === want) b.announce(prefix, want);
      else this.reconcile(b, prefix, want);
    }
    return b.build();
  }

  /** Loc-RIB changes in, what to send this peer out at once (families with nothing to send are left out). */
  apply(changes: readonly BestPathChange[]): Outbound[] {
    const last = new Map<string, Path | null>();
    for (const c of changes) last.set(c.family === 'ipv4' ? c.prefix : `6 ${c.prefix}`, c.best);
    this.mark(changes);
    const bestOf: BestOf = (family, prefix) => last.get(family === 'ipv4' ? prefix : `6 ${prefix}`) ?? undefined;
    const out: Outbound[] = [];
    for (const family of ['ipv4', 'ipv6'] as const) {
      if (this.pending[family].size === 0) continue;
      const o = this.take(family, bestOf);
      if (o.withdrawn.length > 0 || o.announced.length > 0) out.push(o);
    }
    return out;
  }

  /**
   * Brings the family in line with the whole Loc-RIB at once: the initial dump for a
   * newly Established peer (nothing sent yet), or a resync after setTarget.
   */
  sync(family: Family, best: Iterable<readonly [string, Path]>): Outbound {
    const table = new Map(best);
    this.markAll(family, table);
    return this.take(family, (_f, prefix) => table.get(prefix));
  }

  /** The session went down: the peer has nothing from us any more. */
  clear(): void {
    for (const family of ['ipv4', 'ipv6'] as const) {
      for (const e of this.sent[family].values()) this.pool.release(e);
      this.sent[family].clear();
      this.pending[family].clear();
      this.forced[family].clear();
    }
  }

  /** What was last sent for the prefix. */
  advertisedAttributes(family: Family, prefix: string): RibAttributes | undefined {
    return this.sent[family].get(prefix)?.attrs;
  }

  advertised(family: Family): number {
    return this.sent[family].size;
  }

  private memoOf(family: Family, path: Path): Memo {
    let m = this.memo.get(path);
    if (m === undefined || m.source !== path.peer) {
      m = { source: path.peer, attrs: exportAttributes(path, family, this.target, this.self) };
      this.memo.set(path, m);
    }
    return m;
  }

  /** Would the peer get this path for the prefix? The per-path rules first (memoised): a path it never gets costs no filter call. */
  private exports(family: Family, prefix: string, path: Path): boolean {
    if (this.memoOf(family, path).attrs === null) return false;
    return this.filter === undefined || this.filter(prefix, path, this.target, family);
  }

  /** What to send for the prefix, interned (the caller retains it if it keeps it). */
  private desired(family: Family, prefix: string, path: Path): PoolEntry | null {
    if (!this.exports(family, prefix, path)) return null;
    const m = this.memoOf(family, path);
    if (m.entry === undefined || !m.entry.live) m.entry = this.pool.intern({ ...m.attrs! });
    return m.entry;
  }

  private reconcile(b: OutboundBuilder, prefix: string, want: PoolEntry | null): void {
    const sent = this.sent[b.family];
    const cur = sent.get(prefix);
    if (want === null) {
      if (cur === undefined) return;
      sent.delete(prefix);
      this.pool.release(cur);
      b.withdrawn.push(prefix);
      return;
    }
    if (cur === want) return;
    this.pool.retain(want);
    sent.set(prefix, want);
    if (cur !== undefined) this.pool.release(cur);
    b.announce(prefix, want);
  }
}

/** The wire UPDATE announcing `prefixes` (IPv4 NLRI with NEXT_HOP, or MP_REACH_NLRI). */
export function announcement(family: Family, attributes: RibAttributes, prefixes: string[], pathIds?: number[]): Update {
  const { linkLocalNextHop, nextHop, ...rest } = attributes;
  if (family === 'ipv4' && (nextHop === undefined || !nextHop.includes(':'))) {
    const attrs: PathAttributes = nextHop === undefined ? rest : { ...rest, nextHop };
    return pathIds === undefined ? { withdrawn: [], attributes: attrs, nlri: prefixes } : { withdrawn: [], attributes: attrs, nlri: prefixes, nlriPathIds: pathIds };
  }
  const mpReach: NonNullable<PathAttributes['mpReach']> = { family, nextHop: nextHop!, nlri: prefixes };
  if (linkLocalNextHop !== undefined) mpReach.linkLocalNextHop = linkLocalNextHop;
  if (pathIds !== undefined) mpReach.pathIds = pathIds;
  return { withdrawn: [], attributes: { ...rest, mpReach }, nlri: [] };
}

/** The wire UPDATE withdrawing `prefixes` (with their RFC 7911 path ids on add-path sessions). */
export function withdrawal(family: Family, prefixes: string[], pathIds?: number[]): Update {
  if (family === 'ipv4') return pathIds === undefined ? { withdrawn: prefixes, attributes: {}, nlri: [] } : { withdrawn: prefixes, withdrawnPathIds: pathIds, attributes: {}, nlri: [] };
  const mpUnreach: NonNullable<PathAttributes['mpUnreach']> = { family, withdrawn: prefixes };
  if (pathIds !== undefined) mpUnreach.pathIds = pathIds;
  return { withdrawn: [], attributes: { mpUnreach }, nlri: [] };
}
