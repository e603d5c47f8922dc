// Pure state transitions for the file backend: validate every op against the current
// state, then produce the next state. Throws before producing anything, so a failed
// txn writes nothing.
import { ValidationError } from '../errors.js';
import type { StoredResource, TxnOp, WatchEvent } from './datastore.js';
import { resourceKey, type StoreState } from './file-state.js';
import { checkTxnOp, storedCopy, txnOpIdentity } from './txn-ops.js';

export interface ApplyContext {
  now(): string;
  uid(): string;
  maxEvents: number;
}

export interface ApplyResult {
  state: StoreState;
  results: StoredResource[];
}

function opKey(op: TxnOp): string {
  const { kind, name } = txnOpIdentity(op);
  return resourceKey(kind, name);
}

export function applyOps(prev: StoreState, ops: TxnOp[], ctx: ApplyContext): ApplyResult {
  const revision = prev.revision + 1;
  const rv = String(revision);
  // Copy-on-write: `prev` may be a cached state shared with readers.
  const resources = { ...prev.resources };
  const events: WatchEvent[] = [];
  const results: StoredResource[] = [];
  const seen = new Set<string>();

  for (const op of ops) {
    const key = opKey(op);
    // Like etcd, one txn touches a key once: the outcome never depends on op order.
    if (seen.has(key)) throw new ValidationError('', `txn touches ${key} more than once`);
    seen.add(key);
    const stored = prev.resources[key];
    checkTxnOp(op, stored ? stored.metadata.resourceVersion ?? '' : undefined);

    if (op.op === 'delete') {
      delete resources[key];
      events.push({ type: 'delete', revision, kind: op.kind, name: op.name, previous: stored });
      results.push(stored!);
      continue;
    }

    const { kind, metadata } = op.resource;
    const next = storedCopy(op.resource, rv, stored?.metadata, ctx);
    resources[key] = next;
    events.push(
      stored
        ? { type: 'put', revision, kind, name: metadata.name, resource: next, previous: stored }
        : { type: 'put', revision, kind, name: metadata.name, resource: next },
    );
    results.push(next);
  }

  const trimmed = trimEvents([...prev.events, ...events], prev.compactRevision, ctx.maxEvents);
  return {
    state: { formatVersion: prev.formatVersion, revision, compactRevision: trimmed.compactRevision, resources, events: trimmed.events },
    results,
  };
}

/**
 * Keeps about the last `max` events. Cuts only between revisions (so a watcher is never
 * handed half a txn) and never drops the newest revision, even if it alone exceeds `max`.
 */
export function trimEvents(events: WatchEvent[], compactRevision: number, max: number): { events: WatchEvent[]; compactRevision: number } {
  if (events.length <= max) return { events, compactRevision };
  let cut = events.length - max;
  const newest = events[events.length - 1]!.revision;
  let dropRev = events[cut - 1]!.revision;
  if (dropRev === newest) {
    while (cut > 0 && events[cut - 1]!.revision === newest) cut--;
    if (cut === 0) return { events, compactRevision };
    dropRev = events[cut - 1]!.revision;
  } else {
    while (cut < events.length && events[cut]!.revision === dropRev) cut++;
  }
  return { events: events.slice(cut), compactRevision: Math.max(compactRevision, dropRev) };
}
