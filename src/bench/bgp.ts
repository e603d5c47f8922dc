// `tabby bench bgp`: one BIRD sender originates N IPv4 /32s (static routes) to, in
// turn, the Tabby agent (`tabby node run`), a BIRD receiver with a kernel protocol and
// GoBGP (RIB only) — see bgp-receivers.ts. Every receiver is a fresh process per rep
// in its own namespace on one bridge with the sender; the order rotates per rep.
// Convergence: from the sender's session reaching Established to all N routes in the
// receiver's kernel (GoBGP: its RIB). Withdrawal: from the sender disabling its static
// protocol to none left. The sender's control socket is polled every 10 ms over one
// persistent connection, which also detects Established and keeps BIRD 2.0.12's
// sender from stalling with work pending (its last UPDATE, or a full socket). CPU (utime+stime) and peak RSS
// (VmHWM) from /proc. Then the mesh case (bgp-mesh.ts).

import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { run, waitFor } from '../util/exec.js';
import { benchMesh, type MeshOptions } from './bgp-mesh.js';
import { startReceiver, NAMES, RECEIVER_AS, SENDER_AS, type Kind } from './bgp-receivers.js';
import type { BirdControl } from './bird-control.js';
import { senderConfig, startSender } from './bird-sender.js';
import { makeNetns, release, trackDir } from './cleanup.js';
import { BenchError, checkInt, cpuSeconds, now, peakRss } from './common.js';
import { formatProfile, newestProfile, type ProfileSummary } from './cpu-profile.js';
import { benchResult, perRep, type BenchResult, type Sample } from './report.js';

export interface BgpOptions {
  prefixes: number;
  peer: 'bird' | 'gobgp';
  reps: number;
  /** The agent's --dataplane. */
  agentDataplane: 'iptables' | 'none';
  /** Which receivers run (default all three). */
  receivers?: readonly Kind[];
  /** false: skip the mesh case. */
  mesh: MeshOptions | false;
  /** Run one extra, uncounted agent rep under `node --cpu-prof`, profiles into this directory. */
  cpuProf?: string;
  progress: (line: string) => void;
}

/** Peak RSS budget of the agent: 100 MiB up to 100k prefixes, 1 GiB above. */
export function rssBudgetMiB(prefixes: number): number {
  return prefixes <= 100_000 ? 100 : 1024;
}

const KINDS: readonly Kind[] = ['tabby', 'bird', 'gobgp'];
/**
 * How often the sender's control socket is poked (seconds). BIRD 2.0.12 as a sender
 * sleeps with work pending when its socket fills and wakes on the next event; a poke is
 * such an event (see the method notes in BENCHMARKS.md).
 */
const POKE_S = 0.01;

interface World {
  dir: string;
  sender: { ns: string; addr: string; ctl: BirdControl };
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

async function buildWorld(n: number, dir: string): Promise<World> {
  const net = `192.168.${randomInt(1, 250)}`;
  const sns = await makeNetns('bgp-snd');
  await run(['ip', '-n', sns, 'link', 'add', 'br0', 'type', 'bridge']);
  await run(['ip', '-n', sns, 'addr', 'add', `${net}.1/24`, 'dev', 'br0']);
  await run(['ip', '-n', sns, 'link', 'set', 'br0', 'up']);
  const receivers = {} as World['receivers'];
  let i = 0;
  for (const k of KINDS) {
    i++;
    const ns = await makeNetns(`bgp-${k}`);
    const addr = `${net}.${10 + i}`;
    await run(['ip', '-n', sns, 'link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await run(['ip', '-n', sns, 'link', 'set', `v${i}`, 'master', 'br0', 'up']);
    await run(['ip', '-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0']);
    await run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    receivers[k] = { ns, addr };
  }
  const config = senderConfig({
    routerId: `${net}.1`,
    routes: prefixList(n),
    receivers: KINDS.map((k) => ({ name: k, local: `${net}.1`, localAs: SENDER_AS, neighbor: receivers[k].addr, remoteAs: RECEIVER_AS })),
  });
  const { ctl } = await startSender(config, sns, dir, 'sender');
  await waitFor('the BIRD sender to hold every route', async () => (await ctl.command('show route count')).includes(`${n} of ${n} routes`), 300_000, 200);
  return { dir, sender: { ns: sns, addr: `${net}.1`, ctl }, receivers };
}

interface Measured {
  converge: number;
  convergeCpu: number;
  withdraw: number;
  withdrawCpu: number;
  peakRss: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(w: World, k: Kind, n: number, tag: string, o: BgpOptions, cpuProfDir?: string): Promise<Measured> {
  const say = o.progress;
  const proto = `to_${k}`;
  const ctl = w.sender.ctl;
  const r = w.receivers[k];
  // The sender first: it and the agent both dial, whichever connection wins is timed alike.
  await ctl.command(`enable ${proto}`);
  const rc = await startReceiver({
    kind: k, ns: r.ns, addr: r.addr, asn: RECEIVER_AS, peers: [{ address: w.sender.addr, asn: SENDER_AS }],
    dir: w.dir, tag, dataplane: o.agentDataplane, ...(cpuProfDir ? { cpuProfDir } : {}),
  });
  try {
    const started = now();
    let tEst = 0;
    let cpu0 = 0;
    let tDone = 0;
    let lastPoke = 0;
    let lastSay = 0;
    while (!tDone) {
      if (now() - started > 600) throw new BenchError(`${NAMES[k]}: not all ${n} routes after 600 s`);
      const t = now();
      if (!tEst || t - lastPoke >= POKE_S) {
        lastPoke = t;
        const st = await ctl.command(`show protocols ${proto}`); // also the poke
        if (!tEst && /Established/.test(st)) {
          tEst = t;
          cpu0 = cpuSeconds(rc.pid);
        }
      }
      if (tEst) {
        const c = await rc.count();
        if (c >= n) tDone = now();
        else if (t - lastSay > 1) {
          lastSay = t;
          say(`bgp: ${NAMES[k]} ${tag}: ${c}/${n} routes`);
        }
      }
      await sleep(Math.max(0, 10 - (now() - t) * 1000));
    }
    const cpu1 = cpuSeconds(rc.pid);
    await ctl.command('disable s4');
    const t0 = now();
    let tGone = 0;
    lastPoke = 0;
    while (!tGone) {
      if (now() - t0 > 600) throw new BenchError(`${NAMES[k]}: routes still there 600 s after the withdrawal`);
      const t = now();
      if (t - lastPoke >= POKE_S) {
        lastPoke = t;
        await ctl.command('show status');
      }
      const c = await rc.count();
      if (c <= 0) tGone = now();
      else if (t - lastSay > 1) {
        lastSay = t;
        say(`bgp: ${NAMES[k]} ${tag}: withdrawing, ${c} left`);
      }
      await sleep(Math.max(0, 10 - (now() - t) * 1000));
    }
    const cpu2 = cpuSeconds(rc.pid);
    return { converge: tDone - tEst, convergeCpu: cpu1 - cpu0, withdraw: tGone - t0, withdrawCpu: cpu2 - cpu1, peakRss: peakRss(rc.pid) };
  } finally {
    await ctl.command(`disable ${proto}`);
    await ctl.command('enable s4');
    await rc.stop();
    await waitFor('the sender to re-originate', async () => (await ctl.command('show route count')).includes(`${n} of ${n} routes`), 120_000, 100);
  }
}

export async function benchBgp(o: BgpOptions): Promise<BenchResult> {
  checkInt('prefixes', o.prefixes, 1, 2_000_000);
  checkInt('reps', o.reps, 1, 100);
  const dir = mkdtempSync(join(tmpdir(), 'tabby-bench-bgp-'));
  // Logs and configurations stay for a look afterwards when asked (diagnosis only).
  const rmDir = process.env.TABBY_BENCH_KEEP_DIR ? () => o.progress(`bgp: kept ${dir}`) : trackDir(dir);
  const samples: Sample[] = [];
  let profile: ProfileSummary | undefined;
  const notes: string[] = [];
  try {
    o.progress(`bgp: building the sender with ${o.prefixes} static routes`);
    const w = await buildWorld(o.prefixes, dir);
    const kinds = KINDS.filter((k) => o.receivers?.includes(k) ?? true);
    for (let rep = 0; rep < o.reps; rep++) {
      const order = kinds.map((_, i) => kinds[(i + rep) % kinds.length]!);
      for (const k of order) {
        o.progress(`bgp: rep ${rep + 1}/${o.reps}, ${NAMES[k]}`);
        const m = await measure(w, k, o.prefixes, `r${rep}`, o);
        const where = k === 'gobgp' ? 'RIB' : 'kernel';
        samples.push({ metric: 'converge time', subject: NAMES[k], rep, value: m.converge, unit: 's', to: where });
        samples.push({ metric: 'converge cpu', subject: NAMES[k], rep, value: m.convergeCpu, unit: 's' });
        samples.push({ metric: 'withdraw time', subject: NAMES[k], rep, value: m.withdraw, unit: 's', to: where });
        samples.push({ metric: 'withdraw cpu', subject: NAMES[k], rep, value: m.withdrawCpu, unit: 's' });
        samples.push({ metric: 'peak rss', subject: NAMES[k], rep, value: m.peakRss / 2 ** 20, unit: 'MiB' });
      }
    }
    if (o.cpuProf) {
      mkdirSync(o.cpuProf, { recursive: true });
      o.progress('bgp: one extra agent rep under --cpu-prof (not counted)');
      await measure(w, 'tabby', o.prefixes, 'prof', o, o.cpuProf);
      profile = newestProfile(o.cpuProf, 20);
      if (profile) notes.push(...formatProfile(profile));
    }
    w.sender.ctl.close();
    if (o.mesh) samples.push(...(await benchMesh(o.mesh, join(dir, 'mesh'), o)));
  } finally {
    await release(rmDir);
  }
  const anchor = o.peer === 'gobgp' ? 'GoBGP' : 'BIRD';
  const ratios: Record<string, number[]> = {
    [`convergence: ${anchor} time / Tabby time`]: perRep(samples, 'converge time', anchor, 'Tabby'),
    [`withdrawal: ${anchor} time / Tabby time`]: perRep(samples, 'withdraw time', anchor, 'Tabby'),
    [`peak RSS: ${rssBudgetMiB(o.prefixes)} MiB budget / Tabby`]: samples.filter((s) => s.metric === 'peak rss' && s.subject === 'Tabby').map((s) => rssBudgetMiB(o.prefixes) / s.value),
    'peak RSS: GoBGP / Tabby': perRep(samples, 'peak rss', 'GoBGP', 'Tabby'),
    'peak RSS: BIRD / Tabby': perRep(samples, 'peak rss', 'BIRD', 'Tabby'),
    [`convergence CPU: ${anchor} / Tabby`]: perRep(samples, 'converge cpu', anchor, 'Tabby'),
  };
  const targets: Record<string, number> = {
    [`convergence: ${anchor} time / Tabby time`]: 1,
    [`withdrawal: ${anchor} time / Tabby time`]: 1,
    [`peak RSS: ${rssBudgetMiB(o.prefixes)} MiB budget / Tabby`]: 1,
  };
  if (o.mesh) {
    ratios['mesh convergence: BIRD time / Tabby time'] = perRep(samples, 'mesh converge time', 'BIRD', 'Tabby');
    ratios['mesh withdrawal: BIRD time / Tabby time'] = perRep(samples, 'mesh withdraw time', 'BIRD', 'Tabby');
    targets['mesh convergence: BIRD time / Tabby time'] = 1;
    targets['mesh withdrawal: BIRD time / Tabby time'] = 1;
  }
  const result = await benchResult({
    benchmark: 'bgp',
    options: { prefixes: o.prefixes, peer: o.peer, reps: o.reps, agentDataplane: o.agentDataplane, mesh: o.mesh },
    samples,
    ratios,
    targets,
    notes: [
      `Tabby = the agent itself: \`tabby node run --dataplane ${o.agentDataplane}\` with a file datastore holding one global BGPPeer to the sender (fresh process and datastore per rep)`,
      'BIRD = BIRD 2 receiver with a kernel protocol exporting all it learns; GoBGP = gobgpd, RIB only (no kernel install)',
      'convergence: from the sender\'s session Established (seen by polling its control socket every 10 ms) to all N routes in the receiver\'s kernel (fib_triestat, polled every 10 ms; GoBGP: its RIB)',
      'withdrawal: the sender disables its static protocol (N withdrawals over the live session) until none are left',
      'ratios are taken per rep (both contenders measured in that rep) and reported as median, min and max over the reps',
      ...notes,
    ],
  });
  if (profile) (result as BenchResult & { profile?: ProfileSummary }).profile = profile;
  return result;
}
