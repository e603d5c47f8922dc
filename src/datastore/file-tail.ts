// Follows store.json for watchers: fs.watch on the directory for promptness plus a
// polling fallback (fs.watch can miss renames, and cannot watch a missing directory).
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { DatastoreError } from '../errors.js';
import type { Watcher, WatchOptions } from './datastore.js';
import { CompactedError } from './compacted.js';
import { STATE_FILE, type StateFile, type StoreState } from './file-state.js';

interface Sub {
  /** Every event with revision <= last has been considered for this watcher. */
  last: number;
  kind?: string;
  onEvent: WatchOptions['onEvent'];
  onError?: WatchOptions['onError'];
  closed: boolean;
}

export interface TailOptions {
  pollIntervalMs: number;
  useFsWatch: boolean;
}

export class StoreTail {
  private readonly subs = new Set<Sub>();
  private fsw?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private checking = false;
  private recheck = false;

  constructor(private readonly file: StateFile, private readonly opts: TailOptions) {}

  add(options: WatchOptions): Watcher {
    if (!Number.isSafeInteger(options.fromRevision) || options.fromRevision < 0) {
      throw new DatastoreError(`watch: fromRevision must be a non-negative integer, got ${options.fromRevision}`);
    }
    const sub: Sub = { last: options.fromRevision, onEvent: options.onEvent, closed: false };
    if (options.kind !== undefined) sub.kind = options.kind;
    if (options.onError) sub.onError = options.onError;
    this.subs.add(sub);
    this.start();
    // Asynchronous first delivery: never call back from inside watch().
    setImmediate(() => void this.check());
    return { close: () => this.remove(sub) };
  }

  closeAll(): void {
    for (const sub of this.subs) this.remove(sub);
  }

  /** Triggers a re-read soon (coalesced). */
  async check(): Promise<void> {
    if (this.checking) {
      this.recheck = true;
      return;
    }
    this.checking = true;
    try {
      do {
        this.recheck = false;
        if (this.subs.size === 0) return;
        let state: StoreState;
        try {
          state = await this.file.read();
        } catch (err) {
          // The state file is replaced atomically, so a read failure is not transient.
          for (const sub of this.subs) this.fail(sub, err as Error);
          return;
        }
        this.deliver(state);
        this.ensureFsWatch();
      } while (this.recheck);
    } finally {
      this.checking = false;
    }
  }

  /** Delivers to every watcher the events of `state` it has not seen yet, in order. */
  deliver(state: StoreState): void {
    for (const sub of this.subs) {
      if (sub.closed || sub.last >= state.revision) continue;
      if (sub.last < state.compactRevision) {
        this.fail(sub, new CompactedError(sub.last, state.compactRevision));
        continue;
      }
      for (const event of state.events) {
        if (sub.closed) break;
        if (event.revision <= sub.last || (sub.kind !== undefined && event.kind !== sub.kind)) continue;
        try {
          sub.onEvent(structuredClone(event));
        } catch (err) {
          this.fail(sub, err instanceof Error ? err : new DatastoreError(String(err)));
        }
      }
      if (!sub.closed) sub.last = state.revision;
    }
  }

  private fail(sub: Sub, err: Error): void {
    if (sub.closed) return;
    this.remove(sub);
    sub.onError?.(err);
  }

  private remove(sub: Sub): void {
    sub.closed = true;
    this.subs.delete(sub);
    if (this.subs.size === 0) this.stop();
  }

  private start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.check(), this.opts.pollIntervalMs);
    this.ensureFsWatch();
  }

  private ensureFsWatch(): void {
    if (this.fsw || !this.opts.useFsWatch || this.subs.size === 0) return;
    try {
      this.fsw = fsWatch(this.file.dir, (_type, name) => {
        if (name === null || name === STATE_FILE) void this.check();
      });
    } catch {
      return; // Directory missing or unwatchable: polling covers it; retried on next check.
    }
    this.fsw.on('error', () => {
      this.fsw?.close();
      this.fsw = undefined;
    });
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.fsw?.close();
    this.fsw = undefined;
  }
}
