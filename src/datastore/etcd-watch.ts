// One watcher = one etcd Watch stream that outlives disconnects.
//
// Resume: `last` is the newest revision whose events were all handed over. After the
// stream breaks (etcd restarted, member killed, connection dropped) a new stream starts
// at last + 1 on any endpoint, and events at or below `last` are dropped, so nothing is
// lost or delivered twice. (The etcd3 client's own watcher resumes from the newest
// *header* revision it saw, which can skip events that were still being replayed.)
//
// Compaction: with onCompacted 'resync' the watcher keeps the set of resources it has
// delivered (read at fromRevision when it starts, then kept up to date). When etcd
// answers a resume with "compacted", it lists again and delivers the difference: puts
// for new or changed resources at their own revisions, then deletes for vanished ones at
// the list revision, and carries on from there. Without that set (onCompacted 'error',
// or fromRevision already compacted when watch() was called) it stops with
// CompactedError, as the file backend does; the caller lists and watches again.
import type { IEvent, IKeyValue, IWatchResponse } from 'etcd3';
import { DatastoreError } from '../errors.js';
import { CompactedError } from './compacted.js';
import type { StoredResource, WatchEvent, Watcher, WatchOptions } from './datastore.js';
import { decodeValue, type KeyCodec } from './etcd-codec.js';
import { isCompactedRead, isFutureRead, isTransient, prefixEnd, type EtcdConnection, type WatchStream } from './etcd-client.js';

interface Known {
  modRevision: number;
  resource: StoredResource;
}

export class EtcdWatch implements Watcher {
  private readonly scope: Buffer;
  /** Events up to here were delivered or (at or below fromRevision) deliberately skipped. */
  private last: number;
  private readonly deliverAfter: number;
  /** What this watcher has delivered (resync mode), by key. */
  private known?: Map<string, Known>;
  private stream?: WatchStream;
  private timer?: NodeJS.Timeout;
  private delay: number;
  private closed = false;
  /** Consecutive "permission denied" cancels answered by renewing the auth token. */
  private authRenewals = 0;
  /** Streams lost and re-opened, and resyncs after compaction (for tests and metrics). */
  readonly stats = { reconnects: 0, resyncs: 0 };

  constructor(
    private readonly conn: EtcdConnection,
    private readonly codec: KeyCodec,
    private readonly opts: WatchOptions,
    private readonly onClose: (w: EtcdWatch) => void,
  ) {
    this.scope = codec.scope(opts.kind);
    this.last = opts.fromRevision;
    this.deliverAfter = opts.fromRevision;
    this.delay = this.minDelay;
    // Asynchronous start: never call back from inside watch().
    this.schedule(() => this.start(), 0);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.dropStream();
    this.onClose(this);
  }

  private get minDelay(): number {
    return Math.min(100, this.conn.opts.watchRetryMaxMs);
  }

  private schedule(fn: () => Promise<void> | void, ms: number): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.closed) void Promise.resolve().then(fn).catch((err) => this.fail(err));
    }, ms);
  }

  /** Retry later with a growing pause (reset by any answer from etcd). */
  private retry(fn: () => Promise<void> | void): void {
    this.schedule(fn, this.delay);
    this.delay = Math.min(this.delay * 2, this.conn.opts.watchRetryMaxMs);
  }

  private fail(err: unknown): void {
    if (this.closed) return;
    this.close();
    this.opts.onError?.(err instanceof Error ? err : new DatastoreError(String(err)));
  }

  private async start(): Promise<void> {
    if (this.conn.opts.onCompacted === 'resync') {
      try {
        await this.readBaseline();
      } catch (err) {
        if (isCompactedRead(err)) {
          // Too late for a baseline: from here on this watcher behaves as in 'error' mode.
          this.known = undefined;
        } else if (isTransient(err)) {
          return this.retry(() => this.start());
        } else {
          throw this.conn.wrap('watch', err);
        }
      }
    }
    await this.connect();
  }

  /** The watched resources as of fromRevision, to diff against after a compaction. */
  private async readBaseline(): Promise<void> {
    const from = this.opts.fromRevision;
    if (from === 0) {
      this.known = new Map();
      return;
    }
    for (;;) {
      try {
        this.known = this.toKnown((await this.conn.rangePrefix(this.scope, from)).kvs);
        return;
      } catch (err) {
        if (!isFutureRead(err)) throw err;
      }
      // fromRevision is ahead of the store: take the current state and fold the
      // revisions up to fromRevision into it without delivering them.
      const now = await this.conn.rangePrefix(this.scope);
      if (now.revision >= from) continue; // the store caught up meanwhile
      this.known = this.toKnown(now.kvs);
      this.last = now.revision;
      return;
    }
  }

  private toKnown(kvs: IKeyValue[]): Map<string, Known> {
    return new Map(kvs.map((kv) => [kv.key.toString(), { modRevision: Number(kv.mod_revision), resource: decodeValue(kv) }]));
  }

  private async connect(): Promise<void> {
    let stream: WatchStream;
    try {
      stream = await this.conn.openWatchStream();
    } catch (err) {
      if (this.closed) return;
      if (isTransient(err)) return this.retry(() => this.connect());
      throw this.conn.wrap('watch', err);
    }
    if (this.closed) {
      stream.cancel();
      return;
    }
    this.stream = stream;
    stream.on('data', (res: IWatchResponse) => this.onResponse(stream, res));
    stream.on('error', () => this.onBroken(stream));
    stream.on('end', () => this.onBroken(stream));
    stream.write({
      create_request: {
        key: this.scope,
        range_end: prefixEnd(this.scope),
        start_revision: this.last + 1,
        prev_kv: true,
        progress_notify: true,
      },
    });
  }

  private dropStream(): void {
    const s = this.stream;
    this.stream = undefined;
    // Our listeners stay attached (an 'error' without one would throw) but ignore it.
    s?.cancel();
  }

  private onBroken(stream: WatchStream): void {
    if (stream !== this.stream || this.closed) return;
    this.dropStream();
    this.stats.reconnects++;
    this.retry(() => this.connect());
  }

  private onResponse(stream: WatchStream, res: IWatchResponse): void {
    if (stream !== this.stream || this.closed) return;
    this.delay = this.minDelay;
    const compactRevision = Number(res.compact_revision);
    if (compactRevision > 0) {
      this.dropStream();
      if (!this.known) return this.fail(new CompactedError(this.last, compactRevision));
      this.schedule(() => this.resync(), 0);
      return;
    }
    if (res.canceled) {
      this.dropStream();
      const reason = res.cancel_reason || 'no reason given';
      // etcd cancels a watch made with an expired token (or one from before an etcd
      // restart). A unary call renews the token (the client re-authenticates on
      // "invalid auth token"); then watch again, a few times at most.
      if (this.conn.opts.auth && /invalid auth token|permission denied/.test(reason) && this.authRenewals++ < 3) {
        this.retry(async () => {
          await this.conn.client.kv.range({ key: this.scope, count_only: true }).catch(() => {});
          await this.connect();
        });
        return;
      }
      return this.fail(new DatastoreError(`${this.conn.where}: watch canceled by etcd: ${reason}`));
    }
    if (res.created) {
      this.authRenewals = 0;
      return;
    }
    if (res.events.length === 0) {
      // A progress notice: etcd sends it only once the watcher has caught up, so every
      // event up to this revision was delivered; resuming later can start after it.
      this.last = Math.max(this.last, Number(res.header.revision));
      return;
    }
    try {
      this.onEvents(res.events);
    } catch (err) {
      this.fail(err);
    }
  }

  /** One response never splits a revision, so `last` moves once the whole batch is done. */
  private onEvents(events: IEvent[]): void {
    const floor = this.last;
    let newest = floor;
    for (const ev of events) {
      if (this.closed) return;
      const revision = Number(ev.kv.mod_revision);
      if (revision <= floor) continue; // already delivered before a reconnect
      const key = ev.kv.key.toString();
      const { kind, name } = this.codec.parse(key);
      const before = this.known?.get(key)?.resource;
      let event: WatchEvent;
      if (ev.type === 'Put') {
        const resource = decodeValue(ev.kv);
        const previous = ev.prev_kv ? decodeValue(ev.prev_kv) : undefined;
        event = previous ? { type: 'put', revision, kind, name, resource, previous } : { type: 'put', revision, kind, name, resource };
        this.known?.set(key, { modRevision: revision, resource });
      } else {
        const previous = ev.prev_kv ? decodeValue(ev.prev_kv) : (before ?? { apiVersion: '', kind, metadata: { name } });
        event = { type: 'delete', revision, kind, name, previous };
        this.known?.delete(key);
      }
      if (revision > this.deliverAfter) this.opts.onEvent(event);
      newest = Math.max(newest, revision);
    }
    this.last = newest;
  }

  /** Lists again and delivers the difference from what this watcher has delivered. */
  private async resync(): Promise<void> {
    const known = this.known!;
    this.stats.resyncs++;
    let now;
    try {
      now = await this.conn.rangePrefix(this.scope);
    } catch (err) {
      if (isTransient(err)) return this.retry(() => this.resync());
      throw this.conn.wrap('watch resync', err);
    }
    if (this.closed) return;
    const next = this.toKnown(now.kvs);
    const events: WatchEvent[] = [];
    const changed = [...next].filter(([key, n]) => known.get(key)?.modRevision !== n.modRevision);
    changed.sort(([ka, a], [kb, b]) => a.modRevision - b.modRevision || (ka < kb ? -1 : 1));
    for (const [key, n] of changed) {
      const { kind, name } = this.codec.parse(key);
      const previous = known.get(key)?.resource;
      events.push(
        previous
          ? { type: 'put', revision: n.modRevision, kind, name, resource: n.resource, previous }
          : { type: 'put', revision: n.modRevision, kind, name, resource: n.resource },
      );
    }
    for (const [key, k] of known) {
      if (next.has(key)) continue;
      const { kind, name } = this.codec.parse(key);
      events.push({ type: 'delete', revision: now.revision, kind, name, previous: k.resource });
    }
    this.known = next;
    this.last = now.revision;
    for (const e of events) {
      if (this.closed) return;
      if (e.revision > this.deliverAfter) this.opts.onEvent(e);
    }
    await this.connect();
  }
}
