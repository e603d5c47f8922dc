// Running system tools (ip, tc, bird, …) for the lab, tests and benchmarks: arguments as
// arrays (never a shell), a time bound on every call, and the tool's own stderr in errors.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { TabbyError } from '../errors.js';

export class CommandError extends TabbyError {
  override readonly code = 'COMMAND';
  constructor(readonly command: string[], readonly exitCode: number | null, readonly stderr: string) {
    super(`${command.join(' ')}: ${stderr.trim().split('\n').pop() || `exit ${exitCode}`}`);
  }
}

export interface RunOptions {
  /** Run inside this network namespace (ip netns exec). */
  netns?: string;
  timeoutMs?: number;
  input?: string;
  /** Resolve instead of throwing on a non-zero exit. */
  allowFail?: boolean;
  /** Environment of the command (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function inNetns(netns: string | undefined, argv: string[]): string[] {
  return netns ? ['ip', 'netns', 'exec', netns, ...argv] : argv;
}

export function run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const full = inNetns(opts.netns, argv);
  return new Promise((resolve, reject) => {
    const child = execFile(full[0]!, full.slice(1), { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 64 << 20, env: opts.env ?? process.env }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      if (code !== 0 && !opts.allowFail) reject(new CommandError(full, code, stderr || String(err?.message ?? '')));
      else resolve({ code, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** `ip …` (optionally `ip -n NS …`). */
export function ip(args: string[], netns?: string, opts: Omit<RunOptions, 'netns'> = {}): Promise<RunResult> {
  return run(['ip', ...(netns ? ['-n', netns] : []), ...args], opts);
}

/** Start a long-running process (detached, output to a log file); the caller keeps the PID. */
export function startDaemon(argv: string[], opts: { netns?: string; logFile: string; env?: NodeJS.ProcessEnv }): ChildProcess {
  const full = inNetns(opts.netns, argv);
  const fd = openSync(opts.logFile, 'a');
  try {
    const child = spawn(full[0]!, full.slice(1), { detached: true, stdio: ['ignore', fd, fd], env: opts.env ?? process.env });
    child.unref();
    return child;
  } finally {
    closeSync(fd);
  }
}

/** Stop a process we started: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopPid(pid: number, graceMs = 3000): Promise<void> {
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const until = Date.now() + graceMs;
  while (alive() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  if (alive()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** Poll `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, everyMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= until) {
      throw new TabbyError(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
