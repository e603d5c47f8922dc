// Everything a benchmark starts it stops and removes: namespaces (all named `tbb-…`),
// processes by PID, temporary directories. Cleanups run in reverse order from a
// `finally`, and also on SIGINT/SIGTERM before the process exits.

import { rmSync } from 'node:fs';
import { run, stopPid } from '../util/exec.js';

type Cleanup = () => Promise<void> | void;

const stack: Cleanup[] = [];
let installed = false;
let interrupted = false;

export const NS_PREFIX = 'tbb-';

export function onCleanup(fn: Cleanup): Cleanup {
  stack.push(fn);
  return fn;
}

/** Runs one cleanup now and forgets it. */
export async function release(fn: Cleanup): Promise<void> {
  const i = stack.lastIndexOf(fn);
  if (i >= 0) stack.splice(i, 1);
  try {
    await fn();
  } catch {
    /* best effort */
  }
}

export async function cleanupAll(): Promise<void> {
  while (stack.length) {
    const fn = stack.pop()!;
    try {
      await fn();
    } catch {
      /* best effort */
    }
  }
}

export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  const handler = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    if (shielded > 0) {
      process.stderr.write(`\ntabby bench: ${sig}, finishing a step that cleans up after itself, then cleaning up\n`);
      return;
    }
    process.stderr.write(`\ntabby bench: ${sig}, cleaning up\n`);
    void cleanupAll().finally(() => process.exit(130));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

let shielded = 0;

/**
 * Runs `fn` (code that removes what it builds in its own finally, such as
 * benchNatThroughput) without being cut short by SIGINT/SIGTERM; an interrupt that came
 * meanwhile takes effect when it returns.
 */
export async function runShielded<T>(fn: () => Promise<T>): Promise<T> {
  shielded++;
  try {
    return await fn();
  } finally {
    shielded--;
    if (interrupted && shielded === 0) {
      await cleanupAll();
      process.exit(130);
    }
  }
}

let nsCounter = 0;

/** A fresh namespace `tbb-TAG-PID-N` with lo up; deleted by cleanup. */
export async function makeNetns(tag: string): Promise<string> {
  const name = `${NS_PREFIX}${tag}-${process.pid}-${nsCounter++}`;
  await run(['ip', 'netns', 'add', name]);
  onCleanup(() => deleteNetns(name));
  await run(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

export async function deleteNetns(name: string): Promise<void> {
  await run(['ip', 'netns', 'del', name], { allowFail: true, timeoutMs: 60_000 });
}

export function trackPid(pid: number | undefined): Cleanup {
  return onCleanup(async () => {
    if (pid) await stopPid(pid, 2000);
  });
}

export function trackDir(dir: string): Cleanup {
  return onCleanup(() => rmSync(dir, { recursive: true, force: true }));
}
