// A live copy of every resource, kept current by a datastore watch. When the store goes
// away the copy stays as it was (sessions and routes keep running) and `ready` turns
// false; the cache re-lists and watches again with back-off until the store is back.
import type { Datastore, StoredResource, Watcher } from '../datastore/datastore.js';
import { DatastoreError } from '../errors.js';
import type { Logger } from '../util/log.js';
import { backoffMs } from './backoff.js';

export class ResourceCache {
  private items = new Map<string, StoredResource>();
  private watcher?: Watcher;
  /** Identifies the current watch; events and errors of an older one are ignored. */
  private current?: object;
  private retry?: NodeJS.Timeout;
  private probeTimer?: NodeJS.Timeout;
  private reachable = true;
  private backoffMs = 500;
  private closed = false;
  private synced = false;
  events = 0;
  lastError?: string;

  constructor(
    private readonly store: Datastore,
    /** Something changed: `kind` names it for a watch event (absent: the whole view). */
    private readonly onChange: (kind?: string) => void,
    private readonly log: Logger,
  ) {}

  list<T = StoredResource>(kind: string): T[] {
    return [...this.items.values()].filter((r) => r.kind === kind) as T[];
  }

  get<T = StoredResource>(kind: string, name: string): T | undefined {
    return this.items.get(`${kind}/${name}`) as T | undefined;
  }

  /** In sync with a reachable store: changes made now will be seen. */
  get ready(): boolean {
    return this.synced && this.reachable;
  }

  /**
   * Load everything and start watching; resolves once the first list succeeded. A store
   * that does not answer is retried (jittered back-off, a log line each time) until close().
   */
  async start(probeIntervalMs = 5000): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.sync();
        break;
      } catch (err) {
        if (this.closed) throw err;
        this.lastError = (err as Error).message;
        const retryInMs = backoffMs(attempt);
        this.log.warn({ attempt, retryInMs, err: this.lastError }, 'datastore did not answer the first list; retrying');
        await new Promise((r) => setTimeout(r, retryInMs));
      }
    }
    // A watch may retry quietly while the store is down: probe so status tells the truth.
    this.probeTimer = setInterval(() => void this.probe(), probeIntervalMs);
    this.probeTimer.unref();
  }

  private async probe(): Promise<void> {
    const before = this.reachable;
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new DatastoreError('datastore did not answer within 3 s')), 3000).unref());
    try {
      await Promise.race([this.store.get('BGPConfiguration', 'default'), timeout]);
      if (!this.reachable) this.log.info('datastore reachable again');
      this.reachable = true;
    } catch (err) {
      if (this.reachable) this.log.warn({ err }, 'datastore unreachable; keeping the last known state');
      this.reachable = false;
      this.lastError = (err as Error).message;
    }
    if (before !== this.reachable) this.onChange();
  }

  private async sync(): Promise<void> {
    const { items, revision } = await this.store.list();
    this.items = new Map(items.map((r) => [`${r.kind}/${r.metadata.name}`, r]));
    this.synced = true;
    this.reachable = true;
    this.backoffMs = 500;
    this.lastError = undefined;
    this.onChange();
    const token = {};
    this.current = token;
    const watcher = this.store.watch({
      fromRevision: revision,
      onEvent: (e) => {
        if (this.current !== token) return;
        this.events++;
        const key = `${e.kind}/${e.name}`;
        if (e.type === 'put') this.items.set(key, e.resource);
        else this.items.delete(key);
        this.onChange(e.kind);
      },
      // Only the current watch counts: a late error from a replaced one must not start a second.
      onError: (err) => {
        if (this.current === token) this.lost(err);
      },
    });
    if (this.current === token) this.watcher = watcher;
    else watcher.close(); // it failed while starting
  }

  private lost(err: Error): void {
    if (this.closed) return;
    this.synced = false;
    this.current = undefined;
    this.lastError = err.message;
    this.watcher?.close();
    this.watcher = undefined;
    this.log.warn({ err, retryMs: this.backoffMs }, 'datastore watch lost; keeping the last known state');
    this.onChange();
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      this.sync().catch((e: Error) => {
        this.backoffMs = Math.min(this.backoffMs * 2, 10_000);
        this.lost(e);
      });
    }, this.backoffMs);
    this.retry.unref();
  }

  /** Called by the owner when a write failed because the store is unreachable. */
  markUnavailable(err: Error): void {
    if (this.ready) this.lost(err);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    clearInterval(this.probeTimer);
    this.watcher?.close();
  }
}
