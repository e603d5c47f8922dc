// `tabby bench dataplane`: iperf3 TCP throughput (1 and 4 streams) and ping latency
// between workloads on two hosts over plain routing, eBPF IPIP, eBPF VXLAN and the
// kernel's VXLAN device, all in the same run and topology (rounds rotate the order so
// drift hits every path); then natOutgoing through benchNatThroughput (eBPF SNAT vs
// iptables MASQUERADE).

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchNatThroughput } from './nat-throughput.js';
import { run, startDaemon, waitFor } from '../util/exec.js';
import { release, runShielded, trackDir, trackPid } from './cleanup.js';
import { BenchError, checkInt } from './common.js';
import { PATHS, buildTopology, type PathHandle, type Topology } from './encap-topology.js';
import { benchResult, perRep, type BenchResult, type Sample } from './report.js';

export interface DataplaneOptions {
  seconds: number;
  reps: number;
  progress: (line: string) => void;
}

const PORT = 5201;

async function iperf(t: Topology, dir: string, seconds: number, streams: number): Promise<{ bps: number; retransmits: number }> {
  const b = t.hosts.b;
  const log = join(dir, `iperf3-${Date.now()}.log`);
  const server = startDaemon(['iperf3', '-s', '-1', '-B', b.workloadIP, '-p', String(PORT)], { netns: b.wl, logFile: log });
  const stop = trackPid(server.pid);
  try {
    await waitFor('iperf3 server', async () => {
      const ss = await run(['ss', '-Hltn', `sport = :${PORT}`], { netns: b.wl, allowFail: true });
      return ss.stdout.trim() !== '' || (server.exitCode !== null && Promise.reject(new BenchError(readFileSync(log, 'utf8'))));
    }, 10_000, 50);
    const r = await run(['iperf3', '-c', b.workloadIP, '-p', String(PORT), '-t', String(seconds), '-P', String(streams), '-J'], {
      netns: t.hosts.a.wl, timeoutMs: (seconds + 30) * 1000, allowFail: true,
    });
    const j = JSON.parse(r.stdout || '{}') as { end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number } }; error?: string };
    if (j.error || !j.end?.sum_received) throw new BenchError(`iperf3: ${j.error ?? (r.stderr.trim() || 'no result')}`);
    return { bps: j.end.sum_received.bits_per_second ?? 0, retransmits: j.end.sum_sent?.retransmits ?? 0 };
  } finally {
    await release(stop);
  }
}

/** Median RTT in ms of `count` pings at 10 ms intervals. */
async function pingRtt(t: Topology, count: number): Promise<number> {
  const r = await run(['ping', '-n', '-q', '-c', String(count), '-i', '0.01', '-W', '1', t.hosts.b.workloadIP], { netns: t.hosts.a.wl, timeoutMs: 30_000, allowFail: true });
  const m = /= [\d.]+\/([\d.]+)\/[\d.]+/.exec(r.stdout);
  if (r.code !== 0 || !m) throw new BenchError(`ping failed: ${r.stdout.trim().split('\n').pop()}`);
  return Number(m[1]);
}

export async function benchDataplane(o: DataplaneOptions): Promise<BenchResult> {
  checkInt('seconds', o.seconds, 1, 600);
  checkInt('reps', o.reps, 1, 100);
  const dir = mkdtempSync(join(tmpdir(), 'tabby-bench-dp-'));
  const rmDir = trackDir(dir);
  const samples: Sample[] = [];
  try {
    o.progress('dataplane: building two hosts and two workloads');
    const t = await buildTopology();
    for (let rep = 0; rep < o.reps; rep++) {
      const order = PATHS.map((_, i) => PATHS[(i + rep) % PATHS.length]!);
      for (const path of order) {
        o.progress(`dataplane: rep ${rep + 1}/${o.reps}, ${path.name}`);
        const handles: PathHandle[] = [];
        try {
          handles.push(await path.setup(t, 'a'));
          handles.push(await path.setup(t, 'b'));
          await waitFor(`${path.name} connectivity`, async () => (await pingRtt(t, 1)) >= 0, 10_000, 200);
          for (const streams of [1, 4]) {
            o.progress(`dataplane: rep ${rep + 1}/${o.reps}, ${path.name}, iperf3 -P ${streams}`);
            const r = await iperf(t, dir, o.seconds, streams);
            samples.push({ metric: `tcp ${streams} stream${streams > 1 ? 's' : ''}`, subject: path.name, rep, value: r.bps / 1e9, unit: 'Gbit/s', retransmits: r.retransmits });
          }
          samples.push({ metric: 'ping rtt', subject: path.name, rep, value: await pingRtt(t, 50), unit: 'ms' });
        } finally {
          for (const h of handles.reverse()) await h.close().catch(() => undefined);
        }
      }
    }
    o.progress('dataplane: natOutgoing, eBPF SNAT vs iptables MASQUERADE');
    const nat = await runShielded(() => benchNatThroughput({ seconds: o.seconds, rounds: o.reps, streams: 1 }));
    for (const s of nat.samples) {
      samples.push({ metric: 'natOutgoing tcp 1 stream', subject: s.mode === 'bpf' ? 'eBPF SNAT' : 'iptables MASQUERADE', rep: s.round, value: s.bitsPerSecond / 1e9, unit: 'Gbit/s', retransmits: s.retransmits });
    }
  } finally {
    await release(rmDir);
  }
  // Like against like: this kernel has no IPIP module, so eBPF IPIP is held against plain
  // routing (the no-encapsulation ceiling), and eBPF VXLAN against the kernel's VXLAN.
  const ratios: Record<string, number[]> = {};
  const targets: Record<string, number> = {};
  for (const [impl, anchor, target] of [['eBPF IPIP', 'plain', 0.95], ['eBPF VXLAN', 'kernel VXLAN', 1.1]] as const) {
    for (const metric of ['tcp 1 stream', 'tcp 4 streams']) {
      const k = `${metric}: ${impl} / ${anchor}`;
      ratios[k] = perRep(samples, metric, impl, anchor);
      targets[k] = target;
    }
    const k = `ping rtt: ${anchor} / ${impl}`;
    ratios[k] = perRep(samples, 'ping rtt', anchor, impl);
    if (anchor === 'kernel VXLAN') targets[k] = 1;
  }
  const nat = 'natOutgoing: eBPF SNAT / iptables MASQUERADE';
  ratios[nat] = perRep(samples, 'natOutgoing tcp 1 stream', 'eBPF SNAT', 'iptables MASQUERADE');
  targets[nat] = 1.1;
  return await benchResult({
    benchmark: 'dataplane',
    options: { seconds: o.seconds, reps: o.reps },
    samples,
    ratios,
    targets,
    notes: [
      'eBPF IPIP is compared with plain routing (this kernel has no IPIP module; plain is the ceiling, target 0.95 of it); eBPF VXLAN with the kernel VXLAN device (target 1.1); eBPF SNAT with iptables MASQUERADE (target 1.1)',
      'throughput is CPU-bound on this machine: compare within one run only',
    ],
  });
}
