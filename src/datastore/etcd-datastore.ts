// The `etcd:` backend. One key per resource (PREFIX<Kind>/<name>, value JSON); etcd's
// mod_revision is metadata.resourceVersion and its store revision is the list revision.
// Every write, single or batched, is one etcd transaction guarded by compares, so two
// writers can never both win (see etcd-txn.ts); watching is in etcd-watch.ts.
import { randomUUID } from 'node:crypto';
import { DatastoreError } from '../errors.js';
import type { Datastore, ListResult, StoredResource, TxnOp, Watcher, WatchOptions } from './datastore.js';
import { isTransient, sleep, EtcdConnection } from './etcd-client.js';
import { KeyCodec, checkIdentity, decodeValue } from './etcd-codec.js';
import { resolveEtcdOptions, type EtcdDatastoreOptions } from './etcd-options.js';
import { planResults, planTxn, recognise, snapshotEntry, txnKeys, type Snapshot, type TxnPlan } from './etcd-txn.js';
import { EtcdWatch } from './etcd-watch.js';
import { TxnDatastore } from './txn-ops.js';

export type { EtcdDatastoreOptions } from './etcd-options.js';

/** Rounds of "someone wrote in between, plan again" before giving up. */
const MAX_TXN_ROUNDS = 100;

export class EtcdDatastore extends TxnDatastore implements Datastore {
  private readonly conn: EtcdConnection;
  private readonly codec: KeyCodec;
  private readonly watchers = new Set<EtcdWatch>();
  private closed = false;

  constructor(options: EtcdDatastoreOptions) {
    super();
    const opts = resolveEtcdOptions(options);
    this.conn = new EtcdConnection(opts);
    this.codec = new KeyCodec(opts.prefix);
  }

  /** Connects and checks that etcd answers, so a wrong URI or credentials fail here. */
  static async open(options: EtcdDatastoreOptions): Promise<EtcdDatastore> {
    const ds = new EtcdDatastore(options);
    try {
      const scope = ds.codec.scope();
      await ds.conn.retrying(() => ds.conn.client.kv.range({ key: scope, count_only: true }), ds.conn.opts.connectTimeoutMs);
    } catch (err) {
      await ds.close();
      throw ds.conn.wrap(isTransient(err) ? 'cannot reach etcd' : 'etcd refused the connection', err);
    }
    return ds;
  }

  get endpoints(): string[] {
    return [...this.conn.opts.endpoints];
  }

  get prefix(): string {
    return this.codec.prefix;
  }

  async get(kind: string, name: string): Promise<StoredResource | undefined> {
    this.assertOpen();
    // Like the file backend: a kind or name no write would accept simply is not there.
    if (typeof kind !== 'string' || kind === '' || kind.includes('/') || typeof name !== 'string' || name === '') return undefined;
    const key = Buffer.from(this.codec.key(kind, name));
    const res = await this.read('get', () => this.conn.client.kv.range({ key }));
    const kv = res.kvs[0];
    if (!kv) return undefined;
    const r = decodeValue(kv);
    return r.kind === kind && r.metadata.name === name ? r : undefined;
  }

  async list(kind?: string): Promise<ListResult> {
    this.assertOpen();
    if (kind !== undefined && (typeof kind !== 'string' || kind === '' || kind.includes('/'))) return this.emptyList();
    const { kvs, revision } = await this.read('list', () => this.conn.rangePrefix(this.codec.scope(kind)));
    const items = kvs.map(decodeValue).sort((a, b) => cmp(a.kind, b.kind) || cmp(a.metadata.name, b.metadata.name));
    return { items, revision };
  }

  async txn(ops: TxnOp[]): Promise<StoredResource[]> {
    this.assertOpen();
    if (!Array.isArray(ops)) throw new DatastoreError('txn: ops must be an array');
    if (ops.length === 0) return [];
    const keys = txnKeys(ops, this.codec);
    const ctx = { now: () => new Date().toISOString(), uid: () => randomUUID() };
    const end = Date.now() + this.conn.opts.retryWindowMs;
    /** A plan sent whose answer was lost: it may or may not have been applied. */
    let unsure: TxnPlan | undefined;
    for (let round = 0, delay = 50; round < MAX_TXN_ROUNDS; round++) {
      const snap = await this.snapshot(keys).catch((err: unknown) => {
        throw unsure ? this.conn.wrap('txn (outcome unknown)', (err as Error).cause ?? err) : err;
      });
      if (unsure) {
        const done = recognise(unsure, snap);
        if (done) return done;
        unsure = undefined;
      }
      // Throws NotFound/AlreadyExists/Conflict for the first op that cannot apply.
      const plan = planTxn(ops, keys, snap, ctx);
      this.assertOpen();
      try {
        const res = await this.conn.client.kv.txn({ compare: plan.compares, success: plan.requests });
        if (res.succeeded) return planResults(plan, Number(res.header.revision));
        // A key changed since the snapshot: read again and re-check.
      } catch (err) {
        if (!isTransient(err)) throw this.conn.wrap('txn', err);
        if (Date.now() + delay > end) throw this.conn.wrap('txn (outcome unknown)', err);
        unsure = plan;
        await sleep(delay);
        delay = Math.min(delay * 2, 1000);
      }
    }
    throw this.conn.wrap('txn', `keys still changing under us after ${MAX_TXN_ROUNDS} attempts`);
  }

  watch(options: WatchOptions): Watcher {
    this.assertOpen();
    if (!Number.isSafeInteger(options.fromRevision) || options.fromRevision < 0) {
      throw new DatastoreError(`watch: fromRevision must be a non-negative integer, got ${options.fromRevision}`);
    }
    if (options.kind !== undefined) checkIdentity(options.kind, 'x');
    const w = new EtcdWatch(this.conn, this.codec, options, (x) => this.watchers.delete(x));
    this.watchers.add(w);
    return w;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.watchers]) w.close();
    this.conn.close();
  }

  /** The txn's keys, read together at one revision. */
  private async snapshot(keys: string[]): Promise<Snapshot> {
    const res = await this.read('txn read', () =>
      this.conn.client.kv.txn({ success: keys.map((k) => ({ request_range: { key: Buffer.from(k) } })) }),
    );
    const snap: Snapshot = new Map();
    keys.forEach((k, i) => {
      const kv = res.responses[i]?.response_range?.kvs[0];
      snap.set(k, kv ? snapshotEntry(kv) : undefined);
    });
    return snap;
  }

  private async read<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.conn.retrying(fn);
    } catch (err) {
      throw this.conn.wrap(what, err);
    }
  }

  private async emptyList(): Promise<ListResult> {
    const res = await this.read('list', () => this.conn.client.kv.range({ key: this.codec.scope(), count_only: true }));
    return { items: [], revision: Number(res.header.revision) };
  }

  private assertOpen(): void {
    if (this.closed) throw new DatastoreError(`${this.conn.where}: datastore is closed`);
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
