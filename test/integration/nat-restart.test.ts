// Lossless restart of eBPF SNAT: a second HostProgram with the SNAT step finds the
// program at Tabby's fixed tc slot, copies its configuration, pools and conntrack into
// a fresh object and replaces the filters in place while flows run through the
// translation every 10 ms:
// nothing lost, translated flows keep their NAT port, a flow opened from outside stays
// untranslated, and there is never a second filter. release() leaves the programs
// working (agent shutdown); close() of a superseded instance leaves its successor.
// Topology: nat-topology.ts, with a route on the external host to the natOutgoing
// pool via node A for the flow opened from outside.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST_TC_HANDLE, HOST_TC_PRIORITY, HostProgram } from '../../src/dataplane/bpf/host-program.js';
import { BpfSnat, type BpfSnatOptions } from '../../src/dataplane/nat/bpf-snat.js';
import { buildNatTopology, destroyNatTopology, NAT_POOL, type NatTopology } from '../../src/bench/nat-topology.js';
import { ip, run, stopPid } from '../../src/util/exec.js';
import { echoSocketsPy, startPyServer } from '../helpers/echo-server.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ root: true, tools: ['ip', 'ping', 'sysctl', 'iptables', 'ipset', 'python3'] });

const PORT = 7788;
const RANGE = { min: 62000, max: 62999 };

// UDP and TCP echo: each datagram, or each line of a connection, comes back prefixed
// with the peer's address and port as the server saw them.
const SERVER = String.raw`
import socket, sys, threading
${echoSocketsPy(16)}def udp():
    while True:
        data, addr = u.recvfrom(2048)
        u.sendto(('%s %d ' % (addr[0], addr[1])).encode() + data, addr)
def conn(c, addr):
    for line in c.makefile('rb'):
        c.sendall(('%s %d ' % (addr[0], addr[1])).encode() + line)
    c.close()
threading.Thread(target=udp, daemon=True).start()
print('ready', flush=True)
while True:
    c, addr = t.accept()
    threading.Thread(target=conn, args=(c, addr), daemon=True).start()
`;

// One flow (a connected UDP socket, or one TCP connection) sending a sequence number
// every `interval` s. A connected UDP socket only takes replies from its peer, so an
// answer from the wrong address counts as lost. Prints {local, sent, received, peers}.
const CLIENT = String.raw`
import json, socket, sys, threading, time

proto, dst, port, count, interval = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
fam = socket.AF_INET6 if ':' in dst else socket.AF_INET
if proto == 'udp':
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.connect((dst, port))
else:
    s = socket.create_connection((dst, port), timeout=10)
s.settimeout(0.2)
got, peers, end = set(), set(), [None]
def reader():
    buf = b''
    while len(got) < count and (end[0] is None or time.time() < end[0]):
        try:
            d = s.recv(65536)
        except (socket.timeout, ConnectionRefusedError):
            continue
        if not d:
            break
        if proto == 'udp':
            lines = [d]
        else:
            buf += d
            *lines, buf = buf.split(b'\n')
        for l in lines:
            ip, p, seq = l.decode().split(' ', 2)
            peers.add('%s %s' % (ip, p))
            got.add(int(seq))
r = threading.Thread(target=reader)
r.start()
start = time.time()
for i in range(count):
    time.sleep(max(0, start + i * interval - time.time()))
    s.send(b'%d\n' % i if proto == 'tcp' else b'%d' % i)
end[0] = time.time() + 3
r.join()
print(json.dumps({'local': s.getsockname()[1], 'sent': count, 'received': len(got), 'peers': sorted(peers)}))
`;

interface StreamResult {
  local: number;
  sent: number;
  received: number;
  peers: string[];
}

async function stream(netns: string, proto: 'udp' | 'tcp', dst: string, count: number): Promise<StreamResult> {
  const r = await run(['python3', '-c', CLIENT, proto, dst, String(PORT), String(count), '0.01'], { netns, timeoutMs: 60_000 });
  return JSON.parse(r.stdout) as StreamResult;
}

async function floodPing(netns: string, dst: string, count: number): Promise<{ sent: number; received: number; output: string }> {
  const r = await run(['ping', '-n', '-q', '-i', '0.01', '-W', '1', '-c', String(count), dst], { netns, allowFail: true, timeoutMs: 60_000 });
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  if (!m) throw new Error(`ping gave no summary: ${r.stdout}${r.stderr}`);
  return { sent: Number(m[1]), received: Number(m[2]), output: r.stdout };
}

/** The tc filters on eth0 in one direction: [pref, handle, program id]. */
async function filters(netns: string, direction: 'ingress' | 'egress'): Promise<Array<[number, number, number]>> {
  const out = (await run(['tc', 'filter', 'show', 'dev', 'eth0', direction], { netns })).stdout;
  return [...out.matchAll(/pref (\d+) bpf chain \d+ handle (0x[0-9a-f]+) .* id (\d+)/g)].map((m) => [Number(m[1]), Number(m[2]), Number(m[3])]);
}

async function startServer(netns: string, address: string, dir: string): Promise<number> {
  const log = join(dir, `server-${netns}.log`);
  const child = await startPyServer(SERVER, [address, String(PORT)], netns, log);
  return child.pid!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('eBPF SNAT: takeover by a new instance without losing a packet', { ...NEEDS, timeout: 180_000 }, () => {
  let t: NatTopology;
  const dir = mkdtempSync(join(tmpdir(), 'tabby-nat-rst-'));
  const pids: number[] = [];
  const all: HostProgram[] = [];
  let current: { host: HostProgram; snat: BpfSnat };
  let firstSeed = 0;

  // What a restarted agent knows: the interface and the node address, nothing more.
  const target = () => ({ netns: t.nodeA.netns, ifname: 'eth0' });
  const start = async (opts: BpfSnatOptions = {}): Promise<{ host: HostProgram; snat: BpfSnat }> => {
    const host = new HostProgram(target());
    all.push(host);
    const snat = new BpfSnat(host, { nodeIP: t.nodeA.address, ...opts });
    await host.load([snat]);
    return { host, snat };
  };

  before(async () => {
    t = await buildNatTopology({ natWorkloads: 2, subnet: 3 });
    pids.push(await startServer(t.external.netns, t.external.address, dir));
    pids.push(await startServer(t.natWorkloads[1]!.netns, t.natWorkloads[1]!.address, dir));
    // The ToR's route: the external host reaches the natOutgoing pool through node A.
    await ip(['route', 'add', NAT_POOL, 'via', t.nodeA.address], t.external.netns);
    current = await start({ nodeIP6: t.nodeA.address6!, portRange: RANGE, timeouts: { udp: 30 } });
    current.snat.setPools(t.pools);
    await current.snat.apply();
    firstSeed = current.snat.hashSeed;
  });

  after(async () => {
    for (const h of all) await h.close().catch(() => undefined);
    for (const pid of pids) await stopPid(pid);
    if (t) await destroyNatTopology(t);
    rmSync(dir, { recursive: true, force: true });
  });

  test("one filter per hook at Tabby's priority and handle", async () => {
    for (const dir of ['ingress', 'egress'] as const) {
      const f = await filters(t.nodeA.netns, dir);
      assert.deepEqual(f, [[HOST_TC_PRIORITY, HOST_TC_HANDLE, current.host.attached[dir]!.progId]], dir);
    }
    assert.equal(current.snat.adopted, undefined, 'nothing to take over at first');
  });

  test('flows through SNAT and from outside lose nothing while new instances take over three times', async () => {
    const w0 = t.natWorkloads[0]!;
    const w1 = t.natWorkloads[1]!;
    const ext = t.external.address;
    const running = Promise.all([
      floodPing(w0.netns, ext, 500),
      stream(w0.netns, 'udp', ext, 500),
      stream(w0.netns, 'tcp', ext, 500),
      stream(t.external.netns, 'udp', w1.address, 500),
      // Only a SYN opens a flow from outside: without its PASS entry carried over, the
      // workload's answers would leave translated and the connection break.
      stream(t.external.netns, 'tcp', w1.address, 500),
    ]);
    await sleep(600);
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const next = await start();
      // The old agent's process would just exit; here it lets go of its handle.
      await current.host.release();
      current = next;
      ids.push(next.host.attached.egress!.progId);
      await sleep(800);
    }
    const [ping, udpOut, tcpOut, udpIn, tcpIn] = await running;
    assert.equal(ping.received, ping.sent, `ping lost ${ping.sent - ping.received} of ${ping.sent}:\n${ping.output}`);
    for (const [name, r] of [['UDP out', udpOut], ['TCP out', tcpOut], ['UDP in', udpIn], ['TCP in', tcpIn]] as const) {
      assert.equal(r.received, r.sent, `${name}: ${r.sent - r.received} of ${r.sent} lost`);
    }
    // One NAT port per flow, from the range only the first instance was given.
    for (const r of [udpOut, tcpOut]) {
      assert.equal(r.peers.length, 1, `one (address, port) seen by the server: ${r.peers.join(', ')}`);
      const [addr, port] = r.peers[0]!.split(' ');
      assert.equal(addr, t.nodeA.address);
      assert.ok(Number(port) >= RANGE.min && Number(port) <= RANGE.max, `NAT port ${port}`);
    }
    for (const r of [udpIn, tcpIn]) assert.deepEqual(r.peers, [`${ext} ${r.local}`], 'the flows from outside stay untranslated');

    assert.equal(new Set(ids).size, 3, 'each takeover attached a new program');
    for (const dir of ['ingress', 'egress'] as const) {
      assert.deepEqual(await filters(t.nodeA.netns, dir), [[HOST_TC_PRIORITY, HOST_TC_HANDLE, current.host.attached[dir]!.progId]], dir);
    }
    const a = current.snat.adopted;
    assert.ok(a && a.config && a.pools === 6 && a.ct >= 8, `taken over: ${JSON.stringify(a)}`);
    assert.equal(current.snat.hashSeed, firstSeed, 'the hash seed is kept');
    assert.deepEqual(current.snat.portRange, RANGE);

    // The successor's own conntrack has the flows, and its counters moved.
    const natPort = Number(udpOut.peers[0]!.split(' ')[1]);
    const ct = await current.snat.lookupFlow({ proto: 'udp', src: w0.address, sport: udpOut.local, dst: ext, dport: PORT });
    assert.deepEqual([ct.orig?.address, ct.orig?.port], [t.nodeA.address, natPort], 'the NAT port survived');
    assert.deepEqual([ct.reply?.address, ct.reply?.port], [w0.address, udpOut.local]);
    assert.ok(await current.snat.lookupInbound({ proto: 'udp', src: ext, sport: udpIn.local, dst: w1.address, dport: PORT }), 'PASS entry');
    const c = await current.snat.counters();
    assert.ok(c.snatUdp.packets > 0n && c.snatIcmp.packets > 0n && c.inboundPass.packets > 0n, JSON.stringify(c, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)));
    assert.equal(c.newFlow.packets, 0n, 'no flow needed a new NAT port');

    // Declared again as the agent would: nothing to change, config included.
    current.snat.setPools(t.pools);
    assert.equal((await current.snat.apply()).changes, 0);
  });

  test('until setPools(), apply() keeps the pools taken over', async () => {
    const next = await start();
    await current.host.release();
    current = next;
    assert.equal((await current.snat.apply()).changes, 0);
    const r = await stream(t.natWorkloads[0]!.netns, 'udp', t.external.address, 3);
    assert.equal(r.received, 3);
    assert.equal(r.peers[0]?.split(' ')[0], t.nodeA.address, 'still translated');
  });

  test('close() of a superseded instance leaves its successor; release() leaves programs working', async () => {
    const w = t.natWorkloads[0]!;
    const stale = await start();
    await current.host.release();
    const successor = await start();
    current = successor;
    await stale.host.close();
    assert.deepEqual((await filters(t.nodeA.netns, 'egress')).map((f) => f[2]), [successor.host.attached.egress!.progId], 'still the successor');
    assert.equal((await stream(w.netns, 'udp', t.external.address, 3)).received, 3);

    // Agent shutdown: handles go, programs and maps stay and keep translating.
    await successor.host.release();
    assert.equal(successor.host.loaded, false);
    const r = await stream(w.netns, 'udp', t.external.address, 3);
    assert.equal(r.received, 3);
    assert.equal(r.peers[0]?.split(' ')[0], t.nodeA.address);
    assert.equal((await BpfSnat.previous(target()))?.config?.nodeIP, t.nodeA.address);

    // Cleanup by someone who never attached it: the slot is emptied on both hooks.
    assert.equal(await HostProgram.detach(target()), 2);
    assert.deepEqual([await filters(t.nodeA.netns, 'ingress'), await filters(t.nodeA.netns, 'egress')], [[], []]);
    assert.equal(await BpfSnat.previous(target()), null);
    assert.equal(await HostProgram.detach(target()), 0, 'idempotent');
  });
});
