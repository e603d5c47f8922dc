// The real agent restarted under traffic (issue #16): `tabby node run --dataplane bpf`
// with a natOutgoing pool, a workload sending iperf3 TCP through eBPF SNAT to a host
// outside, and the agent stopped (SIGTERM) and started again mid-run. The new agent
// loads its programs on the pinned maps of the old one: the conntrack map keeps its id,
// the new program uses it, no TCP reset is seen while the transfer runs and iperf3 ends
// without an error.
// The agent runs under `nsenter --net` so it sees the host's bpffs, as the DaemonSet's
// hostPath mount gives it (`ip netns exec` would mount a fresh /sys over it).
// Topology: node (eth0 10.77.N.1) ─ external (10.77.N.100); workload 10.78.0.5 in the
// natOutgoing pool behind the node's wl0 (proxy ARP, a /32 route, as Calico's CNI does).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { ip, run, startDaemon, stopPid, waitFor } from '../../src/util/exec.js';
import { TABBY, tabby } from '../helpers/cli.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ root: true, tools: ['ip', 'nsenter', 'iperf3', 'tcpdump', 'bpftool', 'ss', 'tc'] });
const PORT = 5201;
const WL_IP = '10.78.0.5';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function bpftool(args: string[]): Promise<{ id: number; map_ids?: number[] }> {
  return JSON.parse((await run(['bpftool', '-j', ...args])).stdout) as { id: number; map_ids?: number[] };
}

describe('agent restart during an iperf3 run through eBPF SNAT (pinned maps)', { ...NEEDS, timeout: 240_000 }, () => {
  const tag = randomBytes(3).toString('hex');
  const net = randomInt(1, 250);
  const ns = { node: `tbr-${tag}-n`, ext: `tbr-${tag}-x`, wl: `tbr-${tag}-w` };
  const nodeIP = `10.77.${net}.1`;
  const extIP = `10.77.${net}.100`;
  const dir = mkdtempSync(join(tmpdir(), 'tabby-agent-rst-'));
  const store = join(dir, 'store');
  const root = `/sys/fs/bpf/tabby-test-${tag}`;
  const pids: number[] = [];
  let agent: ChildProcess | undefined;

  const startAgent = (n: number): ChildProcess => {
    const argv = [
      'nsenter', `--net=/var/run/netns/${ns.node}`, process.execPath, TABBY, 'node', 'run', '--name', 'n1', '--datastore', `file:${store}`,
      '--state-dir', join(dir, 'state'), '--dataplane', 'bpf', '--bpf-pin-root', root, '--ip-autodetection-method', 'interface=eth0',
      '--no-default-pools', '--health-port', '-1', '--metrics-port', '-1', '--secrets-dir', join(dir, 'secrets'),
    ];
    const child = startDaemon(argv, { logFile: join(dir, `agent-${n}.log`), env: { PATH: process.env.PATH, TABBY_LOG_LEVEL: 'info' } });
    pids.push(child.pid!);
    return child;
  };
  const egressProg = async (): Promise<number | undefined> => {
    const out = (await run(['tc', 'filter', 'show', 'dev', 'eth0', 'egress'], { netns: ns.node, allowFail: true })).stdout;
    const m = /tabby_to_dev.* id (\d+)/.exec(out);
    return m ? Number(m[1]) : undefined;
  };
  const mapsDir = () => join(root, readdirSync(root).find((e) => e.startsWith('maps-'))!);

  before(async () => {
    for (const n of Object.values(ns)) await ip(['netns', 'add', n]);
    await ip(['link', 'add', 'eth0', 'netns', ns.node, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.ext]);
    await ip(['addr', 'add', `${nodeIP}/24`, 'dev', 'eth0'], ns.node);
    await ip(['addr', 'add', `${extIP}/24`, 'dev', 'eth0'], ns.ext);
    for (const n of [ns.node, ns.ext]) {
      await ip(['link', 'set', 'eth0', 'up'], n);
      await ip(['link', 'set', 'lo', 'up'], n);
    }
    // The workload as Calico's CNI wires it: /32, default via 169.254.1.1, proxy ARP.
    await ip(['link', 'add', 'wl0', 'netns', ns.node, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.wl]);
    await ip(['addr', 'add', `${WL_IP}/32`, 'dev', 'eth0'], ns.wl);
    await ip(['link', 'set', 'eth0', 'up'], ns.wl);
    await ip(['route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link'], ns.wl);
    await ip(['route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0'], ns.wl);
    await ip(['link', 'set', 'wl0', 'up'], ns.node);
    await ip(['route', 'add', `${WL_IP}/32`, 'dev', 'wl0'], ns.node);
    // Proxy ARP answers for 169.254.1.1 only with a route to it through another interface.
    await ip(['route', 'add', 'default', 'via', extIP], ns.node);
    await run(['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.wl0.proxy_arp=1'], { netns: ns.node });
    const applied = tabby(store, ['apply', '-f', '-'], `apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: nat}
spec: {cidr: "10.78.0.0/16", natOutgoing: true}`);
    assert.equal(applied.code, 0, applied.stderr);
  });

  after(async () => {
    for (const pid of pids) await stopPid(pid, 5000);
    for (const n of Object.values(ns)) await ip(['netns', 'del', n], undefined, { allowFail: true });
    rmSync(root, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  test('no TCP reset, the conntrack map is the same map, the new program uses it', async (ctx) => {
    agent = startAgent(1);
    // The external host has no route to the pool: a ping answers only through SNAT.
    await waitFor('SNAT by the agent', async () => (await run(['ping', '-c', '1', '-W', '1', extIP], { netns: ns.wl, allowFail: true })).code === 0, 60_000, 500)
      .catch((err: Error) => assert.fail(`${err.message}\n${readFileSync(join(dir, 'agent-1.log'), 'utf8').slice(-3000)}`));
    const ctPin = join(mapsDir(), 'snat_ct');
    const ctBefore = (await bpftool(['map', 'show', 'pinned', ctPin])).id;
    const progBefore = await egressProg();

    const server = startDaemon(['iperf3', '-s', '-1', '-B', extIP, '-p', String(PORT)], { netns: ns.ext, logFile: join(dir, 'iperf3-s.log') });
    pids.push(server.pid!);
    await waitFor('iperf3 server', async () => (await run(['ss', '-Hltn', `sport = :${PORT}`], { netns: ns.ext, allowFail: true })).stdout.trim() !== '', 10_000, 50);
    const pcap = join(dir, 'rst.pcap');
    const dump = startDaemon(['tcpdump', '-i', 'eth0', '-nn', '-U', '-w', pcap, 'tcp[tcpflags] & tcp-rst != 0'], { netns: ns.ext, logFile: join(dir, 'tcpdump.log') });
    pids.push(dump.pid!);
    await waitFor('tcpdump', () => readFileSync(join(dir, 'tcpdump.log'), 'utf8').includes('listening'), 10_000, 50);

    // iperf3 ends with an RST of its own (its server closes a socket with bytes unread):
    // the capture stops while the transfer still runs, after the new agent took over.
    let clientDone = false;
    const client = run(['iperf3', '-c', extIP, '-p', String(PORT), '-t', '20', '-J'], { netns: ns.wl, timeoutMs: 90_000, allowFail: true })
      .finally(() => (clientDone = true));
    await sleep(2000);
    const t0 = performance.now();
    await stopPid(agent.pid!, 10_000);
    agent = startAgent(2);
    await waitFor('the new agent\'s program', async () => {
      const id = await egressProg();
      return id !== undefined && id !== progBefore;
    }, 60_000, 200);
    ctx.diagnostic(`restart: ${(performance.now() - t0).toFixed(0)} ms from SIGTERM to the new program attached`);
    await sleep(1000);
    assert.ok(!clientDone, 'iperf3 still running when the capture stops (the restart took too long to judge)');
    await stopPid(dump.pid!);
    const resets = await run(['tcpdump', '-nn', '-r', pcap], { allowFail: true });
    const r = await client;
    const j = JSON.parse(r.stdout || '{}') as { error?: string; end?: { sum_received?: { bytes: number }; sum_sent?: { retransmits?: number } } };
    assert.equal(j.error, undefined, `iperf3: ${j.error}`);
    assert.ok((j.end?.sum_received?.bytes ?? 0) > 0, 'iperf3 completed');
    ctx.diagnostic(`iperf3 retransmits: ${j.end?.sum_sent?.retransmits}`);
    assert.equal(resets.stdout.trim(), '', `TCP resets while the transfer ran:\n${resets.stdout}`);

    // Not copied: the very same map, now used by the new agent's program.
    assert.equal((await bpftool(['map', 'show', 'pinned', ctPin])).id, ctBefore, 'snat_ct is the same map');
    const progAfter = (await egressProg())!;
    assert.ok((await bpftool(['prog', 'show', 'id', String(progAfter)])).map_ids?.includes(ctBefore), 'the new program uses the pinned conntrack map');
    assert.match(readFileSync(join(dir, 'agent-2.log'), 'utf8'), /"reused":true/, 'the new agent says it reused the maps');
  });
});
