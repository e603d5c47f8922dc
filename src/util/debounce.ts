// Coalesces bursts: `fn` runs once things have been quiet for `quietMs`, but never later
// than `maxWaitMs` after the first poke of a burst, however often it is poked meanwhile
// (a steady trickle of changes still reaches the kernel in bounded time). `fn` is never
// run twice at once: pokes during a run start the next burst, which runs after it.
// A poke only notes the time (it is called once per route in a burst); the one timer
// looks at it when it fires.

export interface DebounceOptions {
  quietMs: number;
  maxWaitMs: number;
  /** Where a failure of `fn` goes (default: dropped; `fn` should handle its own). */
  onError?: (err: unknown) => void;
}

export class Debounce {
  private timer: NodeJS.Timeout | undefined;
  private firstPoke = 0;
  private lastPoke = 0;
  private running = false;
  /** When the first poke during a run came (the next run's burst starts then). */
  private pokedWhileRunning: number | undefined;
  private stopped = false;

  constructor(
    private readonly opts: DebounceOptions,
    private readonly fn: () => Promise<void> | void,
  ) {}

  /** Something changed: run `fn` soon. */
  poke(): void {
    if (this.stopped) return;
    const now = Date.now();
    this.lastPoke = now;
    if (this.running) {
      this.pokedWhileRunning ??= now;
      return;
    }
    if (this.timer !== undefined) return;
    this.firstPoke = now;
    this.arm(this.opts.quietMs);
  }

  private due(): number {
    return Math.min(this.lastPoke + this.opts.quietMs, this.firstPoke + this.opts.maxWaitMs);
  }

  private arm(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.expired(), Math.max(0, ms));
    this.timer.unref?.();
  }

  private expired(): void {
    this.timer = undefined;
    const wait = this.due() - Date.now();
    if (wait > 0) this.arm(wait);
    else void this.fire();
  }

  /** Runs `fn` now (after a run in progress) instead of waiting. */
  flush(): void {
    if (this.stopped) return;
    if (this.running) {
      this.pokedWhileRunning = 0; // overdue: runs as soon as this one ends
      return;
    }
    void this.fire();
  }

  get pending(): boolean {
    return this.timer !== undefined || this.pokedWhileRunning !== undefined;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async fire(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running = true;
    try {
      await this.fn();
    } catch (err) {
      this.opts.onError?.(err);
    } finally {
      this.running = false;
      const since = this.pokedWhileRunning;
      this.pokedWhileRunning = undefined;
      if (since !== undefined && !this.stopped) {
        this.firstPoke = since;
        this.arm(this.due() - Date.now());
      }
    }
  }
}
