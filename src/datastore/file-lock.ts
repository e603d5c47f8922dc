// Cross-process write lock for a file: store (proper-lockfile: an mkdir-based lock
// directory whose mtime the holder refreshes, so a crashed holder's lock goes stale).
// Loaded on the first write: readers never lock, and it patches fs (graceful-fs) at load.
import { join } from 'node:path';
import { DatastoreError } from '../errors.js';

export const LOCK_NAME = 'store.lock';

const LOCK_OPTIONS = {
  realpath: false,
  // A holder that stops refreshing for this long is presumed dead.
  stale: 10_000,
  // Generous: many writers may queue behind one another (worst case ~20 s).
  retries: { retries: 200, minTimeout: 5, maxTimeout: 100, randomize: true },
};

/**
 * Runs `fn` holding DIR's lock. `fn` gets a check to call right before committing: if
 * the lock was compromised (we stalled past `stale` and someone else took it), abort.
 */
export async function withDirLock<T>(dir: string, fn: (assertHeld: () => void) => Promise<T>): Promise<T> {
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  try {
    const { default: lockfile } = await import('proper-lockfile');
    release = await lockfile.lock(dir, {
      ...LOCK_OPTIONS,
      lockfilePath: join(dir, LOCK_NAME),
      // The default throws from a timer, which would crash the process.
      onCompromised: (err) => {
        compromised = err;
      },
    });
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ELOCKED' ? 'timed out waiting for another writer' : String((err as Error).message);
    throw new DatastoreError(`${join(dir, LOCK_NAME)}: cannot take the datastore lock: ${why}`, { cause: err });
  }
  try {
    return await fn(() => {
      if (compromised) throw new DatastoreError(`${join(dir, LOCK_NAME)}: datastore lock lost: ${compromised.message}`, { cause: compromised });
    });
  } finally {
    await release().catch(() => {});
  }
}
