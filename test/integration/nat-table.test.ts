// One natOutgoing test table run against both dataplanes: iptables MASQUERADE with
// ipsets (IptablesNat) and Tabby's own SNAT in tc (BpfSnat). Each mode gets a fresh
// topology (nat-topology.ts): workloads behind node A, a second node B, and an
// external host that can only answer node addresses. The cases run in order; the
// last one removes the dataplane and checks that nothing of Tabby's is left.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST_PROGRAMS, HOST_TC_PRIORITY, HostProgram } from '../../src/dataplane/bpf/host-program.js';
import { BpfEncap } from '../../src/dataplane/encap/bpf-encap.js';
import { BpfSnat, type BpfSnatOptions } from '../../src/dataplane/nat/bpf-snat.js';
import { IptablesNat } from '../../src/dataplane/nat/iptables-nat.js';
import { NAT_CHAINS, parseNatTable } from '../../src/dataplane/nat/iptables-nat-rules.js';
import type { NatDataplane, NatMode } from '../../src/dataplane/nat/nat-dataplane.js';
import type { NatPool } from '../../src/dataplane/nat/nat-pools.js';
import { encodeLpmKey, portCandidates, SNAT_MAPS, type SnatFlow } from '../../src/dataplane/nat/snat-codec.js';
import {
  buildNatTopology, destroyNatTopology, NAT_POOL, NAT_POOL6, type NatTopology,
} from '../../src/bench/nat-topology.js';
import { ip, run, stopPid, waitFor } from '../../src/util/exec.js';
import { echoSocketsPy, startPyServer } from '../helpers/echo-server.js';
import { capture } from './encap-topology.js';
import { needs } from '../helpers/require.js';
import { bigUdpEcho, manyUdpFlows, rawProtoExchange, synFlood, traceHops, udpPmtu } from '../helpers/nat-probes.js';

const NEEDS = needs({ root: true, tools: ['ip', 'ping', 'sysctl', 'iptables', 'iptables-save', 'ipset', 'bpftool', 'python3', 'tcpdump', 'tshark'] });

const PORT = 7777;
const FLOWS_PER_WORKLOAD = 250;

// ---- traffic: a server that echoes what it saw, and clients, all python3 ----

// UDP and TCP on one port. Every datagram/connection is logged as
// "proto ip port payload" and answered with "ip port payload" (the peer as seen).
const SERVER = String.raw`
import socket, sys, threading
lock = threading.Lock()
def log(*a):
    with lock:
        print(*a, flush=True)
${echoSocketsPy(128, 'u.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE: 1,000 datagrams at once\n')}def udp():
    while True:
        data, addr = u.recvfrom(65535)
        ip, p = addr[0], addr[1]
        log('udp', ip, p, data.decode(errors='replace'))
        try:
            u.sendto(('%s %d ' % (ip, p)).encode() + data, (ip, p))
        except OSError:
            pass  # no route back to an untranslated pool address: expected
def conn(c, ip, p):
    c.settimeout(5)
    data = b''
    try:
        while True:
            d = c.recv(4096)
            if not d:
                break
            data += d
        log('tcp', ip, p, data[:80].decode(errors='replace'))
        c.sendall(('%s %d ' % (ip, p)).encode() + data)
    except OSError:
        pass
    c.close()
threading.Thread(target=udp, daemon=True).start()
log('ready')
while True:
    c, addr = t.accept()
    ip, p = addr[0], addr[1]
    threading.Thread(target=conn, args=(c, ip, p), daemon=True).start()
`;

// n UDP sockets, one datagram each (resent while unanswered), replies matched to
// their socket. Prints {local: [port…], replies: {i: [ip, port]}, from: {i: reply's
// source address}, bad: […]}.
const UDP_CLIENT = String.raw`
import json, selectors, socket, sys, time
dst, port, n, tag, wait, expect = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], float(sys.argv[5]), sys.argv[6] == '1'
sel = selectors.DefaultSelector()
socks = []
for i in range(n):
    s = socket.socket(socket.AF_INET6 if ':' in dst else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('::' if ':' in dst else '0.0.0.0', 0))
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, i)
    socks.append(s)
got, frm, bad = {}, {}, []
deadline = time.time() + wait
next_send = 0
while len(got) < n and time.time() < deadline:
    if time.time() >= next_send:
        for i, s in enumerate(socks):
            if i not in got:
                try:
                    s.sendto(('%s:%d' % (tag, i)).encode(), (dst, port))
                except OSError:
                    pass
        next_send = time.time() + 1.0
        if not expect:
            break
    for key, _ in sel.select(timeout=0.2):
        i = key.data
        try:
            data, peer = key.fileobj.recvfrom(2048)
        except OSError:
            continue
        ip, p, token = data.decode().split(' ', 2)
        if token != '%s:%d' % (tag, i):
            bad.append([i, token])
        else:
            got[i] = [ip, int(p)]
            frm[i] = peer[0]
print(json.dumps({'local': [s.getsockname()[1] for s in socks], 'replies': got, 'from': frm, 'bad': bad}))
`;

// One connection: sends the token (and `size` random bytes as hex), reads the echo.
// Prints {local, ip, port, payload, match} where match says the echo was intact.
const TCP_CLIENT = String.raw`
import json, os, socket, sys

dst, port, token, size = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
body = token + (' ' + os.urandom(size).hex() if size else '')
# 30 s without a byte: the echo server reads all 4 MiB before it answers, slowly on a loaded machine.
s = socket.create_connection((dst, port), timeout=30)
local = s.getsockname()[1]
s.sendall(body.encode())
s.shutdown(socket.SHUT_WR)
data = b''
while True:
    d = s.recv(1 << 16)
    if not d:
        break
    data += d
ip, p, payload = data.decode().split(' ', 2)
print(json.dumps({'local': local, 'ip': ip, 'port': int(p), 'payload': payload[:64], 'match': payload == body}))
`;

interface Server {
  pid: number;
  /** Logged lines "proto ip port payload" whose payload starts with `tag`. */
  seen(proto: 'udp' | 'tcp', tag: string): Array<{ ip: string; port: number; payload: string }>;
}

async function startServer(netns: string, address: string, dir: string): Promise<Server> {
  const log = join(dir, `server-${netns}-${address.replace(/[:.]/g, '_')}.log`);
  const child = await startPyServer(SERVER, [address, String(PORT)], netns, log);
  const server: Server = {
    pid: child.pid!,
    seen(proto, tag) {
      return readFileSync(log, 'utf8').split('\n').map((l) => l.split(' ')).filter((f) => f[0] === proto && (f[3] ?? '').startsWith(tag))
        .map((f) => ({ ip: f[1]!, port: Number(f[2]), payload: f.slice(3).join(' ') }));
    },
  };
  return server;
}

interface UdpResult {
  local: number[];
  replies: Record<string, [string, number]>;
  from: Record<string, string>;
  bad: unknown[];
}

async function udpFlows(netns: string, dst: string, n: number, tag: string, opts: { expectReplies?: boolean; waitS?: number } = {}): Promise<UdpResult> {
  const expect = opts.expectReplies ?? true;
  const r = await run(['python3', '-c', UDP_CLIENT, dst, String(PORT), String(n), tag, String(opts.waitS ?? 10), expect ? '1' : '0'],
    { netns, timeoutMs: 60_000 });
  return JSON.parse(r.stdout) as UdpResult;
}

interface TcpResult {
  local: number;
  ip: string;
  port: number;
  payload: string;
  match: boolean;
}

async function tcpFlow(netns: string, dst: string, token: string, size = 0): Promise<TcpResult> {
  const r = await run(['python3', '-c', TCP_CLIENT, dst, String(PORT), token, String(size)], { netns, timeoutMs: 60_000 });
  return JSON.parse(r.stdout) as TcpResult;
}

async function ping(netns: string, dst: string): Promise<boolean> {
  return (await pingFrom(netns, dst)).ok;
}

/** Three pings; `from`: the source addresses the replies came from. */
async function pingFrom(netns: string, dst: string): Promise<{ ok: boolean; from: string[] }> {
  const r = await run(['ping', '-n', '-c', '3', '-i', '0.2', '-W', '1', dst], { netns, allowFail: true, timeoutMs: 20_000 });
  return { ok: r.code === 0, from: [...new Set([...r.stdout.matchAll(/bytes from ([0-9a-f.:]+?):? icmp_seq/g)].map((m) => m[1]!))] };
}

// ---- the two modes, behind one shape ----

interface NatUnderTest {
  dp: NatDataplane;
  /** Throws if a translated source port is not one this mode could have chosen. */
  checkPort(flow: SnatFlow, port: number): void;
  /** Breaks the dataplane from outside, as an admin or another tool might. */
  damage(): Promise<void>;
  /** Asserts that the dataplane holds no natOutgoing pool any more. */
  assertNoNatPools(): Promise<void>;
  remove(): Promise<void>;
  /** What of Tabby's is still in the kernel, as text (empty: nothing). */
  leftovers(): Promise<string[]>;
}

interface NatModeImpl {
  mode: NatMode;
  setup(t: NatTopology): Promise<NatUnderTest>;
}

const iptablesMode: NatModeImpl = {
  mode: 'iptables',
  async setup(t) {
    const netns = t.nodeA.netns;
    const dp = new IptablesNat({ netns });
    const sh = (argv: string[]) => run(argv, { netns });
    return {
      dp,
      checkPort() { /* --random-fully: any port */ },
      async damage() {
        await sh(['iptables', '-t', 'nat', '-D', 'POSTROUTING', '-j', NAT_CHAINS.postrouting]);
      },
      async assertNoNatPools() {
        const state = parseNatTable((await sh(['iptables-save', '-t', 'nat'])).stdout);
        assert.deepEqual(state.chains.get(NAT_CHAINS.natOutgoing), [], 'tabby-nat-outgoing exists and is empty');
        assert.equal(state.jumps.length, 1);
        const masq = await sh(['ipset', 'list', 'tabby40masq-ipam-pools']);
        assert.doesNotMatch(masq.stdout, /10\.66\./);
      },
      remove: () => dp.cleanup(),
      async leftovers() {
        const out: string[] = [];
        for (const tool of ['iptables-save', 'ip6tables-save']) {
          for (const line of (await sh([tool])).stdout.split('\n')) if (/tabby/i.test(line)) out.push(`${tool}: ${line}`);
        }
        for (const set of (await sh(['ipset', 'list', '-n'])).stdout.split('\n')) if (/tabby/i.test(set)) out.push(`ipset: ${set}`);
        return out;
      },
    };
  },
};

interface TcFilterJson { options?: { prog?: { id?: number } } }

async function tcProgIds(netns: string, dir: 'egress' | 'ingress'): Promise<number[]> {
  const r = await run(['tc', '-j', 'filter', 'show', 'dev', 'eth0', dir], { netns });
  const list = r.stdout.trim() ? (JSON.parse(r.stdout) as TcFilterJson[]) : [];
  return list.map((f) => f.options?.prog?.id).filter((id): id is number => typeof id === 'number');
}

async function progMaps(progId: number): Promise<Array<{ id: number; name: string }>> {
  const p = JSON.parse((await run(['bpftool', 'prog', 'show', 'id', String(progId), '-j'])).stdout) as { map_ids?: number[] };
  const out: Array<{ id: number; name: string }> = [];
  for (const id of p.map_ids ?? []) {
    const m = JSON.parse((await run(['bpftool', 'map', 'show', 'id', String(id), '-j'])).stdout) as { name: string };
    out.push({ id, name: m.name });
  }
  return out;
}

const bpfMode: NatModeImpl = {
  mode: 'bpf',
  async setup(t) {
    const netns = t.nodeA.netns;
    const host = new HostProgram({ netns, ifname: 'eth0' });
    const dp = new BpfSnat(host, { nodeIP: t.nodeA.address, nodeIP6: t.nodeA.address6! });
    await host.load([dp]);
    // What the kernel holds for us, to check it is all gone after close().
    const progs = [...await tcProgIds(netns, 'egress'), ...await tcProgIds(netns, 'ingress')];
    const maps = new Map<number, string>();
    for (const p of progs) for (const m of await progMaps(p)) maps.set(m.id, m.name);
    return {
      dp,
      checkPort(flow, port) {
        const c = portCandidates(flow, dp.portRange, dp.hashSeed);
        assert.ok(c.includes(port), `NAT port ${port} is one the program probes for ${JSON.stringify(flow)}: ${c.slice(0, 4).join(',')}…`);
      },
      async damage() {
        const id = [...maps].find(([, name]) => name === SNAT_MAPS.masq4)?.[0];
        assert.ok(id, 'snat_masq4 map found');
        const key = encodeLpmKey(NAT_POOL).key;
        await run(['bpftool', 'map', 'delete', 'id', String(id), 'key', 'hex', ...[...key].map((b) => b.toString(16).padStart(2, '0'))]);
      },
      async assertNoNatPools() {
        const id = [...maps].find(([, name]) => name === SNAT_MAPS.masq4)?.[0];
        const dump = JSON.parse((await run(['bpftool', 'map', 'dump', 'id', String(id), '-j'])).stdout) as unknown[];
        assert.deepEqual(dump, [], 'snat_masq4 is empty');
      },
      remove: () => host.close(),
      async leftovers() {
        const now = async () => {
          const out: string[] = [];
          for (const dir of ['egress', 'ingress'] as const) {
            for (const id of await tcProgIds(netns, dir)) out.push(`tc ${dir} filter with program ${id}`);
          }
          for (const id of progs) {
            if ((await run(['bpftool', 'prog', 'show', 'id', String(id)], { allowFail: true })).code === 0) out.push(`program ${id}`);
          }
          for (const [id, name] of maps) {
            if ((await run(['bpftool', 'map', 'show', 'id', String(id)], { allowFail: true })).code === 0) out.push(`map ${id} ${name}`);
          }
          return out;
        };
        // Programs and maps are freed after an RCU grace period: give them a moment.
        return waitFor('programs and maps to be freed', async () => ((await now()).length === 0 ? [] as string[] : false), 10_000)
          .catch(async () => now());
      },
    };
  },
};

// ---- the table ----

interface Ctx {
  t: NatTopology;
  nat: NatUnderTest;
  /** For the logs of servers a case starts. */
  dir: string;
  ext: Server;
  remote: Server;
  ext6: Server;
  remote6: Server;
}

interface NatCase {
  name: string;
  run(c: Ctx): Promise<void>;
}

const noNat = (pools: NatPool[]): NatPool[] => pools.map((p) => ({ ...p, natOutgoing: false }));

/**
 * An external host reaches a natOutgoing workload directly (routed in via node A, as a
 * ToR would): the workload sees the external address, and its answers, which match
 * "source in a natOutgoing pool, destination in no pool", must leave untranslated, as
 * conntrack leaves a flow opened from outside. The route exists only for this case:
 * the others rely on the external host having no way to a pool address.
 */
async function fromOutside({ t, dir }: Ctx, family: 4 | 6): Promise<void> {
  const w = t.natWorkloads[1]!;
  const wAddr = family === 4 ? w.address : w.address6!;
  const extAddr = family === 4 ? t.external.address : t.external.address6!;
  const fam = family === 4 ? [] : ['-6'];
  const route = family === 4 ? [NAT_POOL, 'via', t.nodeA.address] : [NAT_POOL6, 'via', t.nodeA.address6!];
  await ip([...fam, 'route', 'add', ...route], t.external.netns);
  let server: Server | undefined;
  try {
    server = await startServer(w.netns, wAddr, dir);
    const p = await pingFrom(t.external.netns, wAddr);
    assert.ok(p.ok, 'ping from outside answered');
    assert.deepEqual(p.from, [wAddr], 'echo replies from the workload address');

    const tcp = await tcpFlow(t.external.netns, wAddr, `in-tcp${family}`, 64 << 10);
    assert.equal(tcp.ip, extAddr, 'the workload sees the external address');
    assert.ok(tcp.match, 'the echo matches what was sent');
    assert.deepEqual(server.seen('tcp', `in-tcp${family}`).map((s) => [s.ip, s.port]), [[extAddr, tcp.local]]);

    const udp = await udpFlows(t.external.netns, wAddr, 4, `in-udp${family}`);
    assert.deepEqual(udp.bad, []);
    assert.equal(Object.keys(udp.replies).length, 4, 'every datagram answered');
    for (const [i, [seenIp, seenPort]] of Object.entries(udp.replies)) {
      assert.deepEqual([seenIp, seenPort], [extAddr, udp.local[Number(i)]], 'the workload sees the external address and port');
      assert.equal(udp.from[i], wAddr, 'the answer comes from the workload address');
    }

    // The workload's own flows to the same host are still translated.
    const out = await udpFlows(w.netns, extAddr, 1, `out-after-in${family}`);
    assert.equal(out.replies['0']?.[0], family === 4 ? t.nodeA.address : t.nodeA.address6);
  } finally {
    if (server) await stopPid(server.pid);
    await ip([...fam, 'route', 'del', ...route], t.external.netns);
  }
}

/** The far side's subnets per family: the 1280-byte link, then far's. */
const FAR_NETS = {
  4: { links: ['10.253.1.', '10.253.2.'], len: 24, forwarding: 'net.ipv4.ip_forward' },
  6: { links: ['fd00:253:1::', 'fd00:253:2::'], len: 64, forwarding: 'net.ipv6.conf.all.forwarding' },
} as const;

/**
 * Two more routers beyond the external host, the middle link 1280 bytes:
 *   node A ── external (router) ══1280══ mid (router) ── far
 * so a full-size packet from a workload draws "fragmentation needed" (IPv6: Packet Too
 * Big) from the external host, addressed to node A after SNAT. Removed again after `fn`.
 */
async function withFarHost(t: NatTopology, family: 4 | 6, fn: (far: { netns: string; address: string; mid: string }) => Promise<void>): Promise<void> {
  const { links: [l1, l2], len, forwarding } = FAR_NETS[family];
  const mid = `${t.prefix}-mid${family}`;
  const far = `${t.prefix}-far${family}`;
  const xm = `xm${family}`;
  const ext = t.external.netns;
  const sh = (netns: string, ...a: string[]) => ip([`-${family}`, ...a], netns);
  const addr = (netns: string, a: string, dev: string) => sh(netns, 'addr', 'add', `${a}/${len}`, 'dev', dev, ...(family === 6 ? ['nodad'] : []));
  await run(['ip', 'netns', 'add', mid]);
  try {
    await run(['ip', 'netns', 'add', far]);
    await sh(ext, 'link', 'add', xm, 'mtu', '1280', 'type', 'veth', 'peer', 'name', 'eth0', 'mtu', '1280', 'netns', mid);
    await sh(mid, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', far);
    await addr(ext, `${l1}1`, xm);
    await addr(mid, `${l1}2`, 'eth0');
    await addr(mid, `${l2}1`, 'eth1');
    await addr(far, `${l2}2`, 'eth0');
    for (const [ns, dev] of [[ext, xm], [mid, 'eth0'], [mid, 'eth1'], [mid, 'lo'], [far, 'eth0'], [far, 'lo']] as const) await sh(ns, 'link', 'set', dev, 'up');
    await sh(ext, 'route', 'add', `${l2}0/${len}`, 'via', `${l1}2`);
    await sh(mid, 'route', 'add', 'default', 'via', `${l1}1`);
    await sh(far, 'route', 'add', 'default', 'via', `${l2}1`);
    for (const ns of [ext, mid]) await run(['sysctl', '-qw', `${forwarding}=1`], { netns: ns });
    await fn({ netns: far, address: `${l2}2`, mid: `${l1}2` });
  } finally {
    await run(['sysctl', '-qw', `${forwarding}=0`], { netns: ext });
    await run(['ip', '-n', ext, 'link', 'del', xm], { allowFail: true });
    await run(['ip', 'netns', 'del', far], { allowFail: true });
    await run(['ip', 'netns', 'del', mid], { allowFail: true });
  }
}

const CASES: NatCase[] = [
  {
    name: 'apply() again with nothing declared anew changes nothing',
    async run({ nat }) {
      assert.equal((await nat.dp.apply()).changes, 0);
    },
  },
  {
    name: 'TCP from a natOutgoing workload reaches the external host from the node address',
    async run({ t, nat, ext }) {
      const w = t.natWorkloads[0]!;
      const r = await tcpFlow(w.netns, t.external.address, 'tcp-1');
      assert.equal(r.ip, t.nodeA.address, 'source seen by the external host');
      assert.equal(r.payload, 'tcp-1', 'the reply came back to the client');
      nat.checkPort({ proto: 'tcp', src: w.address, sport: r.local, dst: t.external.address, dport: PORT }, r.port);
      assert.deepEqual(ext.seen('tcp', 'tcp-1').map((s) => s.ip), [t.nodeA.address]);
    },
  },
  {
    name: 'a 4 MiB TCP exchange through the translation arrives intact both ways',
    async run({ t }) {
      const r = await tcpFlow(t.natWorkloads[3]!.netns, t.external.address, 'bulk-1', 2 << 20);
      assert.equal(r.ip, t.nodeA.address);
      assert.ok(r.match, 'the echo matches what was sent');
    },
  },
  {
    name: 'UDP from a natOutgoing workload reaches the external host from the node address',
    async run({ t, nat }) {
      const w = t.natWorkloads[0]!;
      const r = await udpFlows(w.netns, t.external.address, 1, 'udp-1');
      assert.deepEqual(r.bad, []);
      const seen = r.replies['0'];
      assert.ok(seen, 'a reply came back');
      assert.equal(seen[0], t.nodeA.address);
      nat.checkPort({ proto: 'udp', src: w.address, sport: r.local[0]!, dst: t.external.address, dport: PORT }, seen[1]);
    },
  },
  {
    name: 'ICMP echo from two natOutgoing workloads: requests leave from the node address, replies come back',
    async run({ t }) {
      const [w0, w1] = t.natWorkloads;
      let ok: boolean[] = [];
      const pkts = await capture(t.external.netns, 'eth0', 'icmp', 12, async () => {
        ok = await Promise.all([ping(w0!.netns, t.external.address), ping(w1!.netns, t.external.address)]);
      });
      assert.deepEqual(ok, [true, true], 'both pings answered');
      const requests = pkts.filter((p) => p.ipDst[0] === t.external.address);
      assert.ok(requests.length >= 6, `captured ${requests.length} echo requests`);
      for (const p of requests) assert.equal(p.ipSrc[0], t.nodeA.address);
    },
  },
  {
    name: "the node's own connections are not translated",
    async run({ t }) {
      const r = await tcpFlow(t.nodeA.netns, t.external.address, 'own-1');
      assert.equal(r.ip, t.nodeA.address);
      assert.equal(r.port, r.local, 'source port unchanged');
    },
  },
  {
    name: 'a workload in a pool without natOutgoing is not translated',
    async run({ t, ext }) {
      const w = t.plainWorkload;
      const r = await udpFlows(w.netns, t.external.address, 1, 'plain-1', { expectReplies: false });
      const seen = await waitFor('the datagram at the external host', () => ext.seen('udp', 'plain-1')[0], 5_000);
      assert.equal(seen.ip, w.address);
      assert.equal(seen.port, r.local[0]);
    },
  },
  {
    name: 'traffic between two pool addresses is never translated',
    async run({ t, remote }) {
      const w = t.natWorkloads[0]!;
      const tcp = await tcpFlow(w.netns, t.remoteWorkload.address, 'p2p-tcp');
      assert.deepEqual([tcp.ip, tcp.port], [w.address, tcp.local]);
      const udp = await udpFlows(w.netns, t.remoteWorkload.address, 1, 'p2p-udp');
      assert.deepEqual(udp.replies['0'], [w.address, udp.local[0]]);
      assert.deepEqual(remote.seen('udp', 'p2p-udp').map((s) => s.ip), [w.address]);
    },
  },
  {
    name: 'IPv6: TCP, UDP and ICMPv6 echo from a natOutgoing workload leave from the node address',
    async run({ t, nat, ext6 }) {
      const w = t.natWorkloads[0]!;
      const ext = t.external.address6!;
      const tcp = await tcpFlow(w.netns, ext, 'tcp6-1', 64 << 10);
      assert.equal(tcp.ip, t.nodeA.address6);
      assert.ok(tcp.match, 'the echo matches what was sent');
      nat.checkPort({ proto: 'tcp', src: w.address6!, sport: tcp.local, dst: ext, dport: PORT }, tcp.port);
      const udp = await udpFlows(w.netns, ext, 1, 'udp6-1');
      assert.equal(udp.replies['0']?.[0], t.nodeA.address6);
      nat.checkPort({ proto: 'udp', src: w.address6!, sport: udp.local[0]!, dst: ext, dport: PORT }, udp.replies['0']![1]);
      assert.deepEqual(ext6.seen('udp', 'udp6-1').map((s) => s.ip), [t.nodeA.address6]);
      // The external host has no route to the pool: an answered ping was translated.
      assert.ok(await ping(w.netns, ext), 'ping answered');
    },
  },
  {
    name: 'IPv6: no translation without natOutgoing, nor between pool addresses',
    async run({ t, ext6, remote6 }) {
      const p = t.plainWorkload;
      const r = await udpFlows(p.netns, t.external.address6!, 1, 'plain6-1', { expectReplies: false });
      const seen = await waitFor('the datagram at the external host', () => ext6.seen('udp', 'plain6-1')[0], 5_000);
      assert.deepEqual([seen.ip, seen.port], [p.address6, r.local[0]]);
      const w = t.natWorkloads[0]!;
      const tcp = await tcpFlow(w.netns, t.remoteWorkload.address6!, 'p2p6-tcp');
      assert.deepEqual([tcp.ip, tcp.port], [w.address6, tcp.local]);
      assert.deepEqual(remote6.seen('tcp', 'p2p6-tcp').map((s) => s.ip), [w.address6]);
    },
  },
  {
    name: 'from outside to a natOutgoing workload (ICMP, TCP, UDP): not translated, answers come from the workload',
    run: (c) => fromOutside(c, 4),
  },
  {
    name: 'IPv6: from outside to a natOutgoing workload (ICMPv6, TCP, UDP): not translated, answers come from the workload',
    run: (c) => fromOutside(c, 6),
  },
  {
    // RFC 791: the fragments of one datagram share source, destination, protocol and
    // identification; only the first carries the ports.
    name: 'a 4 000-byte UDP datagram leaves in fragments from the node address, and its fragmented 4 000-byte reply comes back',
    async run({ t, ext }) {
      const w = t.natWorkloads[0]!;
      const echo: { r?: Awaited<ReturnType<typeof bigUdpEcho>> } = {};
      const pkts = await capture(t.external.netns, 'eth0', `ip[6:2] & 0x3fff != 0 and host ${t.nodeA.address}`, 6, async () => {
        echo.r = await bigUdpEcho(w.netns, t.external.address, PORT, 4000, 'frag-1');
      });
      const r = echo.r;
      assert.ok(r, 'the reply came back');
      assert.deepEqual([r.ip, r.from, r.match], [t.nodeA.address, t.external.address, true]);
      assert.ok(r.len > 4000);
      const out = pkts.filter((p) => p.ipDst[0] === t.external.address);
      const back = pkts.filter((p) => p.ipSrc[0] === t.external.address);
      assert.ok(out.length >= 3 && back.length >= 3, `fragments on the wire: ${out.length} out, ${back.length} back`);
      for (const p of out) assert.equal(p.ipSrc[0], t.nodeA.address, 'every fragment from the node address');
      assert.deepEqual(ext.seen('udp', 'frag-1').map((s) => s.ip), [t.nodeA.address]);
    },
  },
  {
    // RFC 8200 §4.5: the source fragments, each fragment carries a fragment header; only
    // the first has the UDP header. As for IPv4, the later ones follow the first.
    name: 'IPv6: a 4 000-byte UDP datagram leaves in fragments from the node address, and its fragmented reply comes back',
    async run({ t, ext6 }) {
      const w = t.natWorkloads[1]!;
      const node6 = t.nodeA.address6!;
      const echo: { r?: Awaited<ReturnType<typeof bigUdpEcho>> } = {};
      const pkts = await capture(t.external.netns, 'eth0', `ip6[6] == 44 and host ${node6}`, 6, async () => {
        echo.r = await bigUdpEcho(w.netns, t.external.address6!, PORT, 4000, 'frag6-1');
      });
      const r = echo.r;
      assert.ok(r, 'the reply came back');
      assert.deepEqual([r.ip, r.from, r.match], [node6, t.external.address6, true]);
      assert.ok(r.len > 4000);
      const out = pkts.filter((p) => p.ip6Dst[0] === t.external.address6);
      const back = pkts.filter((p) => p.ip6Src[0] === t.external.address6);
      assert.ok(out.length >= 3 && back.length >= 3, `fragments on the wire: ${out.length} out, ${back.length} back`);
      for (const p of out) assert.equal(p.ip6Src[0], node6, 'every fragment from the node address');
      assert.deepEqual(ext6.seen('udp', 'frag6-1').map((s) => s.ip), [node6]);
    },
  },
  {
    // RFC 1191 (path MTU discovery) and RFC 792 (the error quotes the IP header and
    // 8 bytes of the datagram): the error is about the translated packet, so it reaches
    // the workload only if translated back, as Linux NAT does for RELATED ICMP
    // (net/netfilter/nf_nat_proto.c, nf_nat_icmp_reply_translation).
    name: 'ICMP errors about translated flows reach the workload: path MTU 1280 two routers away (UDP and TCP), traceroute hops',
    async run({ t, dir }) {
      const w = t.natWorkloads[2]!;
      await withFarHost(t, 4, async (far) => {
        const udp = await udpPmtu(w.netns, far.address, 1400);
        assert.ok(udp.emsgsize, `the kernel never learnt the smaller path MTU: ${JSON.stringify(udp)}`);
        assert.equal(udp.mtu, 1280, 'path MTU from the "fragmentation needed" of the 1280-byte hop');
        const server = await startServer(far.netns, far.address, dir);
        try {
          // TCP's MSS (1460) does not fit the middle hop: only PMTU discovery lets it through.
          const tcp = await tcpFlow(t.natWorkloads[3]!.netns, far.address, 'pmtu-tcp', 256 << 10);
          assert.ok(tcp.match, 'the echo matches what was sent');
          assert.equal(tcp.ip, t.nodeA.address);
        } finally {
          await stopPid(server.pid);
        }
        const hops = await traceHops(t.natWorkloads[0]!.netns, far.address, 4);
        // Hop 1 is node A itself (no translation involved); 2 and 3 are time exceeded
        // from the routers, 4 is far's port unreachable, all addressed to node A.
        assert.deepEqual(hops.slice(1).map((h) => [h.ttl, h.type, h.code, h.from]), [
          [2, 11, 0, t.external.address], [3, 11, 0, far.mid], [4, 3, 3, far.address],
        ], JSON.stringify(hops));
      });
    },
  },
  {
    // RFC 4443 §3.2/§3.3 and RFC 8201 (path MTU discovery for IPv6): a Packet Too Big or
    // Time Exceeded quotes the translated packet (as much of it as fits in 1280 bytes),
    // so it reaches the workload only if translated back, as Linux NAT does
    // (net/netfilter/nf_nat_proto.c, nf_nat_icmpv6_reply_translation).
    name: 'ICMPv6 errors about translated flows reach the workload: Packet Too Big from a 1280 hop (TCP), traceroute hops',
    async run({ t, dir }) {
      await withFarHost(t, 6, async (far) => {
        const server = await startServer(far.netns, far.address, dir);
        try {
          // TCP's MSS (1440) does not fit the middle hop: only PMTU discovery lets it through.
          const tcp = await tcpFlow(t.natWorkloads[3]!.netns, far.address, 'pmtu6-tcp', 256 << 10);
          assert.ok(tcp.match, 'the echo matches what was sent');
          assert.equal(tcp.ip, t.nodeA.address6);
        } finally {
          await stopPid(server.pid);
        }
        const hops = await traceHops(t.natWorkloads[0]!.netns, far.address, 4);
        // Hop 1 is node A itself; 2 and 3 are time exceeded (type 3) from the routers,
        // 4 is far's port unreachable (type 1, code 4), all addressed to node A.
        assert.deepEqual(hops.slice(1).map((h) => [h.ttl, h.type, h.code, h.from]), [
          [2, 3, 0, t.external.address6], [3, 3, 0, far.mid], [4, 1, 4, far.address],
        ], JSON.stringify(hops));
      });
    },
  },
  {
    name: 'GRE (47) and SCTP (132) flows opened from outside: answered from the workload address, untranslated',
    async run({ t }) {
      const w = t.natWorkloads[1]!;
      await ip(['route', 'add', NAT_POOL, 'via', t.nodeA.address], t.external.netns);
      try {
        for (const proto of [47, 132]) {
          const got = await rawProtoExchange(t.external.netns, w.netns, w.address, proto);
          assert.deepEqual(got, { from: w.address, payload: 'answer:question' }, `protocol ${proto}`);
        }
      } finally {
        await ip(['route', 'del', NAT_POOL, 'via', t.nodeA.address], t.external.netns);
      }
    },
  },
  {
    name: `${4 * FLOWS_PER_WORKLOAD} concurrent UDP flows from 4 workloads: distinct NAT ports, every reply to its own socket`,
    async run({ t, ext }) {
      const wls = t.natWorkloads.slice(0, 4);
      assert.equal(wls.length, 4);
      const results = await Promise.all(wls.map((w, i) => udpFlows(w.netns, t.external.address, FLOWS_PER_WORKLOAD, `many-${i}`, { waitS: 20 })));
      const natPorts = new Set<number>();
      results.forEach((r, i) => {
        assert.deepEqual(r.bad, [], `workload ${i}: replies delivered to the wrong socket`);
        assert.equal(Object.keys(r.replies).length, FLOWS_PER_WORKLOAD, `workload ${i}: replies received`);
        for (const [ip, port] of Object.values(r.replies)) {
          assert.equal(ip, t.nodeA.address);
          natPorts.add(port);
        }
      });
      assert.equal(natPorts.size, 4 * FLOWS_PER_WORKLOAD, 'distinct NAT ports in the replies');
      // The server's own record: every (ip, port) it saw, whatever it could answer.
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) for (const s of ext.seen('udp', `many-${i}:`)) seen.add(`${s.ip} ${s.port}`);
      assert.equal(seen.size, 4 * FLOWS_PER_WORKLOAD, 'distinct (source, port) pairs at the server');
      for (const s of seen) assert.ok(s.startsWith(`${t.nodeA.address} `), s);
    },
  },
  {
    name: 'turning natOutgoing off stops translation for new flows, without a restart; on again restores it',
    async run({ t, nat, ext }) {
      const w = t.natWorkloads[1]!;
      nat.dp.setPools(noNat(t.pools));
      assert.ok((await nat.dp.apply()).changes > 0);
      await nat.assertNoNatPools();
      const r = await udpFlows(w.netns, t.external.address, 1, 'off-1', { expectReplies: false });
      const seen = await waitFor('the datagram at the external host', () => ext.seen('udp', 'off-1')[0], 5_000);
      assert.deepEqual([seen.ip, seen.port], [w.address, r.local[0]], 'untranslated');

      nat.dp.setPools(t.pools);
      assert.ok((await nat.dp.apply()).changes > 0);
      const again = await udpFlows(w.netns, t.external.address, 1, 'on-1');
      assert.equal(again.replies['0']?.[0], t.nodeA.address);
    },
  },
  {
    name: 'apply() repairs what was broken from outside',
    async run({ t, nat, ext }) {
      const w = t.natWorkloads[2]!;
      await nat.damage();
      await udpFlows(w.netns, t.external.address, 1, 'broken-1', { expectReplies: false });
      const seen = await waitFor('the datagram at the external host', () => ext.seen('udp', 'broken-1')[0], 5_000);
      assert.equal(seen.ip, w.address, 'the damage did stop translation');
      assert.ok((await nat.dp.apply()).changes > 0, 'apply() found something to repair');
      assert.equal((await nat.dp.apply()).changes, 0, 'and then nothing more');
      const r = await udpFlows(w.netns, t.external.address, 1, 'repaired-1');
      assert.equal(r.replies['0']?.[0], t.nodeA.address);
    },
  },
  {
    name: 'removing the dataplane leaves no rule, set, program or map of Tabby behind',
    async run({ nat }) {
      await nat.remove();
      await nat.remove(); // idempotent
      assert.deepEqual(await nat.leftovers(), []);
    },
  },
];

for (const impl of [iptablesMode, bpfMode]) {
  describe(`natOutgoing (${impl.mode})`, { ...NEEDS, timeout: 300_000 }, () => {
    let t: NatTopology | undefined;
    let ctx: Ctx | undefined;
    const dir = mkdtempSync(join(tmpdir(), 'tabby-nat-'));
    const servers: Server[] = [];

    before(async () => {
      t = await buildNatTopology({ natWorkloads: 4 });
      servers.push(await startServer(t.external.netns, t.external.address, dir));
      servers.push(await startServer(t.remoteWorkload.netns, t.remoteWorkload.address, dir));
      servers.push(await startServer(t.external.netns, t.external.address6!, dir));
      servers.push(await startServer(t.remoteWorkload.netns, t.remoteWorkload.address6!, dir));
      const nat = await impl.setup(t);
      nat.dp.setPools(t.pools);
      await nat.dp.apply();
      ctx = { t, nat, dir, ext: servers[0]!, remote: servers[1]!, ext6: servers[2]!, remote6: servers[3]! };
    });

    after(async () => {
      await ctx?.nat.remove().catch(() => undefined);
      for (const s of servers) await stopPid(s.pid);
      if (t) await destroyNatTopology(t);
      rmSync(dir, { recursive: true, force: true });
    });

    for (const c of CASES) {
      test(c.name, { timeout: 120_000 }, async () => {
        assert.ok(ctx, 'setup failed');
        await c.run(ctx);
      });
    }
  });
}

/** The host programs on node A with only the SNAT step, to load(). */
function snatOnly(t: NatTopology, opts: BpfSnatOptions = {}): { host: HostProgram; snat: BpfSnat } {
  const host = new HostProgram({ netns: t.nodeA.netns, ifname: 'eth0' });
  return { host, snat: new BpfSnat(host, { nodeIP: t.nodeA.address, ...opts }) };
}

describe('natOutgoing (bpf) and eBPF encap as steps of one program', { ...NEEDS, timeout: 120_000 }, () => {
  test('one filter per hook runs SNAT, then encapsulation', async () => {
    const t = await buildNatTopology({ natWorkloads: 1 });
    const dir = mkdtempSync(join(tmpdir(), 'tabby-nat-'));
    const host = new HostProgram({ netns: t.nodeA.netns, ifname: 'eth0' });
    const encap = new BpfEncap(host, { nodeIP: t.nodeA.address, entries: [] });
    const snat = new BpfSnat(host, { nodeIP: t.nodeA.address });
    let server: Server | undefined;
    try {
      server = await startServer(t.external.netns, t.external.address, dir);
      await host.load([encap, snat]);
      snat.setPools(t.pools);
      await snat.apply();
      const r = await udpFlows(t.natWorkloads[0]!.netns, t.external.address, 1, 'both-1');
      assert.equal(r.replies['0']?.[0], t.nodeA.address);
      assert.ok(await ping(t.natWorkloads[0]!.netns, t.remoteWorkload.address), 'pool-to-pool traffic still passes');
      for (const dir of ['egress', 'ingress'] as const) {
        const filters = JSON.parse((await run(['tc', '-j', 'filter', 'show', 'dev', 'eth0', dir], { netns: t.nodeA.netns })).stdout) as Array<{ pref: number; options?: { bpf_name?: string } }>;
        // tc names the program as NAME:[ID].
        const progs = filters.filter((f) => f.options?.bpf_name).map((f) => [f.pref, f.options!.bpf_name!.replace(/:\[\d+\]$/, '')]);
        assert.deepEqual(progs, [[HOST_TC_PRIORITY, HOST_PROGRAMS[dir]]], dir);
      }
      assert.ok((await snat.counters()).snatUdp.packets > 0n, 'the SNAT step ran');
    } finally {
      await host.close().catch(() => undefined);
      if (server) await stopPid(server.pid);
      await destroyNatTopology(t);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('natOutgoing (bpf): NAT ports run out, then come back after the idle timeout', { ...NEEDS, timeout: 120_000 }, () => {
  test('two ports, three flows: the third is dropped until an idle flow expires, then takes its port', async () => {
    const t = await buildNatTopology({ natWorkloads: 1 });
    const dir = mkdtempSync(join(tmpdir(), 'tabby-nat-'));
    const { host, snat } = snatOnly(t, { portRange: { min: 61000, max: 61001 }, timeouts: { udp: 2 } });
    let server: Server | undefined;
    try {
      server = await startServer(t.external.netns, t.external.address, dir);
      await host.load([snat]);
      snat.setPools(t.pools);
      await snat.apply();
      const w = t.natWorkloads[0]!;
      const two = await udpFlows(w.netns, t.external.address, 2, 'few-a');
      assert.deepEqual(Object.values(two.replies).map((r) => r[1]).sort(), [61000, 61001]);
      const flow = { proto: 'udp' as const, src: w.address, sport: two.local[0]!, dst: t.external.address, dport: PORT };
      const ct = await snat.lookupFlow(flow);
      assert.equal(ct.orig?.address, t.nodeA.address);
      assert.deepEqual([ct.reply?.address, ct.reply?.port], [w.address, flow.sport], 'REPLY entry leads back to the socket');

      const third = await udpFlows(w.netns, t.external.address, 1, 'few-b', { waitS: 1.5 });
      assert.deepEqual(third.replies, {}, 'no port left for a third flow');
      assert.ok((await snat.drops()).noPort.packets > 0n, 'counted as noPort');

      await new Promise((r) => setTimeout(r, 2_500)); // the first two idle past 2 s
      const later = await udpFlows(w.netns, t.external.address, 1, 'few-c');
      assert.equal(later.replies['0']?.[0], t.nodeA.address);
      assert.ok((await snat.counters()).portReused.packets >= 1n, 'an expired flow\'s port was reused');
    } finally {
      await host.close().catch(() => undefined);
      if (server) await stopPid(server.pid);
      await destroyNatTopology(t);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Felix's and Cilium's eBPF NAT keep NAT bindings apart from what outside traffic
// creates; here a SYN flood to pool addresses (each SYN a flow opened from outside)
// fills only the PASS map. 20 000 flows to one destination need a range of more than
// 20 000 ports (Cilium's default 32768-65535) and probing that finds the free ones.
describe('natOutgoing (bpf): 20 000 concurrent flows to one destination, then a SYN flood to pool addresses', { ...NEEDS, timeout: 600_000 }, () => {
  test('every flow gets a NAT port; after 140 000 SYNs from outside every binding is still there', { timeout: 600_000 }, async (ctx) => {
    const t = await buildNatTopology({ natWorkloads: 2, ipv6: false });
    const { host, snat } = snatOnly(t);
    try {
      await host.load([snat]);
      snat.setPools(t.pools);
      await snat.apply();
      const c0 = await snat.counters();
      const [a, b] = t.natWorkloads as [NatTopology['natWorkloads'][number], NatTopology['natWorkloads'][number]];
      const ports = await Promise.all([a, b].map((w, i) => manyUdpFlows(w.netns, t.external.address, PORT, 10_000, `f${i}`)));
      const c1 = await snat.counters();
      const drops = await snat.drops();
      ctx.diagnostic(`new flows ${c1.newFlow.packets - c0.newFlow.packets}, noPort drops ${drops.noPort.packets}`);
      assert.equal(drops.noPort.packets, 0n, 'a flow found no NAT port');
      assert.equal(c1.newFlow.packets - c0.newFlow.packets, 20_000n);

      await ip(['route', 'add', NAT_POOL, 'via', t.nodeA.address], t.external.netns);
      await synFlood(t.external.netns, [a.address, b.address, t.natWorkloads[0]!.address.replace(/\.\d+$/, '.99')], 140_000);
      const c2 = await snat.counters();
      ctx.diagnostic(`flows from outside recorded: ${c2.inboundFlow.packets - c1.inboundFlow.packets}`);
      assert.ok(c2.inboundFlow.packets - c1.inboundFlow.packets > 100_000n, 'the flood reached the program');
      let lost = 0;
      for (const [i, w] of [a, b].entries()) {
        for (const sport of ports[i]!) {
          const f = await snat.lookupFlow({ proto: 'udp', src: w.address, sport, dst: t.external.address, dport: PORT });
          if (!f.orig || !f.reply) lost++;
        }
      }
      assert.equal(lost, 0, `${lost} NAT bindings evicted by the flood`);
    } finally {
      await host.close().catch(() => undefined);
      await destroyNatTopology(t);
    }
  });
});

describe('natOutgoing (bpf): configuration changes at run time', { ...NEEDS, timeout: 120_000 }, () => {
  test('a new node address in the config map applies to the next packet, without a reload', async () => {
    const t = await buildNatTopology({ natWorkloads: 1, ipv6: false });
    const dir = mkdtempSync(join(tmpdir(), 'tabby-nat-'));
    const { host, snat } = snatOnly(t);
    let server: Server | undefined;
    try {
      server = await startServer(t.external.netns, t.external.address, dir);
      await host.load([snat]);
      snat.setPools(t.pools);
      await snat.apply();
      const w = t.natWorkloads[0]!;
      const before = await udpFlows(w.netns, t.external.address, 1, 'addr-a');
      assert.equal(before.replies['0']?.[0], t.nodeA.address);

      const second = t.nodeA.address.replace(/\.1$/, '.11');
      await run(['ip', 'addr', 'add', `${second}/24`, 'dev', 'eth0'], { netns: t.nodeA.netns });
      await snat.setConfig({ nodeIP: second, portRange: { min: 62000, max: 62999 } });
      const after = await udpFlows(w.netns, t.external.address, 1, 'addr-b');
      assert.equal(after.replies['0']?.[0], second, 'translated to the new address');
      assert.ok(after.replies['0']![1] >= 62000 && after.replies['0']![1] <= 62999, 'from the new port range');
      assert.equal((await snat.apply()).changes, 0, 'apply() keeps the new configuration');
      // A range overlapping ip_local_port_range is taken, as Cilium's default
      // 32768-65535 is: the node's own connections then keep their ports (reserved
      // in the NAT map, counted as hostReserved).
      await snat.setConfig({ nodeIP: t.nodeA.address, portRange: { min: 32768, max: 60999 } });
      const reserved0 = (await snat.counters()).hostReserved.packets;
      const own = await tcpFlow(t.nodeA.netns, t.external.address, 'own-overlap');
      assert.deepEqual([own.ip, own.port], [t.nodeA.address, own.local], 'the node\'s own connection keeps its source port');
      assert.ok((await snat.counters()).hostReserved.packets > reserved0, 'its port was reserved');
    } finally {
      await host.close().catch(() => undefined);
      if (server) await stopPid(server.pid);
      await destroyNatTopology(t);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
