// `tabby bench routes`: install, replace and delete N routes through the addon's
// batched netlink (routeApply) and through `ip -n NS -batch FILE`, the same routes, in
// fresh namespaces. Counts come from /proc/net/fib_triestat inside the namespace.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RTPROT_TABBY } from '../dataplane/routes/route-protocol.js';
import { routeApply, type RouteOp } from '../native/routes.js';
import { run } from '../util/exec.js';
import { deleteNetns, makeNetns, release, trackDir } from './cleanup.js';
import { BenchError, checkInt, fibPrefixes, now } from './common.js';
import { benchResult, perRep, type BenchResult, type Sample } from './report.js';

export interface RoutesOptions {
  count: number;
  prefixLen: number;
  reps: number;
  progress: (line: string) => void;
}

const PHASES = ['add', 'replace', 'delete'] as const;
type Phase = (typeof PHASES)[number];

function prefixes(count: number, len: number): string[] {
  const step = 2 ** (32 - len);
  if (count * step > 2 ** 24) throw new BenchError(`--count ${count} /${len} prefixes do not fit in 10.0.0.0/8`);
  const out = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    const v = 0x0a000000 + i * step;
    out[i] = `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/${len}`;
  }
  return out;
}

async function freshNs(): Promise<{ ns: string; base: number; cleanup: () => Promise<void> }> {
  const ns = await makeNetns('routes');
  await run(['ip', '-n', ns, 'link', 'add', 'r0', 'type', 'veth', 'peer', 'name', 'r1']);
  await run(['ip', '-n', ns, 'link', 'set', 'r0', 'up']);
  await run(['ip', '-n', ns, 'link', 'set', 'r1', 'up']);
  // the local table (127/8 …) shares the trie until rules are added: count it as the base
  return { ns, base: await fibPrefixes(ns), cleanup: () => deleteNetns(ns) };
}

async function check(ns: string, base: number, phase: Phase, count: number, who: string): Promise<void> {
  const n = (await fibPrefixes(ns)) - base;
  const expected = (p: Phase, c: number) => (p === 'delete' ? 0 : c);
  if (n !== expected(phase, count)) throw new BenchError(`${who} ${phase}: ${n} prefixes in the kernel, expected ${expected(phase, count)}`);
}

async function tabbyRun(dsts: string[]): Promise<Record<Phase, number>> {
  const { ns, base, cleanup } = await freshNs();
  try {
    const out = {} as Record<Phase, number>;
    for (const phase of PHASES) {
      const dev = phase === 'add' ? 'r0' : 'r1';
      const ops: RouteOp[] = dsts.map((dst) => ({ op: phase, route: phase === 'delete' ? { dst } : { dst, dev } }));
      const t0 = now();
      const r = await routeApply(ops, { netns: ns });
      out[phase] = now() - t0;
      if (r.failed) {
        const bad = r.results.find((x) => !x.ok) as { message: string } | undefined;
        throw new BenchError(`routeApply ${phase}: ${r.failed} of ${dsts.length} failed (${bad?.message})`);
      }
      await check(ns, base, phase, dsts.length, 'tabby');
    }
    return out;
  } finally {
    await cleanup();
  }
}

async function ipBatchRun(dsts: string[], files: Record<Phase, string>): Promise<Record<Phase, number>> {
  const { ns, base, cleanup } = await freshNs();
  try {
    const out = {} as Record<Phase, number>;
    for (const phase of PHASES) {
      const t0 = now();
      await run(['ip', '-n', ns, '-batch', files[phase]], { timeoutMs: 600_000 });
      out[phase] = now() - t0;
      await check(ns, base, phase, dsts.length, 'ip -batch');
    }
    return out;
  } finally {
    await cleanup();
  }
}

export async function benchRoutes(o: RoutesOptions): Promise<BenchResult> {
  checkInt('count', o.count, 1, 5_000_000);
  checkInt('prefix-len', o.prefixLen, 8, 32);
  checkInt('reps', o.reps, 1, 100);
  const dsts = prefixes(o.count, o.prefixLen);
  const dir = mkdtempSync(join(tmpdir(), 'tabby-bench-routes-'));
  const rmDir = trackDir(dir);
  try {
    const files = {} as Record<Phase, string>;
    for (const phase of PHASES) {
      const tail = phase === 'add' ? ` dev r0 proto ${RTPROT_TABBY}\n` : phase === 'replace' ? ` dev r1 proto ${RTPROT_TABBY}\n` : '\n';
      const verb = phase === 'delete' ? 'del' : phase;
      files[phase] = join(dir, `${phase}.batch`);
      writeFileSync(files[phase], dsts.map((d) => `route ${verb} ${d}${tail}`).join(''));
    }
    const samples: Sample[] = [];
    for (let rep = 0; rep < o.reps; rep++) {
      // alternate who goes first, so drift hits both
      const order = rep % 2 === 0 ? (['tabby', 'ip-batch'] as const) : (['ip-batch', 'tabby'] as const);
      for (const who of order) {
        o.progress(`routes: rep ${rep + 1}/${o.reps}, ${who}, ${o.count} /${o.prefixLen} routes`);
        const times = who === 'tabby' ? await tabbyRun(dsts) : await ipBatchRun(dsts, files);
        for (const phase of PHASES) {
          samples.push({ metric: `${phase} time`, subject: who, rep, value: times[phase], unit: 's' });
          samples.push({ metric: `${phase} rate`, subject: who, rep, value: o.count / times[phase], unit: 'routes/s' });
        }
      }
    }
    const ratios: Record<string, number[]> = {};
    const targets: Record<string, number> = {};
    for (const phase of PHASES) {
      const k = `${phase}: ip -batch time / tabby time`;
      ratios[k] = perRep(samples, `${phase} time`, 'ip-batch', 'tabby');
      targets[k] = 2.5;
    }
    return await benchResult({
      benchmark: 'routes',
      options: { count: o.count, prefixLen: o.prefixLen, reps: o.reps },
      samples,
      ratios,
      targets,
      notes: [`each rep uses fresh namespaces; counts verified from /proc/net/fib_triestat after every phase`],
    });
  } finally {
    await release(rmDir);
  }
}
