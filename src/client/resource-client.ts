// Validated resource access over any Datastore (Calico's clientv3 on its backend): what
// the CLI, the agent and the lab use to read and write Calico resources. It joins src/api
// (validation) and src/datastore (storage), which know nothing of each other.
// Multi-resource writes are one all-or-nothing transaction.
import type { Datastore, StoredResource, TxnOp } from '../datastore/datastore.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { requireKind } from '../api/kinds/index.js';
import { poolOverlaps } from '../api/kinds/ip-pool.js';
import { refuseUnsupported } from '../api/refusals.js';
import type { IPPool, Resource } from '../api/types.js';
import { validateResource, validateUpdate } from '../api/validate.js';

export type WriteMode = 'apply' | 'create' | 'replace';

const OP: Record<WriteMode, TxnOp['op']> = { apply: 'upsert', create: 'create', replace: 'update' };

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export class ResourceClient {
  constructor(readonly store: Datastore) {}

  async get(kind: string, name: string): Promise<Resource | undefined> {
    return (await this.store.get(requireKind(kind).kind, name)) as Resource | undefined;
  }

  async list(kind: string): Promise<{ items: Resource[]; revision: number }> {
    const r = await this.store.list(requireKind(kind).kind);
    return { items: r.items as Resource[], revision: r.revision };
  }

  /**
   * Write validated resources together. Immutable-field rules are checked against what is
   * stored; a resourceVersion in the input turns apply into a conditional update.
   */
  async write(mode: WriteMode, resources: Resource[]): Promise<Resource[]> {
    const ops: TxnOp[] = [];
    for (const r of resources) {
      refuseUnsupported(r);
      const stored = await this.get(r.kind, r.metadata.name);
      if (stored) validateUpdate(stored, r);
      const op = r.metadata.resourceVersion && mode === 'apply' && stored ? 'update' : OP[mode];
      ops.push({ op, resource: r as StoredResource } as TxnOp);
    }
    await this.refuseOverlaps(resources);
    return (await this.store.txn(ops)) as Resource[];
  }

  /**
   * Calico refuses a new IP pool whose CIDR overlaps another pool (libcalico-go clientv3
   * ippool.go). This needs the other pools, so it is checked here, not in the pure validator.
   */
  private async refuseOverlaps(resources: Resource[]): Promise<void> {
    const pools = resources.filter((r): r is IPPool => r.kind === 'IPPool');
    if (pools.length === 0) return;
    const others = [...(await this.list('IPPool')).items as IPPool[]];
    for (const pool of pools) {
      const other = poolOverlaps(pool, others);
      if (other) {
        throw new ValidationError('spec.cidr', `${pool.spec.cidr} overlaps IPPool ${JSON.stringify(other.metadata.name)} (${other.spec.cidr}); Calico refuses overlapping pools`, `IPPool ${JSON.stringify(pool.metadata.name)}`);
      }
      others.push(pool);
    }
  }

  async delete(kind: string, name: string): Promise<Resource> {
    return (await this.deleteAll([{ kind, metadata: { name } }]))[0]!;
  }

  /** Delete all or none. The global BGPConfiguration is refused: Calico needs it to exist. */
  async deleteAll(resources: { kind: string; metadata: { name: string } }[]): Promise<Resource[]> {
    const ops = resources.map((r): TxnOp => {
      const kind = requireKind(r.kind).kind;
      if (kind === 'BGPConfiguration' && r.metadata.name === 'default') {
        throw new ValidationError('metadata.name', 'the default BGPConfiguration cannot be deleted; patch or replace it instead');
      }
      return { op: 'delete', kind, name: r.metadata.name };
    });
    return (await this.store.txn(ops)) as Resource[];
  }

  /**
   * Read-modify-write with optimistic concurrency, retried on conflict. `change` gets the
   * stored resource (or undefined) and returns the raw next version.
   */
  async modify(kind: string, name: string, change: (stored: Resource | undefined) => unknown, attempts = 20): Promise<Resource> {
    const def = requireKind(kind);
    for (let i = 0; ; i++) {
      const stored = await this.get(def.kind, name);
      const next = validateResource(change(stored));
      refuseUnsupported(next, stored);
      if (stored) validateUpdate(stored, next);
      next.metadata.resourceVersion = stored?.metadata.resourceVersion;
      try {
        const op: TxnOp = stored ? { op: 'update', resource: next as StoredResource } : { op: 'create', resource: next as StoredResource };
        const [written] = await this.store.txn([op]);
        return written as Resource;
      } catch (err) {
        const retry = err instanceof ConflictError || (err as { code?: string }).code === 'ALREADY_EXISTS';
        if (!retry || i + 1 >= attempts) throw err;
      }
    }
  }

  /** JSON merge patch of a stored resource. */
  async patch(kind: string, name: string, patch: unknown, createIfMissing = false): Promise<Resource> {
    const def = requireKind(kind);
    return this.modify(def.kind, name, (stored) => {
      if (!stored && !createIfMissing) throw new NotFoundError(def.kind, name);
      const base = stored ?? { apiVersion: 'projectcalico.org/v3', kind: def.kind, metadata: { name }, spec: {} };
      const next = mergePatch(base, patch) as Record<string, unknown>;
      return { ...next, kind: def.kind, metadata: { ...(next.metadata as object), name } };
    });
  }
}
