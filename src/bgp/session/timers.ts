// Every timer of a session goes through a Clock, so unit tests drive time by hand
// (FakeClock) and never sleep.

import type { Clock, TimerHandle } from '../../util/clock.js';

/** RFC 4271 §8 timers, plus the idle hold that spaces automatic restarts after errors. */
export type TimerName = 'connectRetry' | 'hold' | 'keepalive' | 'idleHold';

/**
 * RFC 4271 §10: ConnectRetry and KeepAlive (the two of these we run) are jittered by a
 * factor uniform in [0.75, 1.0], so speakers that restarted together drift apart.
 */
export const JITTERED: ReadonlySet<TimerName> = new Set<TimerName>(['connectRetry', 'keepalive']);

export function jitter(ms: number, random: () => number): number {
  return Math.round(ms * (0.75 + 0.25 * random()));
}

/** Named one-shot timers: starting a running timer restarts it. */
export class Timers {
  private readonly running = new Map<TimerName, TimerHandle>();

  constructor(
    private readonly clock: Clock,
    private readonly fire: (name: TimerName) => void,
  ) {}

  start(name: TimerName, ms: number): void {
    this.stop(name);
    const handle = this.clock.setTimeout(() => {
      if (this.running.get(name) !== handle) return;
      this.running.delete(name);
      this.fire(name);
    }, ms);
    this.running.set(name, handle);
  }

  stop(name: TimerName): void {
    const h = this.running.get(name);
    if (h === undefined) return;
    this.clock.clearTimeout(h);
    this.running.delete(name);
  }

  stopAll(): void {
    for (const name of [...this.running.keys()]) this.stop(name);
  }

  isRunning(name: TimerName): boolean {
    return this.running.has(name);
  }
}

export interface BackoffOptions {
  /** First idle hold after an error (ms). */
  initial: number;
  /** Cap of the doubling (ms). */
  max: number;
  /** A session Established this long, or an error this long after the previous one, starts again from `initial` (ms). */
  resetAfter: number;
}

/**
 * Idle hold with exponential back-off after errors (BIRD's "error wait time 5,30" with
 * its "error forget time"): each error doubles the wait up to the cap; a stable session
 * or a long quiet spell forgets the history.
 */
export class IdleBackoff {
  private current = 0;
  private lastErrorAt = Number.NEGATIVE_INFINITY;

  constructor(readonly opts: BackoffOptions) {}

  /** The wait after an error at `now`; `establishedFor` is how long the session had been up (0 if never). */
  next(now: number, establishedFor: number): number {
    const forget = establishedFor >= this.opts.resetAfter || now - this.lastErrorAt >= this.opts.resetAfter;
    this.current = this.current === 0 || forget ? this.opts.initial : Math.min(this.current * 2, this.opts.max);
    this.lastErrorAt = now;
    return this.current;
  }

  /** The last wait handed out (0 before any error). */
  get currentMs(): number {
    return this.current;
  }

  reset(): void {
    this.current = 0;
    this.lastErrorAt = Number.NEGATIVE_INFINITY;
  }
}
