// What the owner of a session receives: plain events built from decoded messages,
// with RFC 7606 outcomes already applied (treat-as-withdraw arrives as withdrawals).

import { routeChanges, type DecodedUpdate, type Family, type PathAttributes } from '../wire/index.js';
import type { State } from './fsm.js';
import type { LastNotification, NegotiatedInfo } from './status.js';

export interface PrefixEntry {
  prefix: string;
  /** RFC 7911 path identifier, when add-path is negotiated for the family. */
  pathId?: number;
}

/** One family's prefixes of an UPDATE as decoded: arrays, no object per prefix. */
export interface FamilyPrefixes {
  announced: readonly string[];
  /** RFC 7911 path identifiers of `announced`, when add-path is negotiated. */
  announcedPathIds?: readonly number[];
  withdrawn: readonly string[];
  withdrawnPathIds?: readonly number[];
}

export interface UpdateEvent {
  /** The prefixes per family as arrays (what the RIB takes); `announced`/`withdrawn` are the same as entries. */
  prefixes: Partial<Record<Family, FamilyPrefixes>>;
  announced: Partial<Record<Family, PrefixEntry[]>>;
  withdrawn: Partial<Record<Family, PrefixEntry[]>>;
  /** Next hop of the announced prefixes per family (from NEXT_HOP or MP_REACH_NLRI). */
  nextHops: Partial<Record<Family, { nextHop: string; linkLocalNextHop?: string }>>;
  /** Path attributes of the announced prefixes, without MP_REACH/MP_UNREACH (their content is above). */
  attributes: PathAttributes;
  /** RFC 7606 treat-as-withdraw: why the UPDATE's announcements arrive as withdrawals. */
  treatAsWithdraw?: string;
  /** RFC 7606 attribute-discard: what was dropped. */
  discarded?: string[];
}

export interface DownEvent {
  reason: string;
  /** BIRD-style text, as in status().lastError. */
  error?: string;
  /** The NOTIFICATION that ended the session, sent or received. */
  notification?: LastNotification;
  wasEstablished: boolean;
}

export interface SessionHandlers {
  onUpdate(update: UpdateEvent): void;
  onEndOfRib(family: Family): void;
  onRouteRefresh(family: Family): void;
  onEstablished(negotiated: NegotiatedInfo): void;
  onDown(down: DownEvent): void;
  onStateChange(change: { from: State; to: State; reason: string }): void;
}

function entries(prefixes: readonly string[], ids: readonly number[] | undefined): PrefixEntry[] {
  return prefixes.map((prefix, i) => (ids ? { prefix, pathId: ids[i]! } : { prefix }));
}

export interface BuiltUpdate {
  /** Undefined when nothing in a negotiated family was announced or withdrawn. */
  event: UpdateEvent | undefined;
  announced: number;
  withdrawn: number;
  /** Families present in the UPDATE but not negotiated (their routes are ignored). */
  ignored: Family[];
}

function entriesOf(prefixes: Partial<Record<Family, FamilyPrefixes>>, side: 'announced' | 'withdrawn'): Partial<Record<Family, PrefixEntry[]>> {
  const out: Partial<Record<Family, PrefixEntry[]>> = {};
  for (const f of Object.keys(prefixes) as Family[]) {
    const p = prefixes[f]!;
    const list = p[side];
    if (list.length > 0) out[f] = entries(list, side === 'announced' ? p.announcedPathIds : p.withdrawnPathIds);
  }
  return out;
}

/**
 * The event as handlers see it. The RIB reads `prefixes`; the per-prefix entries are
 * built only when something asks for them (tests, diagnostics), not per UPDATE.
 */
class Event implements UpdateEvent {
  prefixes: Partial<Record<Family, FamilyPrefixes>> = {};
  nextHops: UpdateEvent['nextHops'] = {};
  declare treatAsWithdraw?: string;
  declare discarded?: string[];
  constructor(public attributes: PathAttributes) {}

  get announced(): Partial<Record<Family, PrefixEntry[]>> {
    return entriesOf(this.prefixes, 'announced');
  }

  get withdrawn(): Partial<Record<Family, PrefixEntry[]>> {
    return entriesOf(this.prefixes, 'withdrawn');
  }

  toJSON(): object {
    return { ...this, announced: this.announced, withdrawn: this.withdrawn };
  }
}

export function updateEvent(u: DecodedUpdate, families: readonly Family[]): BuiltUpdate {
  const attributes = { ...u.attributes };
  delete attributes.mpReach;
  delete attributes.mpUnreach;
  const ev = new Event(attributes);
  if (u.treatAsWithdraw) ev.treatAsWithdraw = u.treatAsWithdraw.message;
  if (u.discarded.length > 0) ev.discarded = u.discarded.map((e) => e.message);
  const out: BuiltUpdate = { event: undefined, announced: 0, withdrawn: 0, ignored: [] };
  for (const c of routeChanges(u)) {
    if (!families.includes(c.family)) {
      out.ignored.push(c.family);
      continue;
    }
    if (c.announced.length === 0 && c.withdrawn.length === 0) continue;
    const p: FamilyPrefixes = { announced: c.announced, withdrawn: c.withdrawn };
    if (c.announced.length > 0) {
      if (c.announcedPathIds) p.announcedPathIds = c.announcedPathIds;
      out.announced += c.announced.length;
      if (c.nextHop !== undefined) {
        ev.nextHops[c.family] = c.linkLocalNextHop ? { nextHop: c.nextHop, linkLocalNextHop: c.linkLocalNextHop } : { nextHop: c.nextHop };
      }
    }
    if (c.withdrawn.length > 0) {
      if (c.withdrawnPathIds) p.withdrawnPathIds = c.withdrawnPathIds;
      out.withdrawn += c.withdrawn.length;
    }
    ev.prefixes[c.family] = p;
  }
  if (out.announced + out.withdrawn > 0) out.event = ev;
  return out;
}
