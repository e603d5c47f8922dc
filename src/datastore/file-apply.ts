// Pure state transitions for the file backend: validate every op against the current
// state, then produce the next state. Throws before producing anything, so a failed
// txn writes nothing.
import { AlreadyExistsError, ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { StoredResource, TxnOp, WatchEvent } from './datastore.js';
import { resourceKey, type StoreState } from './file-state.js';

export interface ApplyContext {
  now(): string;
  uid(): string;
  maxEvents: number;
}

export interface ApplyResult {
  state: StoreState;
  results: StoredResource[];
}

function jsonClone<T>(value: T): T {
  // JSON round trip: what we return must equal what a later read parses back.
  return JSON.parse(JSON.stringify(value)) as T;
}

function checkIdentity(kind: unknown, name: unknown): asserts kind is string {
  if (typeof kind !== 'string' || kind === '' || kind.includes('/')) {
    throw new ValidationError('kind', 'must be a non-empty string without "/"');
  }
  if (typeof name !== 'string' || name === '') throw new ValidationError('metadata.name', 'must be a non-empty string');
}

function checkResource(r: StoredResource): void {
  if (typeof r !== 'object' || r === null) throw new ValidationError('', 'resource must be an object');
  if (typeof r.metadata !== 'object' || r.metadata === null) throw new ValidationError('metadata', 'must be an object');
  checkIdentity(r.kind, r.metadata.name);
}

function opKey(op: TxnOp): string {
  if (typeof op !== 'object' || op === null) throw new ValidationError('', 'txn op must be an object');
  if (op.op === 'delete') {
    checkIdentity(op.kind, op.name);
    return resourceKey(op.kind, op.name);
  }
  if (op.op !== 'create' && op.op !== 'update' && op.op !== 'upsert') {
    throw new ValidationError('op', `unknown txn op ${JSON.stringify((op as { op: unknown }).op)}`);
  }
  checkResource(op.resource);
  return resourceKey(op.resource.kind, op.resource.metadata.name);
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

    if (op.op === 'delete') {
      if (!stored) throw new NotFoundError(op.kind, op.name);
      checkVersion(op.kind, op.name, op.resourceVersion, stored);
      delete resources[key];
      events.push({ type: 'delete', revision, kind: op.kind, name: op.name, previous: stored });
      results.push(stored);
      continue;
    }

    const { kind, metadata } = op.resource;
    if (op.op === 'create' && stored) throw new AlreadyExistsError(kind, metadata.name);
    if (op.op === 'update') {
      if (!stored) throw new NotFoundError(kind, metadata.name);
      checkVersion(kind, metadata.name, metadata.resourceVersion, stored);
    }
    const next = jsonClone(op.resource);
    next.metadata.resourceVersion = rv;
    // Identity and birth time belong to the store, not to the writer.
    next.metadata.uid = stored ? stored.metadata.uid : ctx.uid();
    next.metadata.creationTimestamp = stored ? stored.metadata.creationTimestamp : ctx.now();
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

function checkVersion(kind: string, name: string, expected: string | undefined, stored: StoredResource): void {
  if (expected === undefined || expected === null) return;
  const actual = stored.metadata.resourceVersion ?? '';
  if (String(expected) !== actual) throw new ConflictError(kind, name, String(expected), actual);
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
