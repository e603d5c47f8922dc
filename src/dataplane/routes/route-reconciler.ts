// Declare the full set of routes (setRoutes), then apply(): the kernel's routes under
// Tabby's protocol are dumped and only the difference is sent. Existing Tabby routes
// are adopted, not flushed, so a restart with the same set changes nothing; a periodic
// resync repairs routes changed or deleted by hand. Knows nothing of BGP.

import { performance } from 'node:perf_hooks';
import { ValidationError } from '../../errors.js';
import { RTPROT_TABBY } from './route-protocol.js';
import { normaliseDesiredRoute, type DesiredRoute, type NormalRoute } from './desired-route.js';
import { routeDiff } from './route-diff.js';
import { netlinkRouteKernel, type RouteKernel } from './route-kernel.js';

export interface RouteReconcilerOptions {
  netns?: string;
  /** rtm_protocol owned by this reconciler; default RTPROT_TABBY. */
  protocol?: number;
  /** Resync period once start()ed; default 30 s. */
  resyncIntervalMs?: number;
  /** Defaults to netlink in `netns`. */
  kernel?: RouteKernel;
  /** Failures of background resyncs (the dump itself failing, say). */
  onError?: (err: unknown) => void;
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
  /** Per-route failures (retried on the next apply), including invalid desired routes. */
  errors: RouteError[];
  durationMs: number;
}

export interface RouteReconcilerStats {
  desiredRoutes: number;
  /** Desired routes the kernel held as wanted after the last apply. */
  routesProgrammed: number;
  applies: number;
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
  private readonly onError: (err: unknown) => void;
  private desired = new Map<string, NormalRoute>();
  private invalid: RouteError[] = [];
  private errors: RouteError[] = [];
  private inflight: Promise<ApplyResult> | undefined;
  private queued: Promise<ApplyResult> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly counters = {
    routesProgrammed: 0, applies: 0, applyFailures: 0, opsSent: 0, opErrors: 0, lastApplyMs: 0, totalApplyMs: 0,
  };

  constructor(opts: RouteReconcilerOptions = {}) {
    this.protocol = opts.protocol ?? RTPROT_TABBY;
    const ns = opts.netns === undefined ? {} : { netns: opts.netns };
    this.kernel = opts.kernel ?? netlinkRouteKernel({ protocol: this.protocol, ...ns });
    this.resyncMs = opts.resyncIntervalMs ?? 30_000;
    this.onError = opts.onError ?? (() => {});
  }

  /**
   * Declares the full desired set (replacing the previous one). Invalid routes and
   * duplicates are left out and returned (and kept in lastErrors); the rest go ahead.
   */
  /** Add and replace, but delete nothing (set while an agent restart re-converges). */
  hold = false;

  setRoutes(routes: readonly DesiredRoute[]): RouteError[] {
    const desired = new Map<string, NormalRoute>();
    const invalid: RouteError[] = [];
    routes.forEach((r, i) => {
      const dst = typeof r?.dst === 'string' ? r.dst : `routes[${i}]`;
      try {
        const n = normaliseDesiredRoute(r);
        if (desired.has(n.key)) throw new ValidationError('', `duplicate route (table ${n.table}, metric ${n.metric})`);
        desired.set(n.key, n);
      } catch (err) {
        invalid.push({ dst, op: 'invalid', errno: 0, message: (err as Error).message });
      }
    });
    this.desired = desired;
    this.invalid = invalid;
    return invalid;
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

  /** Applies now and then every resync interval (timers do not keep the process alive). */
  start(): void {
    if (this.timer) return;
    const tick = (): void => {
      this.apply().catch((err: unknown) => this.onError(err));
    };
    this.timer = setInterval(tick, this.resyncMs);
    this.timer.unref();
    tick();
  }

  /** Stops resyncing and waits for a run in progress. Kernel routes stay as they are. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([this.inflight, this.queued]);
  }

  /** Failures of the last apply plus the invalid desired routes. */
  get lastErrors(): readonly RouteError[] {
    return this.errors;
  }

  get routesProgrammed(): number {
    return this.counters.routesProgrammed;
  }

  get lastApplyMs(): number {
    return this.counters.lastApplyMs;
  }

  get stats(): RouteReconcilerStats {
    return { desiredRoutes: this.desired.size, ...this.counters };
  }

  private async run(): Promise<ApplyResult> {
    const started = performance.now();
    const desired = this.desired;
    const invalid = this.invalid;
    this.counters.applies++;
    try {
      const kernel = await this.kernel.dump();
      const diff = routeDiff(desired, kernel, this.protocol);
      const { converged } = diff;
      // While holding, Tabby's routes that are not (yet) desired stay: after a restart BGP
      // has not relearned them, and deleting them would drop working traffic.
      const ops = this.hold ? diff.ops.filter((op) => op.op !== 'delete') : diff.ops;
      const results = ops.length > 0 ? await this.kernel.apply(ops) : [];
      const result: ApplyResult = { ops: ops.length, added: 0, replaced: 0, deleted: 0, errors: [...invalid], durationMs: 0 };
      let programmed = converged;
      ops.forEach((op, i) => {
        const res = results[i] ?? { ok: false as const, errno: 0, message: 'no result' };
        if (res.ok) {
          if (op.op === 'add') result.added++;
          else if (op.op === 'replace') result.replaced++;
          else result.deleted++;
          if (op.op !== 'delete') programmed++;
        } else {
          result.errors.push({ dst: op.route.dst, table: op.route.table ?? 254, op: op.op, errno: res.errno, message: res.message });
        }
      });
      result.durationMs = performance.now() - started;
      this.errors = result.errors;
      this.counters.routesProgrammed = programmed;
      this.counters.opsSent += ops.length;
      this.counters.opErrors += result.errors.length - invalid.length;
      this.counters.lastApplyMs = result.durationMs;
      this.counters.totalApplyMs += result.durationMs;
      return result;
    } catch (err) {
      this.counters.applyFailures++;
      throw err;
    }
  }
}
