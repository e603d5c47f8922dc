// `tabby bench bgp`: one BIRD sender originates N IPv4 /32s (static routes) to, in
// turn, (a) a Tabby speaker that installs its best paths into its namespace's kernel,
// (b) a BIRD receiver with a kernel protocol and (c) GoBGP (RIB only, for memory).
// Each receiver is a fresh process in its own namespace on one bridge with the sender.
// Timing: from the sender's session reaching Established to all N routes in the
// receiver's kernel (fib_triestat "Prefixes"; GoBGP: `gobgp global rib summary`), then
// from the sender withdrawing them all (its static protocol disabled) to none left.
// While timing, the sender's control socket is poked every 50 ms (`birdc show
// protocols …`), which also detects Established and works around BIRD 2.0.12's
// ~2.5 s sender stall. Receiver CPU (utime+stime) and peak RSS (VmHWM) from /proc.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomInt } from 'node:crypto';
import { run, startDaemon, stopPid, waitFor } from '../util/exec.js';
import { makeNetns, onCleanup, release, trackDir } from './cleanup.js';
import { BenchError, checkInt, cpuSeconds, fibPrefixes, now, peakRss } from './common.js';
import { benchResult, med, type BenchResult, type Sample } from './report.js';

export interface BgpOptions {
  prefixes: number;
  peer: 'bird' | 'gobgp';
  reps: number;
  progress: (line: string) => void;
}

const BIRD = 'bird';
const BIRDC = 'birdc';
const SENDER_AS = 65001;
const RECEIVER_AS = 65002;
const RUNNER = join(dirname(fileURLToPath(import.meta.url)), 'bgp-receiver.js');

type Kind = 'tabby' | 'bird' | 'gobgp';
const NAMES: Record<Kind, string> = { tabby: 'Tabby', bird: 'BIRD', gobgp: 'GoBGP' };

interface World {
  dir: string;
  net: string;
  sender: { ns: string; addr: string; sock: string; pid: number };
  receivers: Record<Kind, { ns: string; addr: string }>;
}

function prefixList(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const v = 0x0a000000 + i;
    out.push(`${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/32`);
  }
  return out;
}

async function birdc(sock: string, ...args: string[]): Promise<string> {
  return (await run([BIRDC, '-s', sock, ...args], { timeoutMs: 30_000, allowFail: true })).stdout;
}

async function startProc(argv: string[], ns: string, log: string): Promise<number> {
  const child = startDaemon(argv, { netns: ns, logFile: log });
  const pid = child.pid;
  if (!pid) throw new BenchError(`cannot start ${argv[0]}`);
  onCleanup(() => stopPid(pid, 2000));
  return pid;
}

async function buildWorld(o: BgpOptions, dir: string): Promise<World> {
  const net = `192.168.${randomInt(1, 250)}`;
  const sns = await makeNetns('bgp-snd');
  await run(['ip', '-n', sns, 'link', 'add', 'br0', 'type', 'bridge']);
  await run(['ip', '-n', sns, 'addr', 'add', `${net}.1/24`, 'dev', 'br0']);
  await run(['ip', '-n', sns, 'link', 'set', 'br0', 'up']);
  const receivers = {} as World['receivers'];
  let i = 0;
  for (const k of ['tabby', 'bird', 'gobgp'] as const) {
    i++;
    const ns = await makeNetns(`bgp-${k}`);
    const addr = `${net}.${10 + i}`;
    await run(['ip', '-n', sns, 'link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await run(['ip', '-n', sns, 'link', 'set', `v${i}`, 'master', 'br0', 'up']);
    await run(['ip', '-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0']);
    await run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    receivers[k] = { ns, addr };
  }
  const sock = join(dir, 'sender.ctl');
  const conf = join(dir, 'sender.conf');
  let c = `router id ${net}.1;\nprotocol device { scan time 10; }\nprotocol static s4 {\n  ipv4;\n`;
  for (const p of prefixList(o.prefixes)) c += `  route ${p} blackhole;\n`;
  c += '}\n';
  for (const k of ['tabby', 'bird', 'gobgp'] as const) {
    c += `protocol bgp to_${k} {
  local ${net}.1 as ${SENDER_AS};
  neighbor ${receivers[k].addr} as ${RECEIVER_AS};
  disabled;
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 2;
  ipv4 { import none; export all; next hop self; };
}
`;
  }
  writeFileSync(conf, c);
  const pid = await startProc([BIRD, '-f', '-c', conf, '-s', sock], sns, join(dir, 'sender.log'));
  await waitFor('the BIRD sender', async () => (await birdc(sock, 'show', 'route', 'count')).includes(`${o.prefixes} of ${o.prefixes} routes`), 120_000, 200);
  return { dir, net, sender: { ns: sns, addr: `${net}.1`, sock, pid }, receivers };
}

async function startReceiver(w: World, k: Kind, tag: string): Promise<{ pid: number; count: () => Promise<number>; base: number }> {
  const r = w.receivers[k];
  const log = join(w.dir, `${k}-${tag}.log`);
  if (k === 'tabby') {
    const cfg = { routerId: r.addr, localAsn: RECEIVER_AS, dev: 'eth0', peer: { id: 'sender', address: w.sender.addr, remoteAsn: SENDER_AS, passive: true, families: ['ipv4'] } };
    const pid = await startProc([process.execPath, RUNNER, JSON.stringify(cfg)], r.ns, log);
    await waitFor('the Tabby receiver', async () => (await run(['ss', '-Hltn', 'sport = :179'], { netns: r.ns, allowFail: true })).stdout.trim() !== '', 20_000, 100);
    const base = await fibPrefixes(r.ns);
    return { pid, base, count: async () => (await fibPrefixes(r.ns)) - base };
  }
  if (k === 'bird') {
    const conf = join(w.dir, `bird-recv-${tag}.conf`);
    const sock = join(w.dir, `bird-recv-${tag}.ctl`);
    writeFileSync(conf, `router id ${r.addr};
protocol device { scan time 10; }
protocol kernel { ipv4 { import none; export all; }; learn off; scan time 600; }
protocol bgp from_sender {
  local ${r.addr} as ${RECEIVER_AS};
  neighbor ${w.sender.addr} as ${SENDER_AS};
  passive on;
  ipv4 { import all; export none; };
}
`);
    const pid = await startProc([BIRD, '-f', '-c', conf, '-s', sock], r.ns, log);
    await waitFor('the BIRD receiver', async () => (await birdc(sock, 'show', 'status')).includes('Daemon is up'), 10_000, 100);
    const base = await fibPrefixes(r.ns);
    return { pid, base, count: async () => (await fibPrefixes(r.ns)) - base };
  }
  const conf = join(w.dir, `gobgp-${tag}.toml`);
  writeFileSync(conf, `[global.config]
  as = ${RECEIVER_AS}
  router-id = "${r.addr}"
  port = 179
  local-address-list = ["${r.addr}"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "${w.sender.addr}"
    peer-as = ${SENDER_AS}
  [neighbors.transport.config]
    local-address = "${r.addr}"
    passive-mode = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
`);
  const pid = await startProc(['gobgpd', '-f', conf, '-t', 'toml', '--api-hosts', '127.0.0.1:50051', '--pprof-disable'], r.ns, log);
  const count = async () => {
    const out = (await run(['gobgp', '-u', '127.0.0.1', '-p', '50051', 'global', 'rib', 'summary', '-a', 'ipv4'], { netns: r.ns, allowFail: true, timeoutMs: 30_000 })).stdout;
    const m = /Destination:\s*(\d+)/.exec(out);
    return m ? Number(m[1]) : out.includes('Table') ? 0 : -1;
  };
  await waitFor('gobgpd', async () => (await count()) >= 0, 15_000, 100);
  return { pid, base: 0, count };
}

interface Measured {
  converge: number;
  convergeCpu: number;
  withdraw: number;
  withdrawCpu: number;
  peakRss: number;
}

async function measure(w: World, k: Kind, n: number, tag: string, say: (s: string) => void): Promise<Measured> {
  const proto = `to_${k}`;
  const rc = await startReceiver(w, k, tag);
  try {
    const cpu0 = cpuSeconds(rc.pid);
    await birdc(w.sender.sock, 'enable', proto);
    const started = now();
    let tEst = 0;
    let tDone = 0;
    // phase 1: Established, then all N in the receiver
    while (!tDone) {
      if (now() - started > 300) throw new BenchError(`${NAMES[k]}: not all ${n} routes after 300 s`);
      const t = now();
      const st = await birdc(w.sender.sock, 'show', 'protocols', proto); // also the poke
      if (!tEst && /Established/.test(st)) tEst = t;
      if (tEst) {
        const c = await rc.count();
        if (c >= n) tDone = now();
        else say(`bgp: ${NAMES[k]} ${tag}: ${c}/${n} routes`);
      }
      const wait = 50 - (now() - t) * 1000;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const cpu1 = cpuSeconds(rc.pid);
    // phase 2: withdraw all
    await birdc(w.sender.sock, 'disable', 's4');
    const t0 = now();
    let tGone = 0;
    while (!tGone) {
      if (now() - t0 > 300) throw new BenchError(`${NAMES[k]}: routes still there 300 s after the withdrawal`);
      const t = now();
      await birdc(w.sender.sock, 'show', 'status');
      const c = await rc.count();
      if (c <= 0) tGone = now();
      else say(`bgp: ${NAMES[k]} ${tag}: withdrawing, ${c} left`);
      const wait = 50 - (now() - t) * 1000;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const cpu2 = cpuSeconds(rc.pid);
    return { converge: tDone - tEst, convergeCpu: cpu1 - cpu0, withdraw: tGone - t0, withdrawCpu: cpu2 - cpu1, peakRss: peakRss(rc.pid) };
  } finally {
    await birdc(w.sender.sock, 'disable', proto);
    await birdc(w.sender.sock, 'enable', 's4');
    await stopPid(rc.pid, 3000);
    await waitFor('the sender to re-originate', async () => (await birdc(w.sender.sock, 'show', 'route', 'count')).includes(`${n} of ${n} routes`), 60_000, 100);
  }
}

export async function benchBgp(o: BgpOptions): Promise<BenchResult> {
  checkInt('prefixes', o.prefixes, 1, 2_000_000);
  checkInt('reps', o.reps, 1, 100);
  const dir = mkdtempSync(join(tmpdir(), 'tabby-bench-bgp-'));
  const rmDir = trackDir(dir);
  const samples: Sample[] = [];
  try {
    o.progress(`bgp: building the sender with ${o.prefixes} static routes`);
    const w = await buildWorld(o, dir);
    const kinds: Kind[] = ['tabby', 'bird', 'gobgp'];
    for (let rep = 0; rep < o.reps; rep++) {
      const order = kinds.map((_, i) => kinds[(i + rep) % kinds.length]!);
      for (const k of order) {
        o.progress(`bgp: rep ${rep + 1}/${o.reps}, ${NAMES[k]}`);
        const m = await measure(w, k, o.prefixes, `r${rep}`, o.progress);
        const where = k === 'gobgp' ? 'RIB' : 'kernel';
        samples.push({ metric: 'converge time', subject: NAMES[k], rep, value: m.converge, unit: 's', to: where });
        samples.push({ metric: 'converge cpu', subject: NAMES[k], rep, value: m.convergeCpu, unit: 's' });
        samples.push({ metric: 'withdraw time', subject: NAMES[k], rep, value: m.withdraw, unit: 's', to: where });
        samples.push({ metric: 'withdraw cpu', subject: NAMES[k], rep, value: m.withdrawCpu, unit: 's' });
        samples.push({ metric: 'peak rss', subject: NAMES[k], rep, value: m.peakRss / 2 ** 20, unit: 'MiB' });
      }
    }
  } finally {
    await release(rmDir);
  }
  const anchor = o.peer === 'gobgp' ? 'GoBGP' : 'BIRD';
  const r = (metric: string, a: string) => med(samples, metric, a) / med(samples, metric, 'Tabby');
  const ratios: Record<string, number> = {
    [`convergence: ${anchor} time / Tabby time`]: r('converge time', anchor),
    [`withdrawal: ${anchor} time / Tabby time`]: r('withdraw time', anchor),
    'peak RSS: BIRD / Tabby': r('peak rss', 'BIRD'),
    'peak RSS: GoBGP / Tabby': r('peak rss', 'GoBGP'),
  };
  // CPU is counted in 10 ms clock ticks: below 5 ticks the ratio says nothing
  if (Math.min(med(samples, 'converge cpu', anchor), med(samples, 'converge cpu', 'Tabby')) >= 0.05) {
    ratios[`convergence CPU: ${anchor} / Tabby`] = r('converge cpu', anchor);
  }
  const targets: Record<string, number> = { [`convergence: ${anchor} time / Tabby time`]: 1, 'peak RSS: GoBGP / Tabby': 1 };
  return await benchResult({
    benchmark: 'bgp',
    options: { prefixes: o.prefixes, peer: o.peer, reps: o.reps },
    samples,
    ratios,
    targets,
    notes: [
      'Tabby and BIRD: time from Established (seen on the sender, 50 ms polling) to all N routes in the receiver\'s kernel (fib_triestat); GoBGP: to its RIB (no kernel install)',
      'Tabby receiver = the BGP speaker plus batched routeApply of its best paths (not the full agent)',
      'withdrawal = sender disables its static protocol (N withdrawals over the live session) until none are left',
    ],
  });
}
