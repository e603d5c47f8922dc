// A Clock for tests: time moves only when the test calls advance(), and timers fire
// in due order with the microtasks they cause run in between.

import type { Clock, TimerHandle } from '../../src/util/clock.js';

interface Pending {
  id: number;
  due: number;
  fn: () => void;
}

/** Lets queued microtasks and I/O callbacks of in-memory transports run. */
export function settle(rounds = 3): Promise<void> {
  let p = Promise.resolve();
  for (let i = 0; i < rounds; i++) p = p.then(() => new Promise<void>((r) => setImmediate(r)));
  return p;
}

export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private pending: Pending[] = [];

  constructor(start = Date.UTC(2024, 0, 1)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const p = { id: ++this.seq, due: this.t + Math.max(0, ms), fn };
    this.pending.push(p);
    return p.id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.pending = this.pending.filter((p) => p.id !== handle);
  }

  /** Due times (relative to now) of the timers still pending, soonest first. */
  get timers(): number[] {
    return this.pending.map((p) => p.due - this.t).sort((a, b) => a - b);
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    await settle();
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.pending) if (p.due <= target && (!next || p.due < next.due || (p.due === next.due && p.id < next.id))) next = p;
      if (!next) break;
      this.pending = this.pending.filter((p) => p !== next);
      this.t = next.due;
      next.fn();
      await settle();
    }
    this.t = target;
    await settle();
  }
}
