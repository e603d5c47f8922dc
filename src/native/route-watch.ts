// Route events of the calling thread's network namespace (the main thread's), as one
// "routes changed" signal: the kernel drops, before anyone wakes, the events about routes
// of `skipProtocol` (the caller's own), and a burst of the rest calls `onChange` once
// until it has run. The caller dumps what it needs then.

import { ValidationError } from '../errors.js';
import { callSync } from './binding.js';

export interface RouteWatchHandle {
  /** Closes the socket and ends the thread; idempotent. */
  stop(): void;
}

export function routeWatch(onChange: () => void, skipProtocol: number): RouteWatchHandle {
  if (!Number.isInteger(skipProtocol) || skipProtocol < 0 || skipProtocol > 255) throw new ValidationError('skipProtocol', 'must be 0..255');
  return callSync((n) => n.routeWatch(onChange, skipProtocol));
}
