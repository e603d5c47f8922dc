// What every backend (file:, etcd:) does alike with a batch of TxnOps: the shape and
// identity checks of one op, its check against what is stored under its key, the copy
// a write stores, and create/update/delete as one-op transactions. The backends differ
// only in where the state lives and what the stored version is.
import { AlreadyExistsError, ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { Datastore, ListResult, StoredMetadata, StoredResource, TxnOp, Watcher, WatchOptions } from './datastore.js';

export function checkIdentity(kind: unknown, name: unknown): asserts kind is string {
  // Kinds never contain "/", so PREFIX<Kind>/<name> parses back unambiguously.
  if (typeof kind !== 'string' || kind === '' || kind.includes('/')) {
    throw new ValidationError('kind', 'must be a non-empty string without "/"');
  }
  if (typeof name !== 'string' || name === '') throw new ValidationError('metadata.name', 'must be a non-empty string');
}

/** JSON round trip: what a write returns must equal what a later read parses back. */
export function jsonClone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Validates the shape of one op and returns the kind and name it touches. */
export function txnOpIdentity(op: TxnOp): { kind: string; name: string } {
  if (typeof op !== 'object' || op === null) throw new ValidationError('', 'txn op must be an object');
  if (op.op === 'delete') {
    checkIdentity(op.kind, op.name);
    return { kind: op.kind, name: op.name };
  }
  if (op.op !== 'create' && op.op !== 'update' && op.op !== 'upsert') {
    throw new ValidationError('op', `unknown txn op ${JSON.stringify((op as { op: unknown }).op)}`);
  }
  const r = op.resource;
  if (typeof r !== 'object' || r === null) throw new ValidationError('', 'resource must be an object');
  if (typeof r.metadata !== 'object' || r.metadata === null) throw new ValidationError('metadata', 'must be an object');
  checkIdentity(r.kind, r.metadata.name);
  return { kind: r.kind, name: r.metadata.name };
}

/**
 * Checks one op against what is stored under its key: `storedVersion` is the stored
 * resource's version, undefined when there is none. Throws NotFoundError,
 * AlreadyExistsError or ConflictError.
 */
export function checkTxnOp(op: TxnOp, storedVersion: string | undefined): void {
  if (op.op === 'delete') {
    if (storedVersion === undefined) throw new NotFoundError(op.kind, op.name);
    checkVersion(op.kind, op.name, op.resourceVersion, storedVersion);
    return;
  }
  const { kind, metadata } = op.resource;
  if (op.op === 'create' && storedVersion !== undefined) throw new AlreadyExistsError(kind, metadata.name);
  if (op.op === 'update') {
    if (storedVersion === undefined) throw new NotFoundError(kind, metadata.name);
    checkVersion(kind, metadata.name, metadata.resourceVersion, storedVersion);
  }
}

function checkVersion(kind: string, name: string, expected: string | undefined, actual: string): void {
  if (expected === undefined || expected === null) return;
  if (String(expected) !== actual) throw new ConflictError(kind, name, String(expected), actual);
}

/**
 * The copy of a written resource the store keeps: its resourceVersion set (or removed,
 * when undefined), and the uid and creationTimestamp of the stored one, or new ones.
 * Identity and birth time belong to the store, not to the writer.
 */
export function storedCopy(
  resource: StoredResource,
  resourceVersion: string | undefined,
  stored: StoredMetadata | undefined,
  ctx: { now(): string; uid(): string },
): StoredResource {
  const next = jsonClone(resource);
  if (resourceVersion === undefined) delete next.metadata.resourceVersion;
  else next.metadata.resourceVersion = resourceVersion;
  next.metadata.uid = stored ? stored.uid : ctx.uid();
  next.metadata.creationTimestamp = stored ? stored.creationTimestamp : ctx.now();
  return next;
}

/** A Datastore whose single writes are one-op transactions. */
export abstract class TxnDatastore implements Datastore {
  abstract get(kind: string, name: string): Promise<StoredResource | undefined>;
  abstract list(kind?: string): Promise<ListResult>;
  abstract txn(ops: TxnOp[]): Promise<StoredResource[]>;
  abstract watch(options: WatchOptions): Watcher;
  abstract close(): Promise<void>;

  async create(resource: StoredResource): Promise<StoredResource> {
    return (await this.txn([{ op: 'create', resource }]))[0]!;
  }

  async update(resource: StoredResource): Promise<StoredResource> {
    return (await this.txn([{ op: 'update', resource }]))[0]!;
  }

  async delete(kind: string, name: string, resourceVersion?: string): Promise<StoredResource> {
    const op: TxnOp = resourceVersion === undefined ? { op: 'delete', kind, name } : { op: 'delete', kind, name, resourceVersion };
    return (await this.txn([op]))[0]!;
  }
}
