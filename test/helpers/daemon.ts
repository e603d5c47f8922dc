// Processes the integration tests start: routing daemons (BIRD, GoBGP, ExaBGP) with a config
// file and a log in the test's directory, and killing a child by PID.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startDaemon, waitFor } from '../../src/util/exec.js';

/** Whether process `pid` still exists. */
export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Sends `signal` to `pid` (the child's process) and waits for the child's exit,
 * following up with SIGKILL after `killAfterMs`. Returns at once if the signal cannot
 * be sent (the process is gone).
 */
export async function killAndWait(child: ChildProcess, pid: number, signal: NodeJS.Signals, killAfterMs = 3000): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const t = setTimeout(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }, killAfterMs);
  await exited;
  clearTimeout(t);
}

/** A daemon run inside a namespace: DIR/NAME.EXT is its config, DIR/NAME.log its output. */
export abstract class TestDaemon {
  readonly conf: string;
  readonly logFile: string;
  protected child: ChildProcess | undefined;

  constructor(
    readonly netns: string,
    readonly dir: string,
    readonly name: string,
    confExt: string,
  ) {
    this.conf = join(dir, `${name}.${confExt}`);
    this.logFile = join(dir, `${name}.log`);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /**
   * Writes the config, starts `argv` in the namespace and waits (10 s) until `ready`
   * says so; throws with the log's tail if the daemon exits first.
   */
  protected async launch(config: string, argv: string[], what: string, ready: () => Promise<boolean>, env?: NodeJS.ProcessEnv): Promise<void> {
    writeFileSync(this.conf, config);
    const child = startDaemon(argv, { netns: this.netns, logFile: this.logFile, ...(env ? { env } : {}) });
    this.child = child;
    let exited = false;
    child.once('exit', () => (exited = true));
    await waitFor(`${what} in ${this.netns}`, async () => exited || (await ready()), 10_000, 100);
    if (exited) throw new Error(`${argv[0]!.split('/').pop()} exited: ${this.log().slice(-2000)}`);
  }
}
