// The RIB the speaker drives: one Adj-RIB-In per peer (plus 'local' for our own routes)
// feeding one Loc-RIB. Every call that can change a best path returns the diff; nothing
// here does I/O, keeps time or logs. The speaker calls markStale/sweepStale when its
// graceful-restart timers say so.

import { routeChanges, WellKnownCommunity, type DecodedUpdate, type Family, type PathAttributes } from '../wire/index.js';
import { AdjRibIn, type StoredPath } from './adj-rib-in.js';
import { AttributePool, localAttributes, ribAttributes, type PoolEntry } from './attribute-pool.js';
import { importRejection, type ImportRejection } from './import-checks.js';
import { LocRib } from './loc-rib.js';
import {
  DEFAULT_LOCAL_PREF,
  LOCAL_PEER_ID,
  type BestPathChange,
  type ImportPolicy,
  type LocalSource,
  type Path,
  type PeerDescriptor,
  type RibAttributes,
  type RibOptions,
  type RibUpdate,
} from './types.js';

const NONE: readonly Path[] = [];
const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];

interface PeerState {
  readonly adj: AdjRibIn;
  policy: ImportPolicy | undefined;
}

/** The removals and additions one UPDATE makes to one prefix. */
interface PrefixOps {
  removes: StoredPath[];
  adds: StoredPath[];
}

function append<T>(out: T[], items: readonly T[]): void {
  for (const x of items) out.push(x);
}

const filterKey = (prefix: string, pathId: number): string => (pathId === 0 ? prefix : `${prefix}#${pathId}`);

/** Fields that decide best-path selection; when they change, selection runs again. */
function selectionChanged(a: PeerDescriptor, b: PeerDescriptor): boolean {
  return (
    a.address !== b.address ||
    a.asn !== b.asn ||
    a.localAsn !== b.localAsn ||
    a.routerId !== b.routerId ||
    a.type !== b.type ||
    a.defaultLocalPref !== b.defaultLocalPref
  );
}

export class Rib {
  readonly options: RibOptions;
  private readonly pool = new AttributePool();
  private readonly loc = new LocRib();
  private readonly peers = new Map<string, PeerState>();
  private readonly local: AdjRibIn;

  constructor(options: RibOptions) {
    this.options = { ...options };
    const source: LocalSource = {
      id: LOCAL_PEER_ID,
      address: '',
      asn: options.localAsn,
      localAsn: options.localAsn,
      routerId: options.routerId,
      type: 'local',
      rrClient: false,
    };
    this.local = new AdjRibIn(source, this.pool);
  }

  /**
   * Adds a peer or updates its description (a new session's router id, a changed
   * policy). The policy applies to UPDATEs from now on; to apply it to routes already
   * held, the speaker asks the peer for a ROUTE-REFRESH.
   */
  setPeer(descriptor: PeerDescriptor, importPolicy?: ImportPolicy): BestPathChange[] {
    if (descriptor.id === LOCAL_PEER_ID) throw new RangeError(`peer id '${LOCAL_PEER_ID}' is reserved for local routes`);
    const peer: PeerDescriptor = {
      ...descriptor,
      // Calico: never mark an eBGP peer as a route-reflector client.
      rrClient: descriptor.type === 'ibgp' && descriptor.rrClient,
      defaultLocalPref: descriptor.type === 'ebgp' ? (descriptor.defaultLocalPref ?? this.options.defaultLocalPref ?? DEFAULT_LOCAL_PREF) : descriptor.defaultLocalPref,
    };
    const st = this.peers.get(peer.id);
    if (st === undefined) {
      this.peers.set(peer.id, { adj: new AdjRibIn(peer, this.pool), policy: importPolicy });
      return [];
    }
    const before = st.adj.peer as PeerDescriptor;
    st.adj.peer = peer;
    st.policy = importPolicy;
    const out: BestPathChange[] = [];
    if (!selectionChanged(before, peer)) return out;
    for (const family of FAMILIES) {
      let last: string | undefined;
      for (const [prefix] of st.adj.entries(family)) {
        if (prefix === last) continue;
        last = prefix;
        const c = this.loc.reselect(family, prefix);
        if (c) out.push(c);
      }
    }
    return out;
  }

  peer(peerId: string): PeerDescriptor | undefined {
    return this.peers.get(peerId)?.adj.peer as PeerDescriptor | undefined;
  }

  /** One decoded UPDATE from the peer, all families (RFC 7606 treat-as-withdraw applied). */
  applyUpdate(peerId: string, update: DecodedUpdate): BestPathChange[] {
    const out: BestPathChange[] = [];
    for (const c of routeChanges(update)) append(out, this.update(peerId, { ...c, attributes: update.attributes }));
    return out;
  }

  /**
   * One family's announcements and withdrawals from a peer. An announcement replaces the
   * peer's path with the same path id; a rejected one (loop, semantic error, import
   * policy) withdraws it. `rejected` hears why import checks refused the announcements.
   */
  update(peerId: string, change: RibUpdate, rejected?: (reason: ImportRejection, prefixes: number) => void): BestPathChange[] {
    const st = this.state(peerId);
    const { adj } = st;
    const peer = adj.peer as PeerDescriptor;
    const { family, announced, withdrawn, announcedPathIds: aIds, withdrawnPathIds: wIds } = change;
    const filtered = adj.filtered[family];
    const out: BestPathChange[] = [];
    // Several operations on one prefix (add-path ids) are merged into one change.
    const ops = aIds !== undefined || wIds !== undefined ? new Map<string, PrefixOps>() : undefined;
    const touch = (prefix: string, old: StoredPath | undefined, next: StoredPath | undefined): void => {
      if (old === next) return;
      if (ops === undefined) {
        const c = this.loc.replace(family, prefix, old, next);
        if (c) out.push(c);
        return;
      }
      let op = ops.get(prefix);
      if (op === undefined) ops.set(prefix, (op = { removes: [], adds: [] }));
      if (old) {
        const i = op.adds.indexOf(old);
        if (i >= 0) op.adds.splice(i, 1);
        else op.removes.push(old);
      }
      if (next) op.adds.push(next);
    };

    // The same prefix withdrawn and announced: the announcement replaces it, without a flap.
    let reannounced: Set<string> | undefined;
    if (withdrawn.length > 0 && announced.length > 0) {
      reannounced = new Set(announced.map((p, i) => filterKey(p, aIds?.[i] ?? 0)));
    }
    for (let i = 0; i < withdrawn.length; i++) {
      const prefix = withdrawn[i]!;
      const id = wIds?.[i] ?? 0;
      const key = filterKey(prefix, id);
      if (reannounced?.has(key)) continue;
      if (filtered.size > 0) filtered.delete(key);
      touch(prefix, adj.delete(family, prefix, id), undefined);
    }

    if (announced.length > 0) {
      const base = ribAttributes(change.attributes, family, change.nextHop, change.linkLocalNextHop);
      if (peer.type === 'ebgp') {
        // RFC 4456 §8 / RFC 7606 §7.9: these never come from outside the AS.
        delete base.originatorId;
        delete base.clusterList;
      }
      const why = importRejection(base, peer, this.options);
      if (why !== undefined) rejected?.(why, announced.length);
      const entry = why === undefined ? this.pool.intern(base) : undefined;
      // Held for the loop so a withdrawal inside it cannot drop entries still in use.
      const held: PoolEntry[] = [];
      const hold = (e: PoolEntry): PoolEntry => {
        this.pool.retain(e);
        held.push(e);
        return e;
      };
      if (entry) hold(entry);
      const created: StoredPath[] = [];
      let policyIn: RibAttributes | undefined;
      let policyOut: PoolEntry | undefined;
      for (let i = 0; i < announced.length; i++) {
        const prefix = announced[i]!;
        const id = aIds?.[i] ?? 0;
        let e = entry;
        if (e !== undefined && st.policy !== undefined) {
          const d = st.policy(prefix, e.attrs, peer, family);
          if (d === 'reject') e = undefined;
          else if (d !== 'accept' && d !== e.attrs) {
            // Policies usually return one object for many prefixes: intern it once.
            if (d !== policyIn) {
              policyIn = d;
              policyOut = hold(this.pool.intern({ ...d }));
            }
            e = policyOut;
          }
        }
        const key = filterKey(prefix, id);
        if (e === undefined) {
          filtered.add(key);
          touch(prefix, adj.delete(family, prefix, id), undefined);
          continue;
        }
        if (filtered.size > 0) filtered.delete(key);
        const path = adj.pathFor(family, e, id);
        if (path.refs === 0) created.push(path);
        touch(prefix, adj.set(family, prefix, path), path);
      }
      for (const p of created) adj.dropIfUnused(p);
      for (const e of held) this.pool.release(e);
    }

    if (ops) {
      for (const [prefix, op] of ops) {
        const c = this.loc.apply(family, prefix, op.removes, op.adds);
        if (c) out.push(c);
      }
    }
    return out;
  }

  /** Originates (or changes) local routes with these attributes (ORIGIN IGP and empty AS_PATH by default). */
  originate(family: Family, prefixes: readonly string[], attributes: PathAttributes): BestPathChange[] {
    const out: BestPathChange[] = [];
    const entry = this.pool.intern(localAttributes(attributes, family));
    this.pool.retain(entry);
    const path = this.local.pathFor(family, entry, 0);
    for (const prefix of prefixes) {
      const old = this.local.set(family, prefix, path);
      if (old === path) continue;
      const c = this.loc.apply(family, prefix, old ? [old] : NONE, [path]);
      if (c) out.push(c);
    }
    this.local.dropIfUnused(path);
    this.pool.release(entry);
    return out;
  }

  withdrawOriginated(family: Family, prefixes: readonly string[]): BestPathChange[] {
    const out: BestPathChange[] = [];
    for (const prefix of prefixes) {
      const old = this.local.delete(family, prefix, 0);
      if (old === undefined) continue;
      const c = this.loc.apply(family, prefix, [old], NONE);
      if (c) out.push(c);
    }
    return out;
  }

  /** Declarative form: the family's local routes become exactly `routes` (prefix → attributes). */
  setOriginated(family: Family, routes: ReadonlyMap<string, PathAttributes>): BestPathChange[] {
    const gone: string[] = [];
    for (const [prefix] of this.local.entries(family)) if (!routes.has(prefix)) gone.push(prefix);
    const out = this.withdrawOriginated(family, gone);
    const byAttrs = new Map<PathAttributes, string[]>();
    for (const [prefix, attrs] of routes) {
      const list = byAttrs.get(attrs);
      if (list) list.push(prefix);
      else byAttrs.set(attrs, [prefix]);
    }
    for (const [attrs, prefixes] of byAttrs) append(out, this.originate(family, prefixes, attrs));
    return out;
  }

  /** Graceful restart (receiver): the peer's session went down; keep its paths, marked stale. */
  markStale(peerId: string, families: readonly Family[]): void {
    const { adj } = this.state(peerId);
    for (const f of families) adj.markStale(f);
  }

  /**
   * Long-lived graceful restart (RFC 9494 §4.2), when the restart time is over: the peer's
   * stale paths of the family stay with the LLGR_STALE community added, which makes them
   * least preferred (best-path.ts) and keeps them from peers without LLGR
   * (export-policy.ts); paths with NO_LLGR go instead.
   */
  longLivedStale(peerId: string, family: Family): BestPathChange[] {
    const { adj } = this.state(peerId);
    const out: BestPathChange[] = [];
    const rewrite = (p: StoredPath): PoolEntry | null => {
      const c = p.attributes.communities;
      if (c?.includes(WellKnownCommunity.NO_LLGR)) return null;
      if (c?.includes(WellKnownCommunity.LLGR_STALE)) return p.entry;
      return this.pool.intern({ ...p.attributes, communities: [...(c ?? []), WellKnownCommunity.LLGR_STALE] });
    };
    adj.toLongLived(family, rewrite, (prefix, old, next) => {
      const c = this.loc.replace(family, prefix, old, next);
      if (c) out.push(c);
    });
    return out;
  }

  /** End-of-RIB from the restarted peer, or its restart/stale timer expired: drop what it did not refresh. */
  sweepStale(peerId: string, family: Family): BestPathChange[] {
    const { adj } = this.state(peerId);
    const out: BestPathChange[] = [];
    const removed = this.collector(family, out);
    adj.sweepStale(family, removed.add);
    removed.flush();
    return out;
  }

  /** The session is gone (without graceful restart): withdraw everything it sent, or only `families`. */
  removePeer(peerId: string, families?: readonly Family[]): BestPathChange[] {
    const st = this.peers.get(peerId);
    if (st === undefined) return [];
    const out: BestPathChange[] = [];
    for (const family of families ?? FAMILIES) {
      const removed = this.collector(family, out);
      st.adj.clear(family, removed.add);
      removed.flush();
    }
    if (families === undefined) this.peers.delete(peerId);
    return out;
  }

  best(family: Family, prefix: string): Path | undefined {
    return this.loc.best(family, prefix);
  }

  multipath(family: Family, prefix: string): readonly Path[] {
    return this.loc.multipath(family, prefix);
  }

  /** Every candidate path for the prefix, in no particular order. */
  candidates(family: Family, prefix: string): readonly Path[] {
    return this.loc.paths(family, prefix);
  }

  /** (prefix, best path) for every prefix: the source of an initial dump to a new peer. */
  bestPaths(family: Family): IterableIterator<[string, Path]> {
    return this.loc.bestPaths(family);
  }

  /** (prefix, ECMP set) for every prefix: a full dataplane resync. */
  multipaths(family: Family): IterableIterator<[string, readonly Path[]]> {
    return this.loc.multipaths(family);
  }

  prefixCount(family: Family): number {
    return this.loc.size(family);
  }

  /** Paths accepted from the peer (prefixes × path ids). */
  accepted(peerId: string, family: Family): number {
    return this.peers.get(peerId)?.adj.count(family) ?? 0;
  }

  /** The peer has an accepted path for the prefix (with this path id). */
  holds(peerId: string, family: Family, prefix: string, pathId = 0): boolean {
    return this.peers.get(peerId)?.adj.get(family, prefix, pathId) !== undefined;
  }

  /** Accepted plus rejected by import policy or loop checks. */
  received(peerId: string, family: Family): number {
    const adj = this.peers.get(peerId)?.adj;
    return adj ? adj.count(family) + adj.filtered[family].size : 0;
  }

  /** Distinct attribute sets held (for metrics and the memory test). */
  get attributeSets(): number {
    return this.pool.size;
  }

  private state(peerId: string): PeerState {
    const st = this.peers.get(peerId);
    if (st === undefined) throw new RangeError(`unknown peer ${JSON.stringify(peerId)}: call setPeer first`);
    return st;
  }

  /** Gathers removed paths; consecutive ones of one prefix (add-path) become one change. */
  private collector(family: Family, out: BestPathChange[]): { add: (prefix: string, path: StoredPath) => void; flush: () => void } {
    let prefix: string | undefined;
    let removes: StoredPath[] = [];
    const flush = (): void => {
      if (prefix === undefined) return;
      const c = this.loc.apply(family, prefix, removes, NONE);
      if (c) out.push(c);
      prefix = undefined;
      removes = [];
    };
    const add = (p: string, path: StoredPath): void => {
      if (p !== prefix) flush();
      prefix = p;
      removes.push(path);
    };
    return { add, flush };
  }
}
