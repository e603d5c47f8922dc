// The flame data of `node --cpu-prof` reduced to what a report can print: the functions
// with the most self time, by name and source location, as shares of all samples.

import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
}

export interface HotFunction {
  name: string;
  /** file:line (1-based), or a pseudo-frame such as (garbage collector). */
  where: string;
  /** Share of all samples, 0..1. */
  self: number;
  ms: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** (program), (idle), (garbage collector) and the rest, as shares. */
  idle: number;
  gc: number;
  top: HotFunction[];
}

export function summarizeProfile(file: string, topN = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const totalMs = (p.endTime - p.startTime) / 1000;
  let hits = 0;
  const byFn = new Map<string, { name: string; where: string; hits: number }>();
  for (const n of p.nodes) {
    const h = n.hitCount ?? 0;
    if (h === 0) continue;
    hits += h;
    const name = n.callFrame.functionName || '(anonymous)';
    const where = n.callFrame.url ? `${basename(n.callFrame.url)}:${n.callFrame.lineNumber + 1}` : name;
    const k = `${name}\u0000${where}`;
    const e = byFn.get(k);
    if (e) e.hits += h;
    else byFn.set(k, { name, where, hits: h });
  }
  const share = (name: string) => [...byFn.values()].filter((e) => e.name === name).reduce((s, e) => s + e.hits, 0) / (hits || 1);
  const top = [...byFn.values()]
    .filter((e) => e.name !== '(idle)')
    .sort((a, b) => b.hits - a.hits)
    .slice(0, topN)
    .map((e) => ({ name: e.name, where: e.where, self: e.hits / (hits || 1), ms: (e.hits / (hits || 1)) * totalMs }));
  return { file, totalMs, idle: share('(idle)'), gc: share('(garbage collector)'), top };
}

/** The newest .cpuprofile in `dir`, summarized; undefined when there is none. */
export function newestProfile(dir: string, topN?: number): ProfileSummary | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  const last = files[files.length - 1];
  return last === undefined ? undefined : summarizeProfile(join(dir, last), topN);
}

export function formatProfile(s: ProfileSummary): string[] {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return [
    `profile ${basename(s.file)}: ${s.totalMs.toFixed(0)} ms, idle ${pct(s.idle)}, GC ${pct(s.gc)}; top self time:`,
    ...s.top.map((f) => `  ${pct(f.self).padStart(6)}  ${f.name} (${f.where})`),
  ];
}
