// Interned attribute sets. A table of a million prefixes usually has a handful of
// distinct attribute sets, so each is stored once and prefixes point at it. Entries are
// reference counted so churn (changing MEDs, AS paths) does not grow the pool forever.

import { Origin, type Family, type PathAttributes } from '../wire/index.js';
import type { RibAttributes } from './types.js';

export class PoolEntry {
  refs = 0;
  /** False once dropped from the pool; holders of a dead entry must intern again. */
  live = true;
  constructor(
    readonly key: string,
    readonly attrs: RibAttributes,
  ) {}
}

export class AttributePool {
  private readonly byKey = new Map<string, PoolEntry>();

  /** The pool's entry for attributes equal to `attrs` (which it may keep: do not mutate it afterwards). */
  intern(attrs: RibAttributes): PoolEntry {
    const key = attributeKey(attrs);
    let e = this.byKey.get(key);
    if (e === undefined) {
      e = new PoolEntry(key, Object.freeze(attrs));
      this.byKey.set(key, e);
    }
    return e;
  }

  retain(e: PoolEntry): void {
    e.refs++;
  }

  release(e: PoolEntry): void {
    if (--e.refs <= 0) this.drop(e);
  }

  /** For an interned entry nobody ended up holding. */
  dropIfUnused(e: PoolEntry): void {
    if (e.refs <= 0) this.drop(e);
  }

  get size(): number {
    return this.byKey.size;
  }

  private drop(e: PoolEntry): void {
    if (!e.live) return;
    e.live = false;
    if (this.byKey.get(e.key) === e) this.byKey.delete(e.key);
  }
}

const list = (xs: readonly unknown[] | undefined): string => (xs === undefined ? '-' : xs.join(','));

/** A string equal for equal attributes (empty lists and absent lists encode alike on the wire). */
export function attributeKey(a: RibAttributes): string {
  let k = `${a.origin ?? '-'}|${a.nextHop ?? '-'}|${a.linkLocalNextHop ?? '-'}|${a.med ?? '-'}|${a.localPref ?? '-'}|${a.atomicAggregate ? 1 : 0}|${a.originatorId ?? '-'}|`;
  if (a.asPath === undefined) k += '-';
  else for (const s of a.asPath) k += `${s.type}:${s.asns.join(',')};`;
  k += `|${a.aggregator ? `${a.aggregator.asn}@${a.aggregator.address}` : '-'}`;
  k += `|${a.communities?.length ? list(a.communities) : '-'}|${a.clusterList?.length ? list(a.clusterList) : '-'}`;
  k += `|${a.extendedCommunities?.length ? a.extendedCommunities.map((b) => b.toString('hex')).join(',') : '-'}`;
  k += `|${a.largeCommunities?.length ? a.largeCommunities.map((c) => c.join(':')).join(',') : '-'}`;
  k += `|${a.unknown?.length ? a.unknown.map((u) => `${u.type}.${u.flags}.${u.value.toString('hex')}`).join(',') : '-'}`;
  k += `|${a.partial?.length ? list(a.partial) : '-'}`;
  return k;
}

/**
 * One family's attributes from a decoded UPDATE: a shallow copy without MP_REACH and
 * MP_UNREACH (which hold the NLRI arrays we must not keep alive), with that family's
 * next hop in `nextHop`.
 */
export function ribAttributes(attrs: PathAttributes, family: Family, nextHop?: string, linkLocalNextHop?: string): RibAttributes {
  const { mpReach, mpUnreach: _unused, ...rest } = attrs;
  const out: RibAttributes = rest;
  const mp = mpReach !== undefined && mpReach.family === family ? mpReach : undefined;
  const nh = nextHop ?? mp?.nextHop ?? (family === 'ipv4' ? attrs.nextHop : undefined);
  if (nh === undefined) delete out.nextHop;
  else out.nextHop = nh;
  const ll = linkLocalNextHop ?? mp?.linkLocalNextHop;
  if (ll !== undefined) out.linkLocalNextHop = ll;
  return out;
}

/** Attributes for a locally originated route: ORIGIN IGP and an empty AS_PATH unless given. */
export function localAttributes(attrs: PathAttributes, family: Family): RibAttributes {
  const out = ribAttributes(attrs, family);
  out.origin ??= Origin.IGP;
  out.asPath ??= [];
  return out;
}
