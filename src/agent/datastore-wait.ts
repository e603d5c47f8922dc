// Start-up without the datastore: calico-node with WAIT_FOR_DATASTORE=true loops on a
// test query until the store answers (startup.go waitForConnection); Tabby always waits,
// with jittered back-off and one log line per attempt, instead of exiting. Settings that
// can never work (a malformed URI, an unreadable certificate) fail before the first try.
import type { Datastore } from '../datastore/datastore.js';
import type { Logger } from '../util/log.js';
import { backoffMs, type BackoffOptions } from './backoff.js';

export interface WaitOptions extends BackoffOptions {
  /** Called after each failed attempt (readiness shows it). */
  onAttempt?(attempt: number, err: Error): void;
  sleep?(ms: number): Promise<void>;
  /** Stop waiting (SIGTERM): the promise rejects with this signal's reason. */
  signal?: AbortSignal;
}

const realSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason as Error);
    }, { once: true });
  });

export async function waitForDatastore(open: () => Promise<Datastore>, log: Logger, o: WaitOptions = {}): Promise<Datastore> {
  for (let attempt = 1; ; attempt++) {
    o.signal?.throwIfAborted();
    try {
      const store = await open();
      if (attempt > 1) log.info({ attempts: attempt }, 'datastore reachable; starting');
      return store;
    } catch (err) {
      o.signal?.throwIfAborted();
      const retryInMs = backoffMs(attempt, o);
      log.warn({ attempt, retryInMs, err }, `datastore unreachable (attempt ${attempt}); retrying in ${(retryInMs / 1000).toFixed(1)} s`);
      o.onAttempt?.(attempt, err as Error);
      await (o.sleep ? o.sleep(retryInMs) : realSleep(retryInMs, o.signal));
    }
  }
}
