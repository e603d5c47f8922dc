// Turns a batch of TxnOps into one etcd transaction. Pure: the datastore reads a
// snapshot of the keys, `planTxn` checks every op against it (throwing the error the
// file backend would throw for the first failing op) and builds the writes, each guarded
// by a compare that the key is still as it was in the snapshot. If etcd rejects the
// compares, someone wrote in between: read again and plan again.
import { CompareResult, CompareTarget, type ICompare, type IKeyValue, type IRequestOp } from 'etcd3';
import { ValidationError } from '../errors.js';
import type { StoredResource, TxnOp } from './datastore.js';
import { decodeValue, encodeValue, jsonClone, type KeyCodec } from './etcd-codec.js';
import { checkTxnOp, storedCopy, txnOpIdentity } from './txn-ops.js';

export interface SnapshotEntry {
  modRevision: number;
  raw: string;
  resource: StoredResource;
}

/** Current state of the txn's keys, read at one revision; undefined = absent. */
export type Snapshot = Map<string, SnapshotEntry | undefined>;

export function snapshotEntry(kv: IKeyValue): SnapshotEntry {
  return { modRevision: Number(kv.mod_revision), raw: kv.value.toString('utf8'), resource: decodeValue(kv) };
}

type Write = { key: string; type: 'put'; value: string; resource: StoredResource } | { key: string; type: 'delete'; previous: StoredResource };

export interface TxnPlan {
  compares: ICompare[];
  requests: IRequestOp[];
  writes: Write[];
}

/** Validates the ops and returns their keys, in order. Each key at most once, as in etcd. */
export function txnKeys(ops: TxnOp[], codec: KeyCodec): string[] {
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const op of ops) {
    const { kind, name } = txnOpIdentity(op);
    const key = codec.key(kind, name);
    if (seen.has(key)) throw new ValidationError('', `txn touches ${key.slice(codec.prefix.length)} more than once`);
    seen.add(key);
    keys.push(key);
  }
  return keys;
}

export function planTxn(ops: TxnOp[], keys: string[], snap: Snapshot, ctx: { now(): string; uid(): string }): TxnPlan {
  const plan: TxnPlan = { compares: [], requests: [], writes: [] };
  ops.forEach((op, i) => {
    const key = keys[i]!;
    const stored = snap.get(key);
    const keyBuf = Buffer.from(key);
    // The key must still be exactly what we checked against.
    plan.compares.push(
      stored
        ? { key: keyBuf, target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: stored.modRevision }
        : { key: keyBuf, target: CompareTarget.Create, result: CompareResult.Equal, create_revision: 0 },
    );
    checkTxnOp(op, stored ? String(stored.modRevision) : undefined);
    if (op.op === 'delete') {
      plan.requests.push({ request_delete_range: { key: keyBuf } });
      plan.writes.push({ key, type: 'delete', previous: stored!.resource });
      return;
    }
    // The version is etcd's mod_revision, not part of the value.
    const next = storedCopy(op.resource, undefined, stored?.resource.metadata, ctx);
    const value = encodeValue(next);
    plan.requests.push({ request_put: { key: keyBuf, value: Buffer.from(value) } });
    plan.writes.push({ key, type: 'put', value, resource: next });
  });
  return plan;
}

/** What txn() returns once the plan was committed at `revision`. */
export function planResults(plan: TxnPlan, revision: number): StoredResource[] {
  return plan.writes.map((w) => {
    if (w.type === 'delete') return jsonClone(w.previous);
    const r = jsonClone(w.resource);
    r.metadata.resourceVersion = String(revision);
    return r;
  });
}

/**
 * After a write whose outcome is unknown (the answer was lost), decides from a fresh
 * snapshot whether it was applied: every put's exact value is there, all at one revision
 * (creates carry a fresh uid, so this is conclusive for them), and every deleted key is
 * gone. Returns the results if so.
 */
export function recognise(plan: TxnPlan, snap: Snapshot): StoredResource[] | undefined {
  let revision = 0;
  for (const w of plan.writes) {
    const now = snap.get(w.key);
    if (w.type === 'delete') {
      if (now) return undefined;
      continue;
    }
    if (!now || now.raw !== w.value || (revision !== 0 && now.modRevision !== revision)) return undefined;
    revision = now.modRevision;
  }
  return planResults(plan, revision);
}
