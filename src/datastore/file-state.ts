// The file backend's on-disk state: one JSON file replaced atomically, so resources,
// revision and event log are always mutually consistent.
import { mkdir, open, rename, stat, unlink, readdir } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DatastoreError } from '../errors.js';
import type { StoredResource, WatchEvent } from './datastore.js';

export const FORMAT_VERSION = 1;
export const STATE_FILE = 'store.json';
const TMP_PREFIX = `.${STATE_FILE}.`;

export interface StoreState {
  formatVersion: number;
  /** Revision of the last write; 0 for an empty store. */
  revision: number;
  /** Events with revision <= this may have been dropped from `events`. */
  compactRevision: number;
  /** Keyed by resourceKey(kind, name). */
  resources: Record<string, StoredResource>;
  /** Oldest first; never splits the events of one revision. */
  events: WatchEvent[];
}

export function emptyState(): StoreState {
  return { formatVersion: FORMAT_VERSION, revision: 0, compactRevision: 0, resources: {}, events: [] };
}

export function resourceKey(kind: string, name: string): string {
  return `${kind}/${name}`;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function parseState(text: string, file: string): StoreState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new DatastoreError(`${file}: corrupted datastore state file (invalid JSON: ${message(err)})`, { cause: err });
  }
  const bad = (why: string) => new DatastoreError(`${file}: corrupted datastore state file (${why})`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('not a JSON object');
  const s = raw as Partial<StoreState>;
  if (s.formatVersion !== FORMAT_VERSION) {
    throw new DatastoreError(`${file}: unsupported datastore format version ${JSON.stringify(s.formatVersion)} (expected ${FORMAT_VERSION})`);
  }
  const isRev = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  if (!isRev(s.revision)) throw bad('revision is not a non-negative integer');
  if (!isRev(s.compactRevision) || s.compactRevision > s.revision) throw bad('bad compactRevision');
  if (typeof s.resources !== 'object' || s.resources === null || Array.isArray(s.resources)) throw bad('resources is not an object');
  if (!Array.isArray(s.events)) throw bad('events is not an array');
  for (const [key, r] of Object.entries(s.resources)) {
    if (typeof r?.kind !== 'string' || typeof r.metadata?.name !== 'string' || key !== resourceKey(r.kind, r.metadata.name)) {
      throw bad(`resource entry ${JSON.stringify(key)} does not match its kind and name`);
    }
  }
  return s as StoreState;
}

/**
 * Reads and writes DIR/store.json. Parsed states are cached by file identity, so callers
 * must treat returned states as immutable.
 */
export class StateFile {
  readonly path: string;
  private cache?: { id: string; state: StoreState };

  constructor(readonly dir: string) {
    this.path = join(dir, STATE_FILE);
  }

  async read(): Promise<StoreState> {
    let fh;
    try {
      fh = await open(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
      throw new DatastoreError(`${this.path}: cannot read datastore: ${message(err)}`, { cause: err });
    }
    try {
      // fstat on the open fd: the identity and the content belong to the same inode.
      const id = fileId(await fh.stat({ bigint: true }));
      if (this.cache?.id === id) return this.cache.state;
      const state = parseState(await fh.readFile('utf8'), this.path);
      this.cache = { id, state };
      return state;
    } catch (err) {
      if (err instanceof DatastoreError) throw err;
      throw new DatastoreError(`${this.path}: cannot read datastore: ${message(err)}`, { cause: err });
    } finally {
      await fh.close();
    }
  }

  /** Creates DIR (0700) if missing. Needed before locking, as the lock lives in DIR. */
  async ensureDir(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new DatastoreError(`${this.dir}: cannot create datastore directory: ${message(err)}`, { cause: err });
    }
  }

  /**
   * Crash-safe replace: temp file in the same dir, fsync, rename, fsync the dir. Call
   * only while holding the store lock; `beforeCommit` may throw to abort the rename.
   */
  async write(state: StoreState, beforeCommit: () => void = () => {}): Promise<void> {
    const tmp = join(this.dir, `${TMP_PREFIX}${process.pid}.${randomUUID()}.tmp`);
    try {
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(JSON.stringify(state));
        await fh.sync();
      } finally {
        await fh.close();
      }
      beforeCommit();
      await rename(tmp, this.path);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      if (err instanceof DatastoreError) throw err;
      throw new DatastoreError(`${this.path}: cannot write datastore: ${message(err)}`, { cause: err });
    }
    try {
      await fsyncDir(this.dir);
      // We still hold the lock, so this identity is ours: later reads skip the re-parse.
      this.cache = { id: fileId(await stat(this.path, { bigint: true })), state };
    } catch (err) {
      throw new DatastoreError(`${this.path}: written, but syncing ${this.dir} failed: ${message(err)}`, { cause: err });
    }
  }

  /** Removes temp files left by writers that crashed mid-write (call under the lock). */
  async removeStaleTemps(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    await Promise.all(
      names.filter((n) => n.startsWith(TMP_PREFIX) && n.endsWith('.tmp')).map((n) => unlink(join(this.dir, n)).catch(() => {})),
    );
  }
}

function fileId(st: import('node:fs').BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch (err) {
    // Some filesystems refuse fsync on directories; the rename is still atomic there.
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
  } finally {
    await fh.close();
  }
}
