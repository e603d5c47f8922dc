// The lab's connectivity matrix, per address family: workload↔workload, workload→outside
// (natOutgoing: the outside host must see the workload's node, not the workload) and
// outside→workload (through the ToR's BGP routes). Each path is pinged; with `tcp` a probe
// listener in the destination also reports which source address it saw.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import { run } from '../util/exec.js';
import { cidrContains } from '../api/net.js';
import type { IPPool } from '../api/types.js';
import { openLabDatastore } from './etcd.js';
import { familyAddress, type LabState } from './lab-state.js';

export type LabFamily = 4 | 6;

export interface MatrixRow {
  from: string;
  to: string;
  family: 'IPv4' | 'IPv6';
  /** What the path shows: natOutgoing, or the ToR's routes. */
  note?: string;
  ping: boolean;
  /** Absent when only pinged. */
  tcp?: boolean;
  /** The source address the destination's listener saw. */
  seen?: string;
  /** The source address it must see: the node's for natOutgoing, else the sender's own. */
  expected?: string;
  ok: boolean;
}

export interface Matrix {
  rows: MatrixRow[];
  ok: boolean;
}

/** The probe's port inside the lab's namespaces (no listener of the host's is involved). */
export const PROBE_PORT = 7777;
const probe = () => join(packageRoot, 'dist', 'src', 'lab', 'lab-probe.js');

interface Check {
  from: string;
  netns: string;
  to: string;
  /** The destination's namespace, where the listener runs. */
  toNetns: string;
  dest: string;
  family: LabFamily;
  expected: string;
  note?: string;
}

async function ping(netns: string, dest: string, count = 2): Promise<boolean> {
  const r = await run(['ping', '-c', String(count), '-i', '0.2', '-W', '1', '-q', dest], { netns, allowFail: true, timeoutMs: 10_000 });
  return r.code === 0;
}

/** Run `fn` over `items`, at most `limit` at a time. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!);
  }));
  return out;
}

/**
 * Is a workload address masqueraded on its way out? It is in a natOutgoing pool (the lab's
 * two are; a test may add others). Without the datastore, the lab's own pools are assumed.
 */
async function natOutgoing(s: LabState): Promise<(address: string) => boolean> {
  try {
    const store = await openLabDatastore(s);
    try {
      const cidrs = ((await store.list('IPPool')).items as IPPool[]).filter((p) => p.spec.natOutgoing).map((p) => p.spec.cidr);
      return (a) => cidrs.some((c) => cidrContains(c, `${a}/${a.includes(':') ? 128 : 32}`));
    } finally {
      await store.close();
    }
  } catch {
    return () => true;
  }
}

function checks(s: LabState, natted: (address: string) => boolean): Check[] {
  const wls = s.nodes.flatMap((n) => n.workloads.map((w) => ({ ...w, node: n })));
  const out: Check[] = [];
  for (const family of [4, 6] as const) {
    const ext = s.external ? familyAddress(s.external, family) : undefined;
    for (const a of wls) {
      const src = familyAddress(a, family);
      if (!src) continue;
      for (const b of wls) {
        const dest = familyAddress(b, family);
        if (a !== b && dest) out.push({ from: a.namespace, netns: a.namespace, to: b.namespace, toNetns: b.namespace, dest, family, expected: src });
      }
    }
    if (!s.external || !ext) continue;
    for (const w of wls) {
      const node = familyAddress(w.node, family);
      const src = familyAddress(w, family);
      if (!src || !node) continue;
      const nat = natted(src);
      out.push({ from: w.namespace, netns: w.namespace, to: `${s.external.namespace} (outside)`, toNetns: s.external.namespace, dest: ext, family, expected: nat ? node : src, note: nat ? 'natOutgoing' : 'no natOutgoing' });
    }
    for (const w of wls) {
      const dest = familyAddress(w, family);
      if (dest) out.push({ from: s.external.namespace, netns: s.external.namespace, to: w.namespace, toNetns: w.namespace, dest, family, expected: ext, note: "via the ToR's BGP routes" });
    }
  }
  return out;
}

/** A probe listener in `netns`, once it is bound; undefined when it could not start. */
async function startListener(netns: string): Promise<ChildProcess | undefined> {
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, probe(), 'serve', String(PROBE_PORT)], { stdio: ['ignore', 'pipe', 'ignore'] });
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (ready) return child;
  child.kill('SIGKILL');
  return undefined;
}

/** What each source's connections saw, keyed by source namespace and destination address. */
async function tcpResults(list: Check[]): Promise<Map<string, { ok: boolean; seen?: string }>> {
  const listeners = await pool([...new Set(list.map((c) => c.toNetns))], 4, startListener);
  try {
    const bySource = new Map<string, string[]>();
    for (const c of list) bySource.set(c.netns, [...(bySource.get(c.netns) ?? []), c.dest]);
    const out = new Map<string, { ok: boolean; seen?: string }>();
    await pool([...bySource], 4, async ([netns, dests]) => {
      const r = await run([process.execPath, probe(), 'connect', String(PROBE_PORT), ...new Set(dests)], { netns, allowFail: true, timeoutMs: 20_000 });
      for (const line of r.stdout.split('\n').filter(Boolean)) {
        const x = JSON.parse(line) as { address: string; ok: boolean; seen?: string };
        out.set(`${netns} ${x.address}`, { ok: x.ok, seen: x.seen });
      }
    });
    return out;
  } finally {
    for (const l of listeners) l?.kill('SIGTERM');
  }
}

/** Every path of the lab, pinged and (with `tcp`) connected to over TCP. */
export async function connectivity(s: LabState, opts: { tcp?: boolean } = { tcp: true }): Promise<Matrix> {
  const list = checks(s, s.external && opts.tcp ? await natOutgoing(s) : () => true);
  const pings = await pool(list, 8, (c) => ping(c.netns, c.dest));
  const tcp = opts.tcp ? await tcpResults(list) : undefined;
  const rows = list.map((c, i): MatrixRow => {
    const row: MatrixRow = { from: c.from, to: c.to, family: c.family === 4 ? 'IPv4' : 'IPv6', ping: pings[i]!, ok: pings[i]! };
    if (c.note) row.note = c.note;
    if (tcp) {
      const t = tcp.get(`${c.netns} ${c.dest}`);
      row.tcp = t?.ok === true;
      if (t?.seen) row.seen = t.seen;
      row.expected = c.expected;
      row.ok = row.ping && row.tcp && row.seen === c.expected;
    }
    return row;
  });
  return { rows, ok: rows.every((r) => r.ok) };
}
