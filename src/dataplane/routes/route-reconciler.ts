// Desired and programmed routes, and only the difference sent (Felix's routetable model).
// Declare the whole set (setRoutes) or change it route by route (setRoute/setSource/
// remove); apply() sends an operation for each route that changed since the last one.
// The kernel is dumped only on a resync: the first apply, a periodic one (with jitter),
// and after a netlink error — never per change. Routes of Tabby's protocol found in the
// kernel are adopted, not flushed, so a restart with the same set sends nothing; a
// resync repairs routes changed or deleted behind our back. Both families. Knows
// nothing of BGP.
//
// Memory is one map entry per route: the desired value is an interned shape shared by
// every route alike, or a source the owner resolves into one (learned routes: one source
// per next-hop list). What the kernel holds is only tracked for routes not yet in step.

import { performance } from 'node:perf_hooks';
import { ValidationError } from '../../errors.js';
import type { NetlinkResult } from '../../native/batch.js';
import type { RouteOp } from '../../native/routes.js';
import { RTPROT_TABBY } from './route-protocol.js';
import { normaliseDesiredRoute, parseRouteKey, routeKey, ShapeInterner, type DesiredRoute, type RouteShape } from './desired-route.js';
import { kernelState, routeOp } from './route-diff.js';
import { netlinkRouteKernel, type RouteKernel } from './route-kernel.js';

/** A desired route the owner describes lazily (resolve() turns it into a shape or an error). */
export interface RouteSource {
  readonly routeSource: true;
}

type Desired = RouteShape | RouteSource;

const isSource = (v: Desired): v is RouteSource => (v as RouteSource).routeSource === true;

export interface RouteReconcilerOptions {
  netns?: string;
  /** rtm_protocol owned by this reconciler; default RTPROT_TABBY. */
  protocol?: number;
  /** Resync period once start()ed; default 30 s, each one ±10 % at random. */
  resyncIntervalMs?: number;
  /** First wait before a resync after a failed operation (doubling up to the resync period); default 1 s. */
  errorResyncMs?: number;
  /** Operations per routeApply call (two calls in flight); default 8192. */
  chunk?: number;
  /** Defaults to netlink in `netns`. */
  kernel?: RouteKernel;
  /** Failures of background resyncs (the dump itself failing, say). */
  onError?: (err: unknown) => void;
  /** A resync is due (timer or error): the owner should apply() soon. Default: apply() at once. */
  onResyncDue?: () => void;
  /** Turns a source (setSource) into its shape (interned with intern()), or an error message. */
  resolve?: (source: RouteSource) => RouteShape | string;
}

export interface RouteError {
  dst: string;
  table?: number;
  /** `invalid` for a desired route that failed validation and was left out. */
  op: 'add' | 'replace' | 'delete' | 'invalid';
  errno: number;
  message: string;
}

export interface ApplyResult {
  /** Operations sent to the kernel. */
  ops: number;
  added: number;
  replaced: number;
  deleted: number;
  /** This run dumped the kernel first. */
  resynced: boolean;
  /** Per-route failures (retried after the resync they cause), including invalid desired routes. */
  errors: RouteError[];
  durationMs: number;
}

export interface RouteReconcilerStats {
  desiredRoutes: number;
  /** Desired routes the kernel holds as wanted, as far as we know. */
  routesProgrammed: number;
  applies: number;
  resyncs: number;
  applyFailures: number;
  opsSent: number;
  opErrors: number;
  lastApplyMs: number;
  totalApplyMs: number;
}

/**
 * A key not (known to be) in step with the kernel: what is wanted there (nothing: delete)
 * and whether the kernel holds a route of ours at it. Every other key's map value is
 * what it wants, and the kernel has exactly that.
 */
class Pending {
  /** In the queue of keys to look at on the next apply. */
  queued = true;
  /** The last operation failed (or the source did not resolve): left alone until a resync. */
  failed: RouteError | undefined;
  constructor(
    readonly key: string,
    public want: Desired | undefined,
    public ours: boolean,
  ) {}
}

type Entry = Desired | Pending;

const DELETE_TEMPLATES = new Map<string, object>();

/** One template object per (table, metric) of delete operations: deletes differ only in the prefix. */
function deleteTemplate(table: number, metric: number, family: 4 | 6): object {
  const k = `${family} ${table} ${metric}`;
  let t = DELETE_TEMPLATES.get(k);
  if (!t) DELETE_TEMPLATES.set(k, (t = {}));
  return t;
}

/** Delete templates of the main table with the default metric (nearly every delete). */
const PLAIN_DELETE4 = {};
const PLAIN_DELETE6 = {};

const ADD = 0;
const REPLACE = 1;
const DELETE = 2;
const OP_NAMES = ['add', 'replace', 'delete'] as const;

export class RouteReconciler {
  readonly protocol: number;
  private readonly kernel: RouteKernel;
  private readonly resyncMs: number;
  private readonly errorResyncMs: number;
  private readonly chunk: number;
  private readonly onError: (err: unknown) => void;
  private readonly onResyncDue: () => void;
  private readonly resolveSource: (source: RouteSource) => RouteShape | string;
  private readonly shapes = new ShapeInterner();
  /** Templates of add/replace records per shape (the batch copies them per route). */
  private readonly opTemplates: [WeakMap<RouteShape, object>, WeakMap<RouteShape, object>] = [new WeakMap(), new WeakMap()];
  /** Every key we want something at or may hold a route at. */
  private entries = new Map<string, Entry>();
  /** Pending entries to look at on the next apply. */
  private queue: Pending[] = [];
  /** Deletes held back while holding. */
  private held: Pending[] = [];
  private wanted = 0;
  /** Operations put into chunks so far. */
  private opsStarted = 0;
  private pendingWanted = 0;
  private readonly failures = new Map<string, RouteError>();
  private invalid: RouteError[] = [];
  private resyncDue = true;
  private holding = false;
  private inflight: Promise<ApplyResult> | undefined;
  private queued: Promise<ApplyResult> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private errorTimer: NodeJS.Timeout | undefined;
  private errorBackoff: number;
  private readonly counters = {
    applies: 0, resyncs: 0, applyFailures: 0, opsSent: 0, opErrors: 0, lastApplyMs: 0, totalApplyMs: 0,
  };

  constructor(opts: RouteReconcilerOptions = {}) {
    this.protocol = opts.protocol ?? RTPROT_TABBY;
    const ns = opts.netns === undefined ? {} : { netns: opts.netns };
    this.kernel = opts.kernel ?? netlinkRouteKernel({ protocol: this.protocol, ...ns });
    this.resyncMs = opts.resyncIntervalMs ?? 30_000;
    this.errorResyncMs = opts.errorResyncMs ?? 1000;
    this.errorBackoff = this.errorResyncMs;
    this.chunk = opts.chunk ?? 8192;
    this.onError = opts.onError ?? (() => {});
    this.onResyncDue = opts.onResyncDue ?? (() => void this.apply().catch((err: unknown) => this.onError(err)));
    this.resolveSource = opts.resolve ?? (() => 'no resolver for route sources');
  }

  /**
   * Add and replace, but delete nothing (while a restarted agent's sessions relearn what
   * the kernel still holds). Releasing it queues the deletes it held back.
   */
  get hold(): boolean {
    return this.holding;
  }

  set hold(on: boolean) {
    this.holding = on;
    if (on || this.held.length === 0) return;
    for (const p of this.held) this.requeue(p);
    this.held = [];
  }

  /** The one shared object for a normalised shape; pass it to setRoute(). */
  intern(shape: RouteShape): RouteShape {
    return this.shapes.intern(shape);
  }

  /** Validates and interns a route; throws Error naming the field. */
  normalise(route: DesiredRoute): { key: string; shape: RouteShape } {
    const n = normaliseDesiredRoute(route);
    return { key: n.key, shape: this.shapes.intern(n) };
  }

  /**
   * Declares the full desired set (replacing the previous one). Invalid routes and
   * duplicates are left out and returned (and kept in lastErrors); the rest go ahead.
   */
  setRoutes(routes: readonly DesiredRoute[]): RouteError[] {
    const desired = new Map<string, RouteShape>();
    const invalid: RouteError[] = [];
    routes.forEach((r, i) => {
      const dst = typeof r?.dst === 'string' ? r.dst : `routes[${i}]`;
      try {
        const { key, shape } = this.normalise(r);
        if (desired.has(key)) throw new ValidationError('', `duplicate route (table ${shape.table}, metric ${shape.metric})`);
        desired.set(key, shape);
      } catch (err) {
        invalid.push({ dst, op: 'invalid', errno: 0, message: (err as Error).message });
      }
    });
    this.replaceAll(desired);
    this.invalid = invalid;
    return invalid;
  }

  /** The full desired set as keys and interned shapes (or sources). */
  replaceAll(desired: ReadonlyMap<string, Desired>): void {
    for (const [key, v] of desired) this.want(key, v);
    const gone: string[] = [];
    for (const [key, e] of this.entries) if (!desired.has(key) && (!(e instanceof Pending) || e.want !== undefined)) gone.push(key);
    for (const key of gone) this.want(key, undefined);
    const shapes = new Set<RouteShape>();
    for (const v of desired.values()) if (!isSource(v)) shapes.add(v);
    this.shapes.retain(shapes);
  }

  /** One route, by its prefix (main table, default metric unless the shape says otherwise). */
  setRoute(dst: string, shape: RouteShape): void {
    this.want(routeKey(shape.table, dst, shape.metric), shape);
  }

  /** One route in the main table with the default metric, described by `source` (resolved when sent). */
  setSource(dst: string, source: RouteSource): void {
    this.want(dst, source);
  }

  /** No route at `key` (a routeKey; the prefix itself for the main table and default metric). */
  remove(key: string): void {
    this.want(key, undefined);
  }

  /** What is desired at `key`, resolved. */
  get(key: string): RouteShape | undefined {
    const v = this.desiredAt(key);
    if (v === undefined || !isSource(v)) return v;
    const r = this.resolveSource(v);
    return typeof r === 'string' ? undefined : r;
  }

  /** What is desired at `key` as given (a shape or a source). */
  desiredAt(key: string): RouteShape | RouteSource | undefined {
    const e = this.entries.get(key);
    return e instanceof Pending ? e.want : e;
  }

  /** The desired sources with their prefixes. */
  *sources(): IterableIterator<[string, RouteSource]> {
    for (const [key, e] of this.entries) {
      const v = e instanceof Pending ? e.want : e;
      if (v !== undefined && isSource(v)) yield [key, v];
    }
  }

  /** The one place the desired state changes: two map operations at most. */
  private want(key: string, v: Desired | undefined): void {
    const e = this.entries.get(key);
    if (e instanceof Pending) {
      if (e.want === v) return;
      if (e.want === undefined) this.wanted++, this.pendingWanted++;
      else if (v === undefined) this.wanted--, this.pendingWanted--;
      e.want = v;
      if (e.failed) {
        e.failed = undefined;
        this.failures.delete(key);
      }
      this.requeue(e);
      return;
    }
    if (e === v) return;
    if (e === undefined) this.wanted++, this.pendingWanted++;
    else if (v === undefined) this.wanted--;
    else this.pendingWanted++;
    const p = new Pending(key, v, e !== undefined);
    this.entries.set(key, p);
    this.queue.push(p);
  }

  private requeue(p: Pending): void {
    if (p.queued) return;
    p.queued = true;
    this.queue.push(p);
  }

  /** Dump the kernel on the next apply (and repair whatever drifted). */
  requestResync(): void {
    this.resyncDue = true;
  }

  /**
   * Route operations queued or started so far (a counter): how fast routes are moving,
   * for deciding when a full resync (a dump of every route of ours) would be in the way.
   */
  get work(): number {
    return this.opsStarted + this.queue.length;
  }

  /** Changes are queued or being sent right now. */
  get busy(): boolean {
    return this.inflight !== undefined || this.queue.length > 0;
  }

  /** Changes wait for apply(). */
  get pending(): boolean {
    return this.queue.length > 0 || this.resyncDue;
  }

  /** Brings the kernel to the desired set. One run at a time; calls during a run share the next one. */
  apply(): Promise<ApplyResult> {
    if (!this.inflight) {
      this.inflight = this.run().finally(() => {
        this.inflight = undefined;
      });
      return this.inflight;
    }
    this.queued ??= this.inflight
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.apply();
      });
    return this.queued;
  }

  /** A resync every interval (±10 %) from now on; timers do not keep the process alive. */
  start(): void {
    if (this.timer) return;
    const next = (): void => {
      const ms = this.resyncMs * (0.9 + Math.random() * 0.2);
      this.timer = setTimeout(() => {
        this.resyncDue = true;
        this.onResyncDue();
        next();
      }, ms);
      this.timer.unref();
    };
    next();
    this.onResyncDue();
  }

  /** Stops resyncing and waits for a run in progress. Kernel routes stay as they are. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    clearTimeout(this.errorTimer);
    this.timer = this.errorTimer = undefined;
    await Promise.allSettled([this.inflight, this.queued]);
  }

  /** Failures of the last apply (still unresolved) plus the invalid desired routes. */
  get lastErrors(): readonly RouteError[] {
    return [...this.invalid, ...this.failures.values()];
  }

  /** Desired routes the kernel holds as wanted, as far as we know. */
  get routesProgrammed(): number {
    return this.wanted - this.pendingWanted;
  }

  get lastApplyMs(): number {
    return this.counters.lastApplyMs;
  }

  get size(): number {
    return this.wanted;
  }

  get stats(): RouteReconcilerStats {
    return { desiredRoutes: this.wanted, routesProgrammed: this.routesProgrammed, ...this.counters };
  }

  private async resync(): Promise<void> {
    this.resyncDue = false;
    this.counters.resyncs++;
    const kernel = await this.kernel.dump();
    // Compared with the desired set as it is now (changes made during the dump included),
    // the dump says everything: what it does not call dirty is in step.
    const wantedKeys = (function* (entries: Map<string, Entry>) {
      for (const [key, e] of entries) if (!(e instanceof Pending) || e.want !== undefined) yield key;
    })(this.entries);
    const { dirty } = kernelState((k) => this.get(k), wantedKeys, kernel, this.protocol);
    const settled: [string, Desired | undefined][] = [];
    for (const [key, e] of this.entries) if (e instanceof Pending && !dirty.has(key)) settled.push([key, e.want]);
    for (const [key, want] of settled) {
      if (want === undefined) this.entries.delete(key);
      else this.entries.set(key, want);
    }
    this.queue = [];
    this.held = [];
    this.failures.clear();
    this.pendingWanted = 0;
    for (const [key, ours] of dirty) {
      const e = this.entries.get(key);
      const p = e instanceof Pending ? e : new Pending(key, e, ours);
      p.ours = ours;
      p.queued = true;
      p.failed = undefined;
      if (p !== e) this.entries.set(key, p);
      if (p.want !== undefined) this.pendingWanted++;
      this.queue.push(p);
    }
  }

  private async run(): Promise<ApplyResult> {
    const started = performance.now();
    this.counters.applies++;
    const result: ApplyResult = { ops: 0, added: 0, replaced: 0, deleted: 0, resynced: false, errors: [...this.invalid], durationMs: 0 };
    try {
      if (this.resyncDue) {
        await this.resync();
        result.resynced = true;
      }
      await this.send(result);
      this.counters.opsSent += result.ops;
      // Only a kernel that refused something is worth a dump; an unresolved source is reported alone.
      const failures = result.errors.filter((e) => e.op !== 'invalid').length;
      this.counters.opErrors += failures;
      if (failures > 0) this.resyncAfterError();
      else this.errorBackoff = this.errorResyncMs;
      return result;
    } catch (err) {
      this.counters.applyFailures++;
      this.resyncDue = true;
      throw err;
    } finally {
      result.durationMs = performance.now() - started;
      this.counters.lastApplyMs = result.durationMs;
      this.counters.totalApplyMs += result.durationMs;
    }
  }

  /**
   * The queued keys as operations, in chunks built just before they go (no request
   * objects for 100k routes at once; with the kernel's batch, one encoding per route
   * shape), two chunks in flight: the next is encoded while the kernel works on the last.
   */
  private async send(result: ApplyResult): Promise<void> {
    const queue = this.queue;
    this.queue = [];
    let at = 0;
    const kernel = this.kernel;
    const fast = kernel.batch !== undefined && kernel.applyBatch !== undefined;
    interface Chunk {
      entries: Pending[];
      /** What each operation sent (a later change of the entry makes it pending again). */
      sent: (Desired | undefined)[];
      kinds: number[];
      run: () => Promise<NetlinkResult[]>;
    }
    const nextChunk = (): Chunk | undefined => {
      const c: Chunk = { entries: [], sent: [], kinds: [], run: () => Promise.resolve([]) };
      const batch = fast ? kernel.batch!(Math.min(this.chunk, queue.length - at)) : undefined;
      const ops: RouteOp[] = [];
      while (c.entries.length < this.chunk && at < queue.length) {
        const e = queue[at++]!;
        if (!e.queued) continue;
        e.queued = false;
        if (e.failed) continue;
        const key = e.key;
        const v = e.want;
        if (v === undefined && this.holding) {
          this.held.push(e);
          continue;
        }
        let want: RouteShape | undefined;
        if (v !== undefined && isSource(v)) {
          const r = this.resolveSource(v);
          if (typeof r === 'string') {
            // Nothing to program: what we had there goes, and the reason is reported.
            const err: RouteError = { dst: parseRouteKey(key).dst, op: 'invalid', errno: 0, message: r };
            e.failed = err;
            this.failures.set(key, err);
            result.errors.push(err);
            if (!e.ours) continue;
          } else {
            want = r;
          }
        } else {
          want = v;
        }
        const kind = want ? (e.ours ? REPLACE : ADD) : e.ours ? DELETE : -1;
        if (kind < 0) {
          // Neither wanted nor there: forget the key.
          this.entries.delete(key);
          continue;
        }
        c.entries.push(e);
        c.sent.push(want === undefined ? undefined : v);
        c.kinds.push(kind);
        if (batch) {
          // The main table with the default metric: the key is the prefix (no parsing, no closure per route).
          const plain = key.indexOf(' ') < 0;
          const dst = plain ? key : parseRouteKey(key).dst;
          if (kind === DELETE) {
            const k = plain ? undefined : parseRouteKey(key);
            const t = k ? deleteTemplate(k.table, k.metric, dst.includes(':') ? 6 : 4) : dst.includes(':') ? PLAIN_DELETE6 : PLAIN_DELETE4;
            if (!batch.add(dst, t)) batch.add(dst, t, () => routeOp(key, undefined, true, this.protocol)!);
          } else {
            const templates = this.opTemplates[kind as 0 | 1];
            let t = templates.get(want!);
            if (!t) templates.set(want!, (t = {}));
            if (!batch.add(dst, t)) batch.add(dst, t, () => routeOp(key, want, kind === REPLACE, this.protocol)!);
          }
        } else {
          ops.push(routeOp(key, want, kind !== ADD, this.protocol)!);
        }
      }
      if (c.entries.length === 0) return undefined;
      this.opsStarted += c.entries.length;
      c.run = batch ? () => kernel.applyBatch!(batch) : () => kernel.apply(ops);
      return c;
    };
    const settle = (c: Chunk, results: readonly NetlinkResult[]): void => {
      for (let i = 0; i < c.entries.length; i++) {
        const e = c.entries[i]!;
        const key = e.key;
        const kind = c.kinds[i]!;
        const res = results[i] ?? { ok: false as const, errno: 0, message: 'no result' };
        if (res.ok) {
          if (kind === ADD) result.added++;
          else if (kind === REPLACE) result.replaced++;
          else result.deleted++;
          e.ours = kind !== DELETE;
          if (e.queued) continue; // changed again meanwhile: it goes again
          if (e.want !== c.sent[i]) {
            this.requeue(e);
          } else if (e.want === undefined) {
            this.entries.delete(key);
          } else {
            this.entries.set(key, e.want);
            this.pendingWanted--;
          }
        } else {
          const { dst, table } = parseRouteKey(key);
          const err: RouteError = { dst, table, op: OP_NAMES[kind]!, errno: res.errno, message: res.message };
          e.failed = err;
          this.failures.set(key, err);
          result.errors.push(err);
        }
      }
    };
    let prev: Promise<void> | undefined;
    for (let c = nextChunk(); c; c = nextChunk()) {
      const chunk = c;
      result.ops += chunk.entries.length;
      const p = chunk.run().then((r) => settle(chunk, r));
      p.catch(() => undefined); // awaited below; a failure before that must not go unhandled
      if (prev) await prev;
      prev = p;
    }
    await prev;
  }

  private resyncAfterError(): void {
    if (this.errorTimer) return;
    const ms = this.errorBackoff;
    this.errorBackoff = Math.min(this.errorBackoff * 2, this.resyncMs);
    this.errorTimer = setTimeout(() => {
      this.errorTimer = undefined;
      this.resyncDue = true;
      this.onResyncDue();
    }, ms);
    this.errorTimer.unref();
  }
}
