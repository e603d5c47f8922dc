// The startup/restart hold: an agent that starts while the kernel still holds its routes
// (a restart with forwarding preserved) keeps them — adds and replaces go ahead, deletes
// wait — until BGP has reconverged: every desired session Established and no best-path
// change for `quietMs` (the initial tables are in), or `maxMs` after the start whatever
// happened. Pure: the caller passes the time and the session states, and looks again
// when told to. Once released it stays released.

export interface HoldOptions {
  /** Tabby's routes were in the kernel at start. */
  restarting: boolean;
  startedAt: number;
  /** Release after this long in any case (default 90 s). */
  maxMs?: number;
  /** Quiet period after the last best-path change (default 3 s). */
  quietMs?: number;
}

export interface HoldInput {
  now: number;
  /** Ids of every session the plan wants (not merely those the speaker has yet). */
  desired: readonly string[];
  /** Ids of the sessions that are Established. */
  established: ReadonlySet<string>;
  /** When a best path last changed. */
  lastChange: number;
  /**
   * The speaker still defers route selection after its own restart (RFC 4724 §4.1): no
   * best paths have come yet, so nothing is quiet. Its deferral timer bounds this.
   */
  recovering?: boolean;
}

export interface HoldState {
  holding: boolean;
  /** While holding: look again after this long even if nothing else happens. */
  recheckMs?: number;
}

export class RestartHold {
  private held: boolean;
  private readonly maxMs: number;
  private readonly quietMs: number;

  constructor(private readonly opts: HoldOptions) {
    this.held = opts.restarting;
    this.maxMs = opts.maxMs ?? 90_000;
    this.quietMs = opts.quietMs ?? 3000;
  }

  get holding(): boolean {
    return this.held;
  }

  update(s: HoldInput): HoldState {
    if (!this.held) return { holding: false };
    if (s.recovering) return { holding: true, recheckMs: 1000 };
    const sinceStart = s.now - this.opts.startedAt;
    const quietFor = s.now - s.lastChange;
    const allUp = s.desired.every((id) => s.established.has(id));
    if (sinceStart >= this.maxMs || (allUp && quietFor >= this.quietMs)) {
      this.held = false;
      return { holding: false };
    }
    const untilMax = this.maxMs - sinceStart;
    const untilQuiet = allUp ? this.quietMs - quietFor : Infinity;
    return { holding: true, recheckMs: Math.max(1, Math.min(untilMax, untilQuiet, 1000)) };
  }
}
