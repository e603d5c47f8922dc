// Adj-RIB-Out for one peer: what we last sent it, so identical re-sends are suppressed
// and withdrawals go only for prefixes it has. Output is grouped by identical attributes
// so the speaker can pack many prefixes into one UPDATE.

import type { Family, PathAttributes, Update } from '../wire/index.js';
import { AttributePool, type PoolEntry } from './attribute-pool.js';
import { exportAttributes } from './export-policy.js';
import type { BestPathChange, ExportFilter, Path, PathSource, PeerDescriptor, RibAttributes, RibOptions } from './types.js';

export interface OutboundGroup {
  /** Interned: the same object for every group with equal attributes. */
  readonly attributes: RibAttributes;
  readonly prefixes: string[];
}

/** What to send for one family: withdrawals, then announcements grouped by attributes. */
export interface Outbound {
  readonly family: Family;
  readonly withdrawn: string[];
  readonly announced: OutboundGroup[];
}

/** Export result of one path, computed once per path rather than once per prefix. */
interface Memo {
  readonly source: PathSource;
  readonly entry: PoolEntry | null;
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

export class AdjRibOut {
  private readonly pool = new AttributePool();
  private readonly sent: Record<Family, Map<string, PoolEntry>> = { ipv4: new Map(), ipv6: new Map() };
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

  /** Loc-RIB changes in, what to send this peer out (families with nothing to send are left out). */
  apply(changes: readonly BestPathChange[]): Outbound[] {
    const builders: Partial<Record<Family, OutboundBuilder>> = {};
    // A prefix twice in one batch: the last change wins, sent once.
    const last = new Map<string, BestPathChange>();
    let dup = false;
    for (const c of changes) {
      const k = c.family === 'ipv4' ? c.prefix : `6 ${c.prefix}`;
      if (last.has(k)) dup = true;
      last.set(k, c);
    }
    for (const c of dup ? last.values() : changes) {
      const b = (builders[c.family] ??= new OutboundBuilder(c.family));
      this.reconcile(b, c.prefix, c.best === null ? null : this.desired(c.family, c.prefix, c.best));
    }
    const out: Outbound[] = [];
    for (const b of Object.values(builders)) if (!b.empty) out.push(b.build());
    return out;
  }

  /**
   * Brings the family in line with the whole Loc-RIB: the initial dump for a newly
   * Established peer (nothing sent yet), or a resync after setTarget.
   */
  sync(family: Family, best: Iterable<readonly [string, Path]>): Outbound {
    const b = new OutboundBuilder(family);
    const sent = this.sent[family];
    const seen = sent.size > 0 ? new Set<string>() : undefined;
    for (const [prefix, path] of best) {
      seen?.add(prefix);
      this.reconcile(b, prefix, this.desired(family, prefix, path));
    }
    if (seen) for (const prefix of sent.keys()) if (!seen.has(prefix)) this.reconcile(b, prefix, null);
    return b.build();
  }

  /** The session went down: the peer has nothing from us any more. */
  clear(): void {
    for (const family of ['ipv4', 'ipv6'] as const) {
      for (const e of this.sent[family].values()) this.pool.release(e);
      this.sent[family].clear();
    }
  }

  /** What was last sent for the prefix. */
  advertisedAttributes(family: Family, prefix: string): RibAttributes | undefined {
    return this.sent[family].get(prefix)?.attrs;
  }

  advertised(family: Family): number {
    return this.sent[family].size;
  }

  private desired(family: Family, prefix: string, path: Path): PoolEntry | null {
    if (this.filter !== undefined && !this.filter(prefix, path, this.target, family)) return null;
    let m = this.memo.get(path);
    if (m === undefined || m.source !== path.peer || (m.entry !== null && !m.entry.live)) {
      const attrs = exportAttributes(path, family, this.target, this.self);
      m = { source: path.peer, entry: attrs === null ? null : this.pool.intern(attrs) };
      this.memo.set(path, m);
    }
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
export function announcement(family: Family, attributes: RibAttributes, prefixes: string[]): Update {
  const { linkLocalNextHop, nextHop, ...rest } = attributes;
  if (family === 'ipv4' && (nextHop === undefined || !nextHop.includes(':'))) {
    const attrs: PathAttributes = nextHop === undefined ? rest : { ...rest, nextHop };
    return { withdrawn: [], attributes: attrs, nlri: prefixes };
  }
  const mpReach = linkLocalNextHop === undefined ? { family, nextHop: nextHop!, nlri: prefixes } : { family, nextHop: nextHop!, linkLocalNextHop, nlri: prefixes };
  return { withdrawn: [], attributes: { ...rest, mpReach }, nlri: [] };
}

/** The wire UPDATE withdrawing `prefixes`. */
export function withdrawal(family: Family, prefixes: string[]): Update {
  if (family === 'ipv4') return { withdrawn: prefixes, attributes: {}, nlri: [] };
  return { withdrawn: [], attributes: { mpUnreach: { family, withdrawn: prefixes } }, nlri: [] };
}
