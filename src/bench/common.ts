// Helpers shared by the benchmarks: kernel route counting, /proc process figures, time.

import { readFileSync } from 'node:fs';
import { TabbyError, UsageError } from '../errors.js';
import { run } from '../util/exec.js';

/** A benchmark could not measure what it set out to (a tool failed, a count is off). */
export class BenchError extends TabbyError {
  override readonly code = 'BENCH';
}

export function now(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/** Prefixes in the Main FIB of a namespace (the "Prefixes" line of /proc/net/fib_triestat). */
export async function fibPrefixes(netns: string): Promise<number> {
  const r = await run(['cat', '/proc/net/fib_triestat'], { netns, timeoutMs: 10_000 });
  const main = /Main:[\s\S]*?Prefixes:\s*(\d+)/.exec(r.stdout);
  return main ? Number(main[1]) : 0;
}

const CLK_TCK = 100;

/** User + system CPU seconds of a process (and its waited-for children). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields after ")" start at field 3 (state): utime is field 14, stime 15
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** Peak resident set (VmHWM) in bytes. */
export function peakRss(pid: number): number {
  const m = /VmHWM:\s*(\d+)\s*kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

export function rss(pid: number): number {
  const m = /VmRSS:\s*(\d+)\s*kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

export function checkInt(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
}
