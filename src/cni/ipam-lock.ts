// Calico's host-wide IPAM lock (cni-plugin/pkg/ipamplugin acquireIPAMLockBestEffort):
// plugins on one host take turns at IPAM, so concurrent ADDs do not all fight over the
// node's block. Best effort: if the lock cannot be had, IPAM's conditional writes still
// keep addresses unique, only with more retries.
import lockfile from 'proper-lockfile';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CniLog } from './cni-log.js';

export async function withIpamLock<T>(path: string, log: CniLog, fn: () => Promise<T>): Promise<T> {
  let release: (() => Promise<void>) | undefined;
  try {
    await mkdir(dirname(path), { recursive: true });
    release = await lockfile.lock(path, {
      realpath: false,
      stale: 10_000,
      retries: { retries: 600, minTimeout: 5, maxTimeout: 50, randomize: true },
      onCompromised: () => undefined,
    });
  } catch (err) {
    log.warn({ err, path }, 'cannot take the host-wide IPAM lock; going on without it');
  }
  try {
    return await fn();
  } finally {
    await release?.().catch(() => undefined);
  }
}
