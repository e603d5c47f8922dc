// TCP throughput through natOutgoing: Tabby's eBPF SNAT against iptables MASQUERADE,
// in the same run and the same topology (nat-topology.ts), iperf3 from a workload to
// the external host. Rounds alternate the modes so drift (CPU frequency, other load)
// hits both. Not a test: `tabby bench dataplane` calls it and reports the numbers.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, startDaemon, stopPid, waitFor } from '../util/exec.js';
import { HostProgram } from '../dataplane/bpf/host-program.js';
import { BpfSnat } from '../dataplane/nat/bpf-snat.js';
import { IptablesNat } from '../dataplane/nat/iptables-nat.js';
import type { NatMode } from '../dataplane/nat/nat-dataplane.js';
import { buildNatTopology, destroyNatTopology, type NatTopology } from './nat-topology.js';
import { UsageError } from '../errors.js';
import { BenchError } from './common.js';

export interface NatBenchOptions {
  /** Seconds per iperf3 run (default 5). */
  seconds?: number;
  /** Runs per mode (default 3), alternating which mode goes first. */
  rounds?: number;
  /** Parallel TCP streams (iperf3 -P, default 1). */
  streams?: number;
  /** TCP MSS (iperf3 -M); absent: the path's. */
  mss?: number;
  /**
   * Leave TSO/GSO on (default true). veth passes 64 KiB GSO packets untouched, so with
   * offloads the NAT cost is paid per 64 KiB; off, per MSS-sized packet, as with a NIC
   * that cannot segment: a packet-rate comparison.
   */
  offloads?: boolean;
}

export interface NatBenchSample {
  mode: NatMode;
  round: number;
  /** Received at the external host. */
  bitsPerSecond: number;
  retransmits: number;
}

export interface NatBenchResult {
  benchmark: 'nat-throughput';
  options: Required<Omit<NatBenchOptions, 'mss'>> & { mss?: number };
  samples: NatBenchSample[];
  /** Median bits per second per mode. */
  median: Record<NatMode, number>;
  /** Greater than 1: eBPF SNAT is faster than iptables MASQUERADE. */
  ratios: { 'bpf-snat-vs-iptables-masquerade': number };
}

const IPERF_PORT = 5201;

export async function benchNatThroughput(opts: NatBenchOptions = {}): Promise<NatBenchResult> {
  const seconds = opts.seconds ?? 5;
  const rounds = opts.rounds ?? 3;
  const streams = opts.streams ?? 1;
  for (const [k, v, max] of [['seconds', seconds, 600], ['rounds', rounds, 100], ['streams', streams, 128]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > max) throw new UsageError(`${k} must be an integer from 1 to ${max}`);
  }
  const offloads = opts.offloads ?? true;
  const t = await buildNatTopology({ natWorkloads: 1, ipv6: false });
  const dir = mkdtempSync(join(tmpdir(), 'tabby-nat-bench-'));
  const samples: NatBenchSample[] = [];
  try {
    if (!offloads) {
      const w = t.natWorkloads[0]!;
      const off = ['tso', 'off', 'gso', 'off', 'gro', 'off'];
      await run(['ethtool', '-K', 'eth0', ...off], { netns: w.netns });
      await run(['ethtool', '-K', w.hostIfname, ...off], { netns: t.nodeA.netns });
      await run(['ethtool', '-K', t.nodeA.ifname, ...off], { netns: t.nodeA.netns });
    }
    for (let round = 0; round < rounds; round++) {
      const order: NatMode[] = round % 2 === 0 ? ['bpf', 'iptables'] : ['iptables', 'bpf'];
      for (const mode of order) {
        const r = await withMode(t, mode, () => iperf(t, dir, seconds, streams, opts.mss));
        samples.push({ mode, round, ...r });
      }
    }
  } finally {
    await destroyNatTopology(t);
    rmSync(dir, { recursive: true, force: true });
  }
  const median = { bpf: medianOf(samples, 'bpf'), iptables: medianOf(samples, 'iptables') };
  const options: NatBenchResult['options'] = { seconds, rounds, streams, offloads };
  if (opts.mss !== undefined) options.mss = opts.mss;
  return {
    benchmark: 'nat-throughput', options, samples, median,
    ratios: { 'bpf-snat-vs-iptables-masquerade': median.iptables > 0 ? median.bpf / median.iptables : 0 },
  };
}

// Sets the mode up on node A, runs `fn`, and leaves the node as it found it.
async function withMode<T>(t: NatTopology, mode: NatMode, fn: () => Promise<T>): Promise<T> {
  const netns = t.nodeA.netns;
  if (mode === 'bpf') {
    const host = new HostProgram({ netns, ifname: t.nodeA.ifname });
    const snat = new BpfSnat(host, { nodeIP: t.nodeA.address });
    try {
      await host.load([snat]);
      snat.setPools(t.pools);
      await snat.apply();
      return await fn();
    } finally {
      await host.close();
    }
  }
  const nat = new IptablesNat({ netns, families: [4] });
  try {
    nat.setPools(t.pools);
    await nat.apply();
    return await fn();
  } finally {
    await nat.cleanup();
    // The emptied nat table still keeps conntrack hooked in; this namespace is the
    // benchmark's own, so drop the whole ruleset and leave eBPF runs conntrack-free.
    await run(['nft', 'flush', 'ruleset'], { netns });
  }
}

async function iperf(t: NatTopology, dir: string, seconds: number, streams: number, mss?: number): Promise<{ bitsPerSecond: number; retransmits: number }> {
  const log = join(dir, `iperf3-server-${Date.now()}.log`);
  const server = startDaemon(['iperf3', '-s', '-1', '-B', t.external.address, '-p', String(IPERF_PORT)], { netns: t.external.netns, logFile: log });
  try {
    // iperf3 buffers its log when it is not a terminal: look for the socket instead.
    await waitFor('iperf3 server', async () => {
      const ss = await run(['ss', '-Hltn', `sport = :${IPERF_PORT}`], { netns: t.external.netns, allowFail: true });
      return ss.stdout.trim() !== '' || (server.exitCode !== null && Promise.reject(new BenchError(readFileSync(log, 'utf8'))));
    }, 10_000);
    const args = ['iperf3', '-c', t.external.address, '-p', String(IPERF_PORT), '-t', String(seconds), '-P', String(streams), '-J'];
    if (mss !== undefined) args.push('-M', String(mss));
    const r = await run(args, { netns: t.natWorkloads[0]!.netns, timeoutMs: (seconds + 30) * 1000 });
    const j = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number } }; error?: string };
    if (j.error || !j.end?.sum_received) throw new BenchError(`iperf3: ${j.error ?? 'no result'}`);
    return { bitsPerSecond: j.end.sum_received.bits_per_second ?? 0, retransmits: j.end.sum_sent?.retransmits ?? 0 };
  } finally {
    if (server.pid) await stopPid(server.pid);
  }
}

function medianOf(samples: NatBenchSample[], mode: NatMode): number {
  const v = samples.filter((s) => s.mode === mode).map((s) => s.bitsPerSecond).sort((a, b) => a - b);
  if (v.length === 0) return 0;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}
