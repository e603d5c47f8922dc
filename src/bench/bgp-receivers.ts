// The receivers `tabby bench bgp` compares, each a fresh process in its own namespace:
// - Tabby: the real agent, `tabby node run` with a file datastore holding one global
//   BGPPeer to the sender (the dataplane a user picks, iptables by default);
// - BIRD 2 with a kernel protocol exporting everything it learns;
// - GoBGP (RIB only: it installs nothing into the kernel), for memory.
// Kernel counts come from /proc/PID/net/fib_triestat of the receiver's own process
// (the namespace's FIB without spawning anything per poll).

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, startDaemon, stopPid, waitFor } from '../util/exec.js';
import { BirdControl } from './bird-control.js';
import { onCleanup } from './cleanup.js';
import { BenchError } from './common.js';

export type Kind = 'tabby' | 'bird' | 'gobgp';
export const NAMES: Record<Kind, string> = { tabby: 'Tabby', bird: 'BIRD', gobgp: 'GoBGP' };

export const SENDER_AS = 65001;
export const RECEIVER_AS = 65002;

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');

export interface Receiver {
  pid: number;
  /** Routes installed (kernel) or held (GoBGP RIB), beyond what was there at start. */
  count(): Promise<number>;
  stop(): Promise<void>;
}

export interface ReceiverSpec {
  kind: Kind;
  ns: string;
  /** The receiver's address and the senders it peers with. */
  addr: string;
  peers: { address: string; asn: number }[];
  /** iBGP (all one AS) for the mesh case; eBGP from SENDER_AS otherwise. */
  asn: number;
  dir: string;
  tag: string;
  /** Tabby only. */
  dataplane?: 'iptables' | 'none';
  /** Tabby only: Node resources of the senders (the mesh case), and a pool for their blocks. */
  meshNodes?: boolean;
  pool?: string;
  /** Tabby only: write a V8 CPU profile into this directory. */
  cpuProfDir?: string;
}

/** Prefixes in the Main FIB of the namespace `pid` lives in. */
export function fibPrefixesOf(pid: number): number {
  const text = readFileSync(`/proc/${pid}/net/fib_triestat`, 'utf8');
  const m = /Main:[\s\S]*?Prefixes:\s*(\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}

/** The node flags of the CLI's `#!/usr/bin/env -S node FLAGS` line. */
export function shebangFlags(): string[] {
  const first = readFileSync(CLI, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\S*env -S node (.+)$/.exec(first);
  return m ? m[1]!.trim().split(/\s+/) : [];
}

function start(argv: string[], ns: string, log: string): number {
  const child = startDaemon(argv, { netns: ns, logFile: log });
  const pid = child.pid;
  if (!pid) throw new BenchError(`cannot start ${argv[0]}`);
  onCleanup(() => stopPid(pid, 3000));
  return pid;
}

async function listening(ns: string, what: string, port = 179): Promise<void> {
  await waitFor(what, async () => (await run(['ss', '-Hltn', `sport = :${port}`], { netns: ns, allowFail: true })).stdout.trim() !== '', 30_000, 50);
}

function kernelReceiver(pid: number, stop: () => Promise<void>): Receiver {
  const base = fibPrefixesOf(pid);
  return { pid, count: async () => fibPrefixesOf(pid) - base, stop };
}

function resources(s: ReceiverSpec): string {
  const docs = [
    `apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: ${s.asn}, nodeToNodeMeshEnabled: ${s.meshNodes ? 'true' : 'false'}, logSeverityScreen: Info}`,
  ];
  if (s.meshNodes) {
    s.peers.forEach((p, i) => {
      docs.push(`apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: peer${i}}
spec: {bgp: {ipv4Address: ${p.address}/16}}`);
    });
  } else {
    s.peers.forEach((p, i) => {
      docs.push(`apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: sender${i}}
spec: {peerIP: ${p.address}, asNumber: ${p.asn}}`);
    });
  }
  if (s.pool) {
    docs.push(`apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: bench}
spec: {cidr: ${s.pool}, ipipMode: Never, vxlanMode: Never, natOutgoing: false, nodeSelector: "!all()"}`);
  }
  return docs.join('\n---\n') + '\n';
}

async function startTabby(s: ReceiverSpec): Promise<Receiver> {
  const dir = join(s.dir, `tabby-${s.tag}`);
  mkdirSync(dir, { recursive: true });
  const store = `file:${join(dir, 'store')}`;
  writeFileSync(join(dir, 'resources.yaml'), resources(s));
  await run([process.execPath, CLI, '--datastore', store, 'apply', '-f', join(dir, 'resources.yaml')], { timeoutMs: 30_000 });
  // Run as a user runs it: node with the flags of the program's #! line (the agent's V8
  // flags). Profiling adds --cpu-prof; TABBY_BENCH_AGENT_NODE_FLAGS adds more for
  // diagnosis (a heap snapshot on a signal, say) and is never set by the bench itself.
  const node = [...shebangFlags(), ...(s.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', s.cpuProfDir] : [])];
  if (process.env.TABBY_BENCH_AGENT_NODE_FLAGS) node.push(...process.env.TABBY_BENCH_AGENT_NODE_FLAGS.split(' ').filter(Boolean));
  const argv = [
    process.execPath, ...node, CLI, '--datastore', store, 'node', 'run', '--name', 'receiver',
    '--dataplane', s.dataplane ?? 'iptables', '--state-dir', join(dir, 'state'), '--health-port', '-1',
    '--ip', 'interface=eth0', '--log-level', 'info',
    // A receiver like the others: no default pool, so no block route of its own in the count.
    '--no-default-pools',
  ];
  const pid = start(argv, s.ns, join(s.dir, `tabby-${s.tag}.log`));
  await listening(s.ns, 'the Tabby agent');
  return kernelReceiver(pid, () => stopPid(pid, 10_000));
}

async function startBird(s: ReceiverSpec): Promise<Receiver> {
  const conf = join(s.dir, `bird-recv-${s.tag}.conf`);
  const sock = join(s.dir, `bird-recv-${s.tag}.ctl`);
  const ibgp = s.peers.every((p) => p.asn === s.asn);
  const neighbours = s.peers
    .map((p, i) => `protocol bgp from${i} {
  local ${s.addr} as ${s.asn};
  neighbor ${p.address} as ${p.asn};
  passive on;
  ipv4 { import all; export none;${ibgp ? ' next hop keep;' : ''} };
}`)
    .join('\n');
  writeFileSync(conf, `router id ${s.addr};
protocol device { scan time 10; }
protocol kernel { ipv4 { import none; export all; }; learn off; scan time 600;${ibgp ? ' merge paths on;' : ''} }
${neighbours}
`);
  const pid = start(['bird', '-f', '-c', conf, '-s', sock], s.ns, join(s.dir, `bird-recv-${s.tag}.log`));
  await waitFor('the BIRD receiver control socket', async () => {
    const c = new BirdControl(sock);
    await c.open(2000);
    c.close();
    return true;
  }, 10_000, 50);
  return kernelReceiver(pid, () => stopPid(pid, 3000));
}

async function startGobgp(s: ReceiverSpec): Promise<Receiver> {
  const conf = join(s.dir, `gobgp-${s.tag}.toml`);
  const neighbours = s.peers
    .map((p) => `[[neighbors]]
  [neighbors.config]
    neighbor-address = "${p.address}"
    peer-as = ${p.asn}
  [neighbors.transport.config]
    local-address = "${s.addr}"
    passive-mode = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
`)
    .join('\n');
  writeFileSync(conf, `[global.config]
  as = ${s.asn}
  router-id = "${s.addr}"
  port = 179
  local-address-list = ["${s.addr}"]

${neighbours}`);
  const pid = start(['gobgpd', '-f', conf, '-t', 'toml', '--api-hosts', '127.0.0.1:50051', '--pprof-disable'], s.ns, join(s.dir, `gobgp-${s.tag}.log`));
  const count = async () => {
    const out = (await run(['gobgp', '-u', '127.0.0.1', '-p', '50051', 'global', 'rib', 'summary', '-a', 'ipv4'], { netns: s.ns, allowFail: true, timeoutMs: 30_000 })).stdout;
    const m = /Destination:\s*(\d+)/.exec(out);
    return m ? Number(m[1]) : out.includes('Table') ? 0 : -1;
  };
  await waitFor('gobgpd', async () => (await count()) >= 0, 15_000, 100);
  return { pid, count, stop: () => stopPid(pid, 3000) };
}

export function startReceiver(s: ReceiverSpec): Promise<Receiver> {
  if (s.kind === 'tabby') return startTabby(s);
  if (s.kind === 'bird') return startBird(s);
  return startGobgp(s);
}
