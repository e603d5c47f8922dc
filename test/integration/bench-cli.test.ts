// `tabby bench …` end to end through the real CLI, with tiny sizes: exit 0, the table
// on stdout, the JSON in DESIGN.md's form, an SVG, and no namespace left behind.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { ROOT } from '../helpers/paths.js';
import { needs } from '../helpers/require.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

function cli(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; pid: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, pid: child.pid! });
    });
  });
}

function leftoverNamespaces(pid: number): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith('tbb-') && n.includes(`-${pid}-`));
}

async function bench(name: string, args: string[], timeoutMs: number): Promise<{ json: Record<string, any>; stdout: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tabby-bench-test-'));
  try {
    const json = join(dir, 'out.json');
    const svg = join(dir, 'out.svg');
    const r = await cli(['bench', name, ...args, '--json', json, '--svg', svg], timeoutMs);
    assert.deepEqual(leftoverNamespaces(r.pid), [], 'namespaces left behind');
    assert.equal(r.code, 0, `exit ${r.code}; stderr:\n${r.stderr.slice(-3000)}`);
    assert.match(r.stdout, new RegExp(`== tabby bench ${name} ==`));
    assert.match(r.stdout, /METRIC\s+SUBJECT\s+MEDIAN/);
    assert.match(r.stdout, /RATIO/);
    const j = JSON.parse(readFileSync(json, 'utf8')) as Record<string, any>;
    assert.equal(j.benchmark, name);
    assert.equal(typeof j.machine, 'object');
    assert.equal(typeof j.machine.cpu, 'string');
    assert.match(j.commit, /^([0-9a-f]{40}(-dirty)?|unknown)$/);
    assert.ok(!Number.isNaN(Date.parse(j.date)), 'date');
    assert.ok(Array.isArray(j.samples) && j.samples.length > 0, 'samples');
    for (const s of j.samples) {
      assert.equal(typeof s.metric, 'string');
      assert.equal(typeof s.subject, 'string');
      assert.equal(typeof s.value, 'number');
      assert.ok(Number.isFinite(s.value), `${s.metric} ${s.subject} value`);
    }
    assert.ok(Array.isArray(j.summary) && j.summary.every((s: any) => typeof s.median === 'number' && typeof s.spread === 'number'));
    const ratios = Object.entries(j.ratios ?? {});
    assert.ok(ratios.length > 0, 'ratios');
    for (const [k, v] of ratios) {
      // CPU time comes in 10 ms ticks: at these tiny sizes an anchor may use none (ratio 0).
      const floor = /CPU/i.test(k) ? 0 : Number.MIN_VALUE;
      assert.ok(typeof v === 'number' && Number.isFinite(v) && v >= floor, `ratio ${k} = ${String(v)}`);
      const st = j.ratioStats[k];
      assert.ok(st && st.min <= v && v <= st.max && Array.isArray(st.reps), `ratio ${k}: median within min/max of its per-rep values`);
    }
    const text = readFileSync(svg, 'utf8');
    assert.match(text, /^<svg[\s>]/);
    assert.match(text, /<\/svg>\s*$/);
    return { json: j, stdout: r.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('bench codec', async () => {
  const { json } = await bench('codec', ['--prefixes', '1000', '--reps', '2'], 30_000);
  assert.ok(json.samples.some((s: any) => s.metric === 'decode ipv6 1000'));
  assert.ok('decode ipv4 1000: prefixes/s / 1M' in json.ratios);
});

test('bench routes', needs({ root: true, tools: ['ip'] }), async () => {
  const { json } = await bench('routes', ['--count', '200', '--reps', '1'], 30_000);
  for (const phase of ['add', 'replace', 'delete']) assert.ok(`${phase}: ip -batch time / tabby time` in json.ratios);
  assert.equal(json.samples.filter((s: any) => s.subject === 'ip-batch').length, 6);
});

test('bench bgp: the agent against BIRD and GoBGP, withdrawal, and the mesh case', needs({ root: true, tools: ['ip', 'bird', 'birdc', 'gobgpd', 'gobgp'] }), async () => {
  const { json, stdout } = await bench('bgp', ['--prefixes', '200', '--reps', '1', '--mesh-peers', '3', '--mesh-blocks', '12'], 180_000);
  for (const who of ['Tabby', 'BIRD', 'GoBGP']) {
    for (const metric of ['converge time', 'withdraw time', 'peak rss']) assert.ok(json.samples.some((s: any) => s.subject === who && s.metric === metric), `${who} ${metric}`);
  }
  for (const who of ['Tabby', 'BIRD']) assert.ok(json.samples.some((s: any) => s.subject === who && s.metric === 'mesh converge time' && s.peers === 3), `${who} mesh`);
  for (const k of ['convergence: BIRD time / Tabby time', 'withdrawal: BIRD time / Tabby time', 'peak RSS: 100 MiB budget / Tabby', 'peak RSS: GoBGP / Tabby', 'mesh convergence: BIRD time / Tabby time']) {
    assert.ok(k in json.ratios, k);
  }
  assert.ok(json.notes.some((n: string) => n.includes('tabby node run')), 'the agent itself is the contender');
  assert.match(stdout, /RATIO \(>1 = Tabby better, per rep\)\s+MEDIAN\s+MIN\s+MAX/);
});

test('bench dataplane: eBPF IPIP against plain routing, eBPF VXLAN against kernel VXLAN', needs({ root: true, tools: ['ip', 'iperf3', 'ping', 'ss', 'iptables', 'ipset', 'sysctl'] }), async () => {
  const { json } = await bench('dataplane', ['--seconds', '1', '--reps', '1'], 90_000);
  for (const who of ['plain', 'eBPF IPIP', 'eBPF VXLAN', 'kernel VXLAN', 'eBPF SNAT', 'iptables MASQUERADE']) {
    assert.ok(json.samples.some((s: any) => s.subject === who), who);
  }
  assert.ok('tcp 1 stream: eBPF IPIP / plain' in json.ratios);
  assert.ok('tcp 1 stream: eBPF VXLAN / kernel VXLAN' in json.ratios);
  assert.ok(!Object.keys(json.ratios).some((k) => /IPIP.*VXLAN|VXLAN.*IPIP/.test(k)), 'never IPIP against VXLAN');
  assert.ok('natOutgoing: eBPF SNAT / iptables MASQUERADE' in json.ratios);
});
