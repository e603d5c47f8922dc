// The mesh case of `tabby bench bgp`: one node learns B blocks (/26, from one IP pool)
// from P iBGP peers, each a BIRD instance in its own namespace standing in for another
// node (a Node resource each, so the agent meshes with them as Calico would). The
// sessions come up first with no routes; then every peer's static protocol is enabled
// at once and the time runs until all B blocks are in the receiver's kernel; then
// disabled, until none are left. Tabby (the agent, passive as the greater address)
// against a BIRD receiver with a kernel protocol; fresh processes per rep.

import { mkdirSync } from 'node:fs';
import { run, waitFor } from '../util/exec.js';
import { startReceiver, NAMES, type Kind } from './bgp-receivers.js';
import type { BirdControl } from './bird-control.js';
import { senderConfig, startSender } from './bird-sender.js';
import { makeNetns } from './cleanup.js';
import { BenchError, cpuSeconds, now, peakRss } from './common.js';
import type { Sample } from './report.js';

export interface MeshOptions {
  peers: number;
  blocks: number;
}

const ASN = 64512;
const NET = '172.29';
const POOL = '10.200.0.0/16';
const KINDS: readonly Kind[] = ['tabby', 'bird'];

interface Mesh {
  dir: string;
  senders: { ns: string; addr: string; ctl: BirdControl }[];
  receivers: Record<string, { ns: string; addr: string }>;
}

function block(i: number): string {
  const v = 0x0ac80000 + i * 64;
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/26`;
}

async function inBatches<T>(items: T[], size: number, fn: (x: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

async function buildMesh(o: MeshOptions, dir: string, say: (s: string) => void): Promise<Mesh> {
  mkdirSync(dir, { recursive: true });
  const hub = await makeNetns('mesh-hub');
  await run(['ip', '-n', hub, 'link', 'add', 'br0', 'type', 'bridge']);
  await run(['ip', '-n', hub, 'link', 'set', 'br0', 'up']);
  let port = 0;
  const attach = async (ns: string, addr: string) => {
    const p = `p${port++}`;
    await run(['ip', '-n', hub, 'link', 'add', p, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await run(['ip', '-n', hub, 'link', 'set', p, 'master', 'br0', 'up']);
    await run(['ip', '-n', ns, 'addr', 'add', `${addr}/16`, 'dev', 'eth0']);
    await run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
  };
  const receivers: Mesh['receivers'] = {};
  for (const [i, k] of KINDS.entries()) {
    const ns = await makeNetns(`mesh-${k}`);
    // Greater than every peer's address as a string, so the agent is the passive side.
    const addr = `${NET}.9.${i + 1}`;
    await attach(ns, addr);
    receivers[k] = { ns, addr };
  }
  const per = Math.ceil(o.blocks / o.peers);
  const senders: Mesh['senders'] = [];
  const idx = Array.from({ length: o.peers }, (_, i) => i);
  say(`bgp mesh: ${o.peers} BIRD peers with ${o.blocks} blocks`);
  await inBatches(idx, 10, async (i) => {
    const ns = await makeNetns(`mesh-p${i}`);
    const addr = `${NET}.1.${i + 1}`;
    await attach(ns, addr);
    const routes = Array.from({ length: per }, (_, j) => i * per + j).filter((b) => b < o.blocks);
    const config = senderConfig({
      routerId: addr,
      routes: routes.map(block),
      staticDisabled: true,
      receivers: KINDS.map((k) => ({ name: k, local: addr, localAs: ASN, neighbor: receivers[k]!.addr, remoteAs: ASN })),
    });
    const { ctl } = await startSender(config, ns, dir, `peer${i}`);
    senders[i] = { ns, addr, ctl };
  });
  return { dir, senders, receivers };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const all = (m: Mesh, cmd: string) => Promise.all(m.senders.map((s) => s.ctl.command(cmd)));

async function measureMesh(m: Mesh, k: Kind, o: MeshOptions, tag: string, say: (s: string) => void, dataplane: 'iptables' | 'none'): Promise<Sample[]> {
  const proto = `to_${k}`;
  const r = m.receivers[k]!;
  await all(m, `enable ${proto}`);
  const rc = await startReceiver({
    kind: k, ns: r.ns, addr: r.addr, asn: ASN, peers: m.senders.map((s) => ({ address: s.addr, asn: ASN })),
    dir: m.dir, tag: `mesh-${tag}`, dataplane, meshNodes: true, pool: POOL,
  });
  try {
    await waitFor(`${NAMES[k]}: all ${o.peers} mesh sessions Established`, async () => {
      const st = await all(m, `show protocols ${proto}`);
      return st.every((s) => /Established/.test(s));
    }, 120_000, 250);
    const poke = async () => {
      await all(m, 'show status');
    };
    // From just before the first command goes out (the peers act on it at once).
    const until = async (t0: number, what: string, pred: (c: number) => boolean): Promise<number> => {
      let lastPoke = now();
      for (;;) {
        const t = now();
        if (t - t0 > 300) throw new BenchError(`${NAMES[k]} mesh: ${what} not reached in 300 s`);
        if (pred(await rc.count())) return now() - t0;
        if (t - lastPoke >= 0.1) {
          lastPoke = t;
          await poke();
        }
        await sleep(Math.max(0, 10 - (now() - t) * 1000));
      }
    };
    const cpu0 = cpuSeconds(rc.pid);
    let t0 = now();
    await all(m, 'enable s4');
    const converge = await until(t0, `all ${o.blocks} blocks`, (c) => c >= o.blocks);
    const cpu1 = cpuSeconds(rc.pid);
    t0 = now();
    await all(m, 'disable s4');
    const withdraw = await until(t0, 'no blocks', (c) => c <= 0);
    say(`bgp mesh: ${NAMES[k]} ${tag}: ${converge.toFixed(3)} s in, ${withdraw.toFixed(3)} s out`);
    const rep = Number(tag.slice(1));
    const subject = NAMES[k];
    return [
      { metric: 'mesh converge time', subject, rep, value: converge, unit: 's', peers: o.peers, blocks: o.blocks },
      { metric: 'mesh converge cpu', subject, rep, value: cpu1 - cpu0, unit: 's' },
      { metric: 'mesh withdraw time', subject, rep, value: withdraw, unit: 's' },
      { metric: 'mesh peak rss', subject, rep, value: peakRss(rc.pid) / 2 ** 20, unit: 'MiB' },
    ];
  } finally {
    await all(m, `disable ${proto}`);
    await all(m, 'disable s4');
    await rc.stop();
  }
}

export async function benchMesh(o: MeshOptions, dir: string, opts: { reps: number; agentDataplane: 'iptables' | 'none'; progress: (s: string) => void }): Promise<Sample[]> {
  const m = await buildMesh(o, dir, opts.progress);
  const samples: Sample[] = [];
  try {
    for (let rep = 0; rep < opts.reps; rep++) {
      const order = rep % 2 === 0 ? KINDS : [...KINDS].reverse();
      for (const k of order) {
        opts.progress(`bgp mesh: rep ${rep + 1}/${opts.reps}, ${NAMES[k]}`);
        samples.push(...(await measureMesh(m, k, o, `r${rep}`, opts.progress, opts.agentDataplane)));
      }
    }
  } finally {
    for (const s of m.senders) s.ctl.close();
  }
  return samples;
}
