// The output side of `tabby bench`: raw samples, medians and spread, ratios taken per
// rep (median, min, max), the machine, commit and date, the terminal table, the JSON
// file (DESIGN.md's contract) and an SVG bar chart of the ratios.

import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { packageRoot } from '../util/package-root.js';
import { run } from '../util/exec.js';

/** One raw measurement. `subject` is what was measured (tabby, ip-batch, bird, …). */
export interface Sample {
  metric: string;
  subject: string;
  rep: number;
  value: number;
  unit: string;
  [extra: string]: unknown;
}

export interface Summary {
  metric: string;
  subject: string;
  unit: string;
  n: number;
  median: number;
  min: number;
  max: number;
  /** (max − min) ÷ median. */
  spread: number;
}

export interface Machine {
  cpu: string;
  cores: number;
  kernel: string;
  node: string;
  versions: Record<string, string>;
}

/** One ratio over the reps: each rep's own ratio (both sides measured in that rep). */
export interface RatioStat {
  median: number;
  min: number;
  max: number;
  reps: number[];
}

export interface BenchResult {
  benchmark: string;
  machine: Machine;
  /** `git rev-parse HEAD` of the checkout that ran (with -dirty for local changes). */
  commit: string;
  /** ISO 8601, when the run finished. */
  date: string;
  options: Record<string, unknown>;
  samples: Sample[];
  summary: Summary[];
  /** Median of the per-rep ratios; greater than 1 means Tabby is better. */
  ratios: Record<string, number>;
  ratioStats: Record<string, RatioStat>;
  /** Targets the ratios are measured against (ratio ≥ target is a pass). */
  targets: Record<string, number>;
  notes: string[];
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function summarize(samples: readonly Sample[]): Summary[] {
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    const k = `${s.metric}\u0000${s.subject}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(s);
  }
  return [...groups.values()].map((g) => {
    const v = g.map((s) => s.value);
    const med = median(v);
    const min = Math.min(...v);
    const max = Math.max(...v);
    return { metric: g[0]!.metric, subject: g[0]!.subject, unit: g[0]!.unit, n: v.length, median: med, min, max, spread: med ? (max - min) / med : 0 };
  });
}

/** Median of one metric/subject pair from samples (NaN if none). */
export function med(samples: readonly Sample[], metric: string, subject: string): number {
  return median(samples.filter((s) => s.metric === metric && s.subject === subject).map((s) => s.value));
}

async function version(argv: string[], re: RegExp): Promise<string> {
  try {
    const r = await run(argv, { allowFail: true, timeoutMs: 5000 });
    const m = re.exec(r.stdout + r.stderr);
    return m ? m[1]! : 'unknown';
  } catch {
    return 'not installed';
  }
}

export async function machine(): Promise<Machine> {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1]!.trim();
  } catch {
    /* keep os.cpus() */
  }
  return {
    cpu,
    cores: cpus().length,
    kernel: release(),
    node: process.version,
    versions: {
      bird: await version(['bird', '--version'], /BIRD version (\S+)/),
      gobgp: await version(['gobgpd', '--version'], /version (\S+)/),
      iproute2: await version(['ip', '-V'], /iproute2-([\w.]+)/),
      iperf3: await version(['iperf3', '--version'], /iperf (\S+)/),
    },
  };
}

/**
 * Per rep, `top` ÷ `bottom` of one metric: each rep's value of subject `top` over the
 * same rep's value of `bottom` (reps where either is missing are left out).
 */
export function perRep(samples: readonly Sample[], metric: string, top: string, bottom: string): number[] {
  const at = (subject: string) => {
    const m = new Map<number, number>();
    for (const s of samples) if (s.metric === metric && s.subject === subject) m.set(s.rep, s.value);
    return m;
  };
  const a = at(top);
  const b = at(bottom);
  const out: number[] = [];
  for (const [rep, v] of [...a].sort((x, y) => x[0] - y[0])) {
    const w = b.get(rep);
    if (w !== undefined) out.push(v / w);
  }
  return out;
}

export function ratioStat(values: readonly number[]): RatioStat {
  const finite = values.filter((v) => Number.isFinite(v));
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite), reps: [...values] };
}

async function commit(): Promise<string> {
  const git = (args: string[]) => run(['git', '-C', packageRoot, ...args], { allowFail: true, timeoutMs: 5000 }).catch(() => ({ code: -1, stdout: '', stderr: '' }));
  const head = await git(['rev-parse', 'HEAD']);
  if (head.code !== 0) return 'unknown';
  const dirty = (await git(['status', '--porcelain', '--untracked-files=no'])).stdout.trim() !== '';
  return head.stdout.trim() + (dirty ? '-dirty' : '');
}

/**
 * A BenchResult with the machine, commit, date and the summary of `samples` filled in;
 * `ratios` come as per-rep values and leave as their median (with min/max in ratioStats).
 */
export async function benchResult(r: Omit<BenchResult, 'machine' | 'summary' | 'commit' | 'date' | 'ratios' | 'ratioStats'> & { ratios: Record<string, number[]> }): Promise<BenchResult> {
  const ratioStats: Record<string, RatioStat> = {};
  const ratios: Record<string, number> = {};
  for (const [k, values] of Object.entries(r.ratios)) {
    const st = ratioStat(values);
    ratioStats[k] = st;
    ratios[k] = st.median;
  }
  return {
    benchmark: r.benchmark,
    machine: await machine(),
    commit: await commit(),
    date: new Date().toISOString(),
    options: r.options,
    samples: r.samples,
    summary: summarize(r.samples),
    ratios,
    ratioStats,
    targets: r.targets,
    notes: r.notes,
  };
}

/** Ratios below their target, as lines for `--check`. */
export function missedTargets(r: BenchResult): string[] {
  const out: string[] = [];
  for (const [k, t] of Object.entries(r.targets)) {
    const v = r.ratios[k];
    if (v === undefined || !Number.isFinite(v)) out.push(`${k}: not measured (target >= ${t})`);
    else if (v < t) out.push(`${k}: ${v.toFixed(2)} < ${t} (short by ${(((t - v) / t) * 100).toFixed(0)}%)`);
  }
  return out;
}

export function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd()).join('\n') + '\n';
}

export function formatResult(r: BenchResult): string {
  const rows = [['METRIC', 'SUBJECT', 'MEDIAN', 'MIN', 'MAX', 'SPREAD', 'N', 'UNIT']];
  for (const s of r.summary) rows.push([s.metric, s.subject, fmtNum(s.median), fmtNum(s.min), fmtNum(s.max), `${(s.spread * 100).toFixed(0)}%`, String(s.n), s.unit]);
  const ratioRows = [['RATIO (>1 = Tabby better, per rep)', 'MEDIAN', 'MIN', 'MAX', 'TARGET', '']];
  for (const [k, v] of Object.entries(r.ratios)) {
    const t = r.targets[k];
    const st = r.ratioStats[k];
    ratioRows.push([k, v.toFixed(2), st ? st.min.toFixed(2) : '-', st ? st.max.toFixed(2) : '-', t === undefined ? '-' : `>= ${t}`, t === undefined ? '' : v >= t ? 'ok' : 'SHORT']);
  }
  let out = `== tabby bench ${r.benchmark} ==\ncommit ${r.commit}, ${r.date}, ${r.machine.cpu}, ${r.machine.cores} cores, kernel ${r.machine.kernel}\n` + table(rows) + '\n' + table(ratioRows);
  for (const n of r.notes) out += `note: ${n}\n`;
  return out;
}

export function writeJson(file: string, r: BenchResult): void {
  writeFileSync(file, JSON.stringify(r, null, 2) + '\n');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A horizontal bar chart of the ratios with a dashed line at 1.0 (and target ticks). */
export function renderSvg(r: BenchResult): string {
  const entries = Object.entries(r.ratios).filter(([, v]) => Number.isFinite(v));
  const labelW = 330;
  const plotW = 460;
  const barH = 22;
  const gap = 10;
  const top = 50;
  const maxV = Math.max(2, ...entries.map(([, v]) => v), ...Object.values(r.targets)) * 1.1;
  const x = (v: number) => labelW + (Math.max(0, v) / maxV) * plotW;
  const h = top + entries.length * (barH + gap) + 40;
  const w = labelW + plotW + 80;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="13">`);
  parts.push(`<rect width="${w}" height="${h}" fill="white"/>`);
  parts.push(`<text x="10" y="22" font-size="16" font-weight="bold">tabby bench ${esc(r.benchmark)} — ratios (&gt; 1: Tabby better)</text>`);
  parts.push(`<text x="10" y="40" fill="#555">${esc(`${r.machine.cpu}, ${r.machine.cores} cores, kernel ${r.machine.kernel}`)}</text>`);
  entries.forEach(([k, v], i) => {
    const y = top + i * (barH + gap);
    const t = r.targets[k] ?? 1;
    const color = v >= t ? '#3a7d44' : '#c0392b';
    parts.push(`<text x="${labelW - 8}" y="${y + barH * 0.7}" text-anchor="end">${esc(k)}</text>`);
    parts.push(`<rect x="${labelW}" y="${y}" width="${(x(v) - labelW).toFixed(1)}" height="${barH}" fill="${color}"/>`);
    parts.push(`<text x="${(x(v) + 5).toFixed(1)}" y="${y + barH * 0.7}">${v.toFixed(2)}</text>`);
    if (r.targets[k] !== undefined && r.targets[k] !== 1) {
      parts.push(`<line x1="${x(t).toFixed(1)}" y1="${y - 2}" x2="${x(t).toFixed(1)}" y2="${y + barH + 2}" stroke="#333" stroke-width="2"/>`);
    }
  });
  const one = x(1).toFixed(1);
  parts.push(`<line x1="${one}" y1="${top - 6}" x2="${one}" y2="${h - 30}" stroke="black" stroke-dasharray="5,3"/>`);
  parts.push(`<text x="${one}" y="${h - 14}" text-anchor="middle">1.0</text>`);
  parts.push(`<text x="${labelW + plotW}" y="${h - 14}" text-anchor="end" fill="#555">green: meets target, red: short; black tick: target</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

export function writeSvg(file: string, r: BenchResult): void {
  writeFileSync(file, renderSvg(r));
}

/** Progress on stderr: one rewritten line on a terminal, plain lines otherwise. */
export function progress(): (line: string) => void {
  const tty = process.stderr.isTTY;
  return (line) => process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
}

export function endProgress(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
}
