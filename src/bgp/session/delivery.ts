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

export interface UpdateEvent {
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

function entries(prefixes: string[], ids: number[] | undefined): PrefixEntry[] {
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

export function updateEvent(u: DecodedUpdate, families: readonly Family[]): BuiltUpdate {
  const ev: UpdateEvent = { announced: {}, withdrawn: {}, nextHops: {}, attributes: { ...u.attributes } };
  delete ev.attributes.mpReach;
  delete ev.attributes.mpUnreach;
  if (u.treatAsWithdraw) ev.treatAsWithdraw = u.treatAsWithdraw.message;
  if (u.discarded.length > 0) ev.discarded = u.discarded.map((e) => e.message);
  const out: BuiltUpdate = { event: undefined, announced: 0, withdrawn: 0, ignored: [] };
  for (const c of routeChanges(u)) {
    if (!families.includes(c.family)) {
      out.ignored.push(c.family);
      continue;
    }
    if (c.announced.length > 0) {
      ev.announced[c.family] = entries(c.announced, c.announcedPathIds);
      out.announced += c.announced.length;
      if (c.nextHop !== undefined) {
        ev.nextHops[c.family] = c.linkLocalNextHop ? { nextHop: c.nextHop, linkLocalNextHop: c.linkLocalNextHop } : { nextHop: c.nextHop };
      }
    }
    if (c.withdrawn.length > 0) {
      ev.withdrawn[c.family] = entries(c.withdrawn, c.withdrawnPathIds);
      out.withdrawn += c.withdrawn.length;
    }
  }
  if (out.announced + out.withdrawn > 0) out.event = ev;
  return out;
}
