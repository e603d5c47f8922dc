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
import { RTPROT_TABBY, type RouteOp } from '../../native/addon.js';
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
  private desired = new Map<string, Desired>();
  /**
   * Keys whose kernel state may differ from the desired one, each with whether the
   * kernel holds a route of ours there. Every other desired key is in the kernel as wanted.
   */
  private dirty = new Map<string, boolean>();
  /** Keys whose last operation failed (or whose source did not resolve): left alone until the resync it caused. */
  private failed = new Map<string, RouteError>();
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
        if (desired.has(key)) throw new Error(`duplicate route (table ${shape.table}, metric ${shape.metric})`);
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
  replaceAll(desired: Map<string, Desired>): void {
    for (const [key, v] of desired) if (this.desired.get(key) !== v) this.touch(key);
    for (const key of this.desired.keys()) if (!desired.has(key)) this.touch(key);
    this.desired = desired;
    const shapes = new Set<RouteShape>();
    for (const v of desired.values()) if (!isSource(v)) shapes.add(v);
    this.shapes.retain(shapes);
  }

  /** One route, by its prefix (main table, default metric unless the shape says otherwise). */
  setRoute(dst: string, shape: RouteShape): void {
    const key = routeKey(shape.table, dst, shape.metric);
    if (this.desired.get(key) === shape) return;
    this.touch(key);
    this.desired.set(key, shape);
  }

  /** One route in the main table with the default metric, described by `source` (resolved when sent). */
  setSource(dst: string, source: RouteSource): void {
    if (this.desired.get(dst) === source) return;
    this.touch(dst);
    this.desired.set(dst, source);
  }

  /** No route at `key` (a routeKey; the prefix itself for the main table and default metric). */
  remove(key: string): void {
    if (!this.desired.has(key)) return;
    this.touch(key);
    this.desired.delete(key);
  }

  /** What is desired at `key`, resolved. */
  get(key: string): RouteShape | undefined {
    const v = this.desired.get(key);
    if (v === undefined || !isSource(v)) return v;
    const r = this.resolveSource(v);
    return typeof r === 'string' ? undefined : r;
  }

  /** What is desired at `key` as given (a shape or a source). */
  desiredAt(key: string): RouteShape | RouteSource | undefined {
    return this.desired.get(key);
  }

  /** The desired sources with their prefixes. */
  *sources(): IterableIterator<[string, RouteSource]> {
    for (const [key, v] of this.desired) if (isSource(v)) yield [key, v];
  }

  /** A key whose desired state is about to change: from in step (the kernel has ours) to dirty. */
  private touch(key: string): void {
    if (this.failed.size > 0) this.failed.delete(key);
    if (this.dirty.has(key)) return;
    this.dirty.set(key, this.desired.has(key));
  }

  /** Dump the kernel on the next apply (and repair whatever drifted). */
  requestResync(): void {
    this.resyncDue = true;
  }

  /** Changes wait for apply(). */
  get pending(): boolean {
    return this.dirty.size > 0 || this.resyncDue;
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
    return [...this.invalid, ...this.failed.values()];
  }

  get routesProgrammed(): number {
    let notYet = 0;
    for (const key of this.dirty.keys()) if (this.desired.has(key)) notYet++;
    return this.desired.size - notYet;
  }

  get lastApplyMs(): number {
    return this.counters.lastApplyMs;
  }

  get size(): number {
    return this.desired.size;
  }

  get stats(): RouteReconcilerStats {
    return { desiredRoutes: this.desired.size, routesProgrammed: this.routesProgrammed, ...this.counters };
  }

  private async resync(): Promise<void> {
    this.resyncDue = false;
    this.counters.resyncs++;
    const kernel = await this.kernel.dump();
    // Compared with the desired set as it is now (changes made during the dump included),
    // the dump says everything: what it does not call dirty is in step.
    this.dirty = kernelState((k) => this.get(k), this.desired.keys(), kernel, this.protocol).dirty;
    this.failed.clear();
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
   * The dirty keys as operations, in chunks built just before they go (so the request
   * objects of 100k routes never all live at once), two chunks in flight: the next is
   * encoded while the kernel works on the last.
   */
  private async send(result: ApplyResult): Promise<void> {
    const budget = this.dirty.size;
    let seen = 0;
    const iter = this.dirty.entries();
    const nextChunk = (): { keys: string[]; ops: RouteOp[] } | undefined => {
      const keys: string[] = [];
      const ops: RouteOp[] = [];
      while (ops.length < this.chunk && seen < budget) {
        const n = iter.next();
        if (n.done) break;
        seen++;
        const [key, ours] = n.value;
        if (this.failed.has(key)) continue;
        const v = this.desired.get(key);
        if (v === undefined && this.holding) continue;
        let want: RouteShape | undefined;
        if (v !== undefined && isSource(v)) {
          const r = this.resolveSource(v);
          if (typeof r === 'string') {
            // Nothing to program: what we had there goes, and the reason is reported.
            const e: RouteError = { dst: parseRouteKey(key).dst, op: 'invalid', errno: 0, message: r };
            this.failed.set(key, e);
            result.errors.push(e);
            if (ours) {
              keys.push(key);
              ops.push(routeOp(key, undefined, true, this.protocol)!);
            }
            continue;
          }
          want = r;
        } else {
          want = v;
        }
        this.dirty.delete(key);
        const op = routeOp(key, want, ours, this.protocol);
        if (!op) continue;
        keys.push(key);
        ops.push(op);
      }
      return ops.length > 0 ? { keys, ops } : undefined;
    };
    const settle = (keys: readonly string[], kinds: readonly RouteOp['op'][], results: Awaited<ReturnType<RouteKernel['apply']>>): void => {
      for (let i = 0; i < results.length; i++) {
        const key = keys[i]!;
        const op = kinds[i]!;
        const res = results[i]!;
        if (res.ok) {
          if (op === 'add') result.added++;
          else if (op === 'replace') result.replaced++;
          else result.deleted++;
        } else {
          const { dst, table } = parseRouteKey(key);
          const e: RouteError = { dst, table, op, errno: res.errno, message: res.message };
          this.failed.set(key, e);
          result.errors.push(e);
          // Unknown now: the resync this causes tells.
          if (!this.dirty.has(key)) this.dirty.set(key, op !== 'add');
        }
      }
    };
    let prev: Promise<void> | undefined;
    for (let chunk = nextChunk(); chunk; chunk = nextChunk()) {
      const { keys, ops } = chunk;
      result.ops += ops.length;
      const kinds = ops.map((o) => o.op);
      const p = this.kernel.apply(ops).then((r) => settle(keys, kinds, r));
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
