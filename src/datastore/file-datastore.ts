// The `file:DIR` backend: all state in DIR/store.json, replaced atomically under a
// cross-process lock. Readers need no lock; watchers follow the file (see file-tail.ts).
import { randomUUID } from 'node:crypto';
import { DatastoreError } from '../errors.js';
import type { Datastore, ListResult, StoredResource, TxnOp, Watcher, WatchOptions } from './datastore.js';
import { applyOps } from './file-apply.js';
import { withDirLock } from './file-lock.js';
import { StateFile, resourceKey } from './file-state.js';
import { StoreTail } from './file-tail.js';
import { TxnDatastore } from './txn-ops.js';

export interface FileDatastoreOptions {
  /** Events kept for watchers; older ones are compacted away (default 2000). */
  maxEvents?: number;
  /** Polling fallback period for watchers (default 250 ms). */
  pollIntervalMs?: number;
  /** Use fs.watch for prompt change notice (default true); polling always runs. */
  useFsWatch?: boolean;
}

export class FileDatastore extends TxnDatastore implements Datastore {
  private readonly file: StateFile;
  private readonly tail: StoreTail;
  private readonly maxEvents: number;
  /** Serialises this instance's writes so they do not fight over the lock file. */
  private writes: Promise<unknown> = Promise.resolve();
  private closed = false;
  private tempsCleaned = false;

  constructor(readonly dir: string, options: FileDatastoreOptions = {}) {
    super();
    this.file = new StateFile(dir);
    this.maxEvents = options.maxEvents ?? 2000;
    if (!Number.isSafeInteger(this.maxEvents) || this.maxEvents < 1) throw new DatastoreError('maxEvents must be a positive integer');
    this.tail = new StoreTail(this.file, {
      pollIntervalMs: options.pollIntervalMs ?? 250,
      useFsWatch: options.useFsWatch ?? true,
    });
  }

  /** Opens and reads the store once, so a corrupted or unreadable file fails here. */
  static async open(dir: string, options?: FileDatastoreOptions): Promise<FileDatastore> {
    const ds = new FileDatastore(dir, options);
    await ds.file.read();
    return ds;
  }

  /** Path of the state file (for messages and tests). */
  get statePath(): string {
    return this.file.path;
  }

  async get(kind: string, name: string): Promise<StoredResource | undefined> {
    this.assertOpen();
    const r = (await this.file.read()).resources[resourceKey(kind, name)];
    // The key alone is ambiguous for a kind containing "/" (writes reject those).
    return r && r.kind === kind ? structuredClone(r) : undefined;
  }

  async list(kind?: string): Promise<ListResult> {
    this.assertOpen();
    const state = await this.file.read();
    const items = Object.values(state.resources)
      .filter((r) => kind === undefined || r.kind === kind)
      .sort((a, b) => cmp(a.kind, b.kind) || cmp(a.metadata.name, b.metadata.name))
      .map((r) => structuredClone(r));
    return { items, revision: state.revision };
  }

  async txn(ops: TxnOp[]): Promise<StoredResource[]> {
    this.assertOpen();
    if (!Array.isArray(ops)) throw new DatastoreError('txn: ops must be an array');
    if (ops.length === 0) return [];
    const run = this.writes.then(() => this.write(ops));
    this.writes = run.catch(() => {});
    return run;
  }

  watch(options: WatchOptions): Watcher {
    this.assertOpen();
    return this.tail.add(options);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.tail.closeAll();
    await this.writes;
  }

  private async write(ops: TxnOp[]): Promise<StoredResource[]> {
    await this.file.ensureDir();
    const { state, results } = await withDirLock(this.dir, async (assertHeld) => {
      if (!this.tempsCleaned) {
        await this.file.removeStaleTemps();
        this.tempsCleaned = true;
      }
      // Re-read inside the lock: another process may have written since our last read.
      const next = applyOps(await this.file.read(), ops, {
        now: () => new Date().toISOString(),
        uid: () => randomUUID(),
        maxEvents: this.maxEvents,
      });
      await this.file.write(next.state, assertHeld);
      return next;
    });
    // Local watchers need not wait for fs.watch or the poll.
    this.tail.deliver(state);
    return results.map((r) => structuredClone(r));
  }

  private assertOpen(): void {
    if (this.closed) throw new DatastoreError(`datastore ${this.dir} is closed`);
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
