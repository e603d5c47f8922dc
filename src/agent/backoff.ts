// Retry pauses with "equal jitter": half the capped exponential step, plus a random part
// of the other half, so agents that lost the datastore together do not return in step.

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  /** [0, 1); injectable for tests. */
  random?: () => number;
}

/** The pause before retry number `attempt` (1 = after the first failure). */
export function backoffMs(attempt: number, o: BackoffOptions = {}): number {
  const step = Math.min(o.maxMs ?? 15_000, (o.initialMs ?? 1000) * 2 ** Math.min(attempt - 1, 20));
  return Math.round(step / 2 + (o.random ?? Math.random)() * (step / 2));
}
