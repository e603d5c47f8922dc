// Issue 4's "done when", through the Dataplane facade with hand-written route intents
// (no BGP). Three hosts, each with a Calico-style workload:
//
//   w1   w2                    w3
//   h1 ─ h2 ── br1 ── r ── br2 ── h3        br1: 10.X.1.0/24, br2: 10.X.2.0/24
//
// h1 and h2 share a subnet, h3 is behind the router r. For eBPF IPIP, eBPF VXLAN,
// kernel VXLAN and no encapsulation (and CrossSubnet, and eBPF VXLAN beside kernel
// VXLAN) workloads ping each other, move data over TCP, and a capture on the wire shows
// the encapsulation. ECMP: a prefix behind h2 (plain) and h3 (IPIP) is one multipath
// route whose next hops are each encapsulated their own way. Restart adoption: a new
// Dataplane with the same desired set makes no netlink change. A 100k-route batch.
// Batches with routes the kernel refuses: netlink-route-apply.test.ts ("one bad route in
// the middle failing alone"); the reconciler's side: route-reconciler.test.ts.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import type { RouteIntent } from '../../src/calc/routes.js';
import { RTPROT_TABBY } from '../../src/dataplane/routes/route-protocol.js';
import { routeDump } from '../../src/native/routes.js';
import { Dataplane, DataplaneError, type DataplaneConfig, type DesiredDataplane } from '../../src/dataplane/dataplane.js';
import type { DataplaneMode } from '../../src/dataplane/dataplane-plan.js';
import { vtepMac } from '../../src/dataplane/encap/vtep-mac.js';
import { addWorkload, createNetns, deleteNetns, type LabHost } from '../../src/lab/topology.js';
import { capture, run, tcpTransfer, type CapturedPacket } from './encap-topology.js';
import { TestNetns, waitFor } from './netlink-netns.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ root: true, tools: ['ip', 'ping', 'iptables', 'sysctl', 'tcpdump', 'tshark'] });

type Wire = 'none' | 'ipip' | 'vxlan';

interface Host {
  i: number;
  name: string;
  ns: string;
  nodeIP: string;
  block: string;
  tunnelIP: string;
  mac: string;
  wl: string;
  workloadIP: string;
}

interface Topo {
  x: number;
  y: number;
  wire: string;
  router: string;
  hosts: Host[];
  /** The anycast prefix h2 and h3 both hold (ECMP). */
  anycast: string;
  anycastIP: string;
}

const ip = (...args: string[]) => run('ip', ...args);
const sysctl = (ns: string, ...kv: string[]) => run('ip', 'netns', 'exec', ns, 'sysctl', '-qw', ...kv);

async function buildTopo(): Promise<Topo> {
  const tag = randomBytes(3).toString('hex');
  const x = randomInt(1, 250);
  const y = randomInt(1, 200);
  const p = `tbt-dp-${tag}`;
  const t: Topo = {
    x, y, wire: `${p}-wire`, router: `${p}-r`, anycast: `10.${y}.100.0/24`, anycastIP: `10.${y}.100.1`,
    hosts: [1, 2, 3].map((i) => ({
      i, name: `node${i}-${tag}`, ns: `${p}-h${i}`, nodeIP: i === 3 ? `10.${x}.2.13` : `10.${x}.1.1${i}`,
      // h3's VTEP MAC is not the one derived from its name: its eBPF program is reloaded
      // (taken over) when set() says so.
      block: `10.${y}.${i}.0/26`, tunnelIP: `10.${y}.${i}.1`, mac: i === 3 ? '66:00:00:00:00:03' : vtepMac(`node${i}-${tag}`),
      wl: `${p}-w${i}`, workloadIP: `10.${y}.${i}.2`,
    })),
  };
  try {
    await createNetns(t.wire);
    for (const br of ['br1', 'br2']) {
      ip('-n', t.wire, 'link', 'add', br, 'type', 'bridge');
      ip('-n', t.wire, 'link', 'set', br, 'up');
    }
    const plug = (ns: string, dev: string, br: string, cidr: string) => {
      const port = `p${randomBytes(4).toString('hex')}`;
      ip('-n', t.wire, 'link', 'add', port, 'type', 'veth', 'peer', 'name', dev, 'netns', ns);
      ip('-n', t.wire, 'link', 'set', port, 'master', br, 'up');
      ip('-n', ns, 'addr', 'add', cidr, 'dev', dev);
      ip('-n', ns, 'link', 'set', dev, 'up');
    };
    await createNetns(t.router);
    plug(t.router, 'eth0', 'br1', `10.${x}.1.1/24`);
    plug(t.router, 'eth1', 'br2', `10.${x}.2.1/24`);
    sysctl(t.router, 'net.ipv4.ip_forward=1');
    for (const h of t.hosts) {
      await createNetns(h.ns);
      plug(h.ns, 'eth0', h.i === 3 ? 'br2' : 'br1', `${h.nodeIP}/24`);
      // A default route also makes proxy ARP answer the workloads' 169.254.1.1.
      ip('-n', h.ns, 'route', 'add', 'default', 'via', h.i === 3 ? `10.${x}.2.1` : `10.${x}.1.1`);
      // Strict reverse-path filtering: decapsulated packets must pass it too.
      sysctl(h.ns, 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=1', 'net.ipv4.conf.default.rp_filter=1',
        'net.ipv4.fib_multipath_hash_policy=1');
      const lab: LabHost = { name: h.name, netns: h.ns, cidr: `${h.nodeIP}/24`, address: h.nodeIP, ifname: 'eth0' };
      await addWorkload(lab, h.wl, h.workloadIP);
    }
    for (const h of t.hosts.slice(1)) ip('-n', h.ns, 'addr', 'add', `${t.anycastIP}/32`, 'dev', 'lo');
    return t;
  } catch (err) {
    await destroyTopo(t);
    throw err;
  }
}

async function destroyTopo(t: Topo): Promise<void> {
  for (const ns of [...t.hosts.flatMap((h) => [h.wl, h.ns]), t.router, t.wire]) await deleteNetns(ns);
}

/** What host `self` is asked to program when traffic to host j travels as wire(self, j). */
function desiredFor(t: Topo, self: Host, wire: (a: Host, b: Host) => Wire, extra: RouteIntent[] = []): DesiredDataplane {
  const routes: RouteIntent[] = [{ kind: 'blackhole', dst: self.block }];
  let vxlan = false;
  for (const h of t.hosts) {
    if (h === self) continue;
    const w = wire(self, h);
    if (w === 'vxlan') {
      vxlan = true;
      routes.push({ kind: 'vxlan', dst: h.block, vtep: { node: h.name, nodeIP: h.nodeIP, tunnelIP: h.tunnelIP, mac: h.mac, blocks: [h.block] } });
    } else {
      routes.push({ kind: 'learned', dst: h.block, nexthops: [{ address: h.nodeIP, encap: w }] });
    }
  }
  return { routes: [...routes, ...extra], ...(vxlan ? { localVtep: { tunnelIP: self.tunnelIP, mac: self.mac } } : {}) };
}

function config(h: Host, mode: DataplaneMode, extra: Partial<DataplaneConfig> = {}): DataplaneConfig {
  return { mode, netns: h.ns, nodeName: h.name, hostIfname: 'eth0', nodeIP: h.nodeIP, resyncIntervalMs: 60_000, ...extra };
}

function pingAsync(ns: string, addr: string, count = 2): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    const p = spawn('ip', ['netns', 'exec', ns, 'ping', '-n', '-c', String(count), '-i', '0.1', '-W', '1', addr], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const timer = setTimeout(() => p.kill('SIGKILL'), 15_000);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, output: out });
    });
  });
}

/** Every packet between two workloads looks as `wire` says: tunnelled between the node addresses, or plain. */
function assertWire(pkts: CapturedPacket[], wire: Wire, a: Host, b: Host): void {
  const between = (p: CapturedPacket, i: number) =>
    (p.ipSrc[i] === a.workloadIP && p.ipDst[i] === b.workloadIP) || (p.ipSrc[i] === b.workloadIP && p.ipDst[i] === a.workloadIP);
  assert.ok(pkts.length >= 4, `captured ${pkts.length}: ${JSON.stringify(pkts)}`);
  for (const p of pkts) {
    const why = JSON.stringify(p);
    if (wire === 'none') {
      assert.deepStrictEqual(p.ipProto, ['1'], why);
      assert.ok(between(p, 0), why);
      continue;
    }
    assert.deepStrictEqual([p.ipSrc[0], p.ipDst[0]].sort(), [a.nodeIP, b.nodeIP].sort(), `outer addresses: ${why}`);
    assert.ok(between(p, 1), `inner addresses: ${why}`);
    if (wire === 'ipip') {
      assert.deepStrictEqual(p.ipProto, ['4', '1'], why);
    } else {
      assert.deepStrictEqual(p.ipProto, ['17', '1'], why);
      assert.deepStrictEqual(p.udpDstPort, ['4789'], why);
      assert.deepStrictEqual(p.vni, ['4096'], why);
    }
  }
}

interface Scenario {
  name: string;
  modes: [DataplaneMode, DataplaneMode, DataplaneMode];
  wire: (a: Host, b: Host) => Wire;
  /** The router knows the blocks (a ToR that learned them): needed without encapsulation. */
  routerRoutes?: boolean;
}

const sameSubnet = (a: Host, b: Host) => (a.i === 3) === (b.i === 3);

const SCENARIOS: Scenario[] = [
  { name: 'eBPF IPIP', modes: ['bpf', 'bpf', 'bpf'], wire: () => 'ipip' },
  { name: 'eBPF VXLAN', modes: ['bpf', 'bpf', 'bpf'], wire: () => 'vxlan' },
  { name: 'kernel VXLAN', modes: ['iptables', 'iptables', 'iptables'], wire: () => 'vxlan' },
  { name: 'no encapsulation', modes: ['none', 'none', 'none'], wire: () => 'none', routerRoutes: true },
  { name: 'CrossSubnet eBPF IPIP', modes: ['bpf', 'bpf', 'bpf'], wire: (a, b) => (sameSubnet(a, b) ? 'none' : 'ipip') },
  { name: 'eBPF VXLAN (h1, h3) beside kernel VXLAN (h2)', modes: ['bpf', 'iptables', 'bpf'], wire: () => 'vxlan' },
];

describe('Dataplane on three hosts', NEEDS, () => {
  let t: Topo;
  let planes: Dataplane[] = [];

  before(async () => {
    t = await buildTopo();
  });

  after(async () => {
    for (const dp of planes) await dp.cleanup().catch(() => undefined);
    if (t) await destroyTopo(t);
  });

  async function up(s: Scenario, extra: (h: Host) => RouteIntent[] = () => []): Promise<void> {
    planes = [];
    for (const h of t.hosts) {
      const dp = new Dataplane(config(h, s.modes[h.i - 1]!));
      planes.push(dp);
      await dp.start();
      const r = await dp.set(desiredFor(t, h, s.wire, extra(h)));
      assert.deepStrictEqual(r.errors, [], `${s.name} on ${h.name}`);
      assert.ok(r.ok);
      if (s.modes[h.i - 1] === 'bpf') {
        const f = run('tc', '-n', h.ns, 'filter', 'show', 'dev', 'eth0', 'egress');
        assert.equal(f.match(/handle 0x7ab/g)?.length, 1, `${h.name}: one egress filter\n${f}`);
      }
    }
  }

  async function down(): Promise<void> {
    for (const dp of planes) await dp.cleanup();
    planes = [];
    for (const h of t.hosts) {
      assert.equal(ip('-n', h.ns, 'route', 'show', 'proto', String(RTPROT_TABBY)), '', `${h.name}: routes left`);
      assert.doesNotMatch(ip('-n', h.ns, 'link', 'show'), /vxlan\.tabby/, `${h.name}: device left`);
      assert.equal(run('tc', '-n', h.ns, 'filter', 'show', 'dev', 'eth0', 'egress'), '', `${h.name}: filters left`);
    }
  }

  for (const s of SCENARIOS) {
    test(`${s.name}: workloads ping and talk TCP; the wire from w1 to w2 and w3 shows the encapsulation`, async (ctx) => {
      const started = performance.now();
      const [h1, h2, h3] = t.hosts as [Host, Host, Host];
      if (s.routerRoutes) for (const h of t.hosts) ip('-n', t.router, 'route', 'add', h.block, 'via', h.nodeIP);
      try {
        await up(s);
        const pings = await Promise.all(t.hosts.flatMap((a) => t.hosts.filter((b) => b !== a).map(async (b) => ({
          a, b, r: await pingAsync(a.wl, b.workloadIP),
        }))));
        for (const { a, b, r } of pings) assert.ok(r.ok, `${s.name}: w${a.i} -> w${b.i}: ${r.output}`);
        for (const b of [h2, h3]) {
          const pkts = await capture(b.ns, 'eth0', 'ip proto 4 or udp port 4789 or icmp', 4, async () => {
            const r = await pingAsync(h1.wl, b.workloadIP);
            assert.ok(r.ok, r.output);
          });
          assertWire(pkts, s.wire(h1, b), h1, b);
        }
        const tcp = await tcpTransfer(h1.wl, h3.wl, h3.workloadIP, 512 * 1024);
        assert.equal(tcp.receivedSha256, tcp.sentSha256);
        ctx.diagnostic(`${s.name}: ${(performance.now() - started).toFixed(0)} ms`);
        if (s.modes[0] === 'iptables') await restartAdoption(ctx, s);
      } finally {
        if (s.routerRoutes) for (const h of t.hosts) ip('-n', t.router, 'route', 'del', h.block);
        await down();
      }
    });
  }

  test('ECMP: one multipath route, the plain next hop plain and the IPIP one tunnelled, per flow', async (ctx) => {
    const [h1, h2, h3] = t.hosts as [Host, Host, Host];
    const s = SCENARIOS.find((x) => x.name.startsWith('CrossSubnet'))!;
    const anycast: RouteIntent = {
      kind: 'learned', dst: t.anycast, nexthops: [{ address: h2.nodeIP, encap: 'none' }, { address: h3.nodeIP, encap: 'ipip' }],
    };
    try {
      await up(s, (h) => (h === h1 ? [anycast] : []));
      const route = (await routeDump({ netns: h1.ns, protocol: RTPROT_TABBY })).find((r) => r.dst === t.anycast);
      assert.ok(route?.nexthops, JSON.stringify(route));
      assert.deepStrictEqual(route.nexthops.map((n) => n.gateway).sort(), [h2.nodeIP, `10.${t.x}.1.1`].sort());
      assert.ok(route.nexthops.every((n) => n.realm && n.onlink && n.dev === 'eth0'), JSON.stringify(route));
      assert.equal(route.mtu, 1480);
      ctx.diagnostic(ip('-n', h1.ns, 'route', 'show', t.anycast).trim().replace(/\s+/g, ' '));

      const FLOWS = 64;
      const send = `const d=require('dgram');let n=0;for(let i=0;i<${FLOWS};i++){const s=d.createSocket('udp4');` +
        `s.bind(41000+i,()=>{let k=0;const f=()=>{s.send('x',9,'${t.anycastIP}',()=>{if(++k<3)setTimeout(f,5);else{s.close();if(++n===${FLOWS})process.exit(0)}})};f()})}` +
        'setTimeout(()=>process.exit(2),10000)';
      let atH3: CapturedPacket[] = [];
      const atH2 = await capture(h2.ns, 'eth0', `udp and dst host ${t.anycastIP}`, 10_000, async () => {
        atH3 = await capture(h3.ns, 'eth0', `ip proto 4 and src host ${h1.nodeIP}`, 10_000, () => {
          run('ip', 'netns', 'exec', h1.wl, process.execPath, '-e', send);
        });
      });
      const ports = (pkts: CapturedPacket[]) => new Set(pkts.map((p) => p.udpSrcPort.at(-1)));
      for (const p of atH2) assert.deepStrictEqual([p.ipProto, p.ipDst], [['17'], [t.anycastIP]], `plain at h2: ${JSON.stringify(p)}`);
      for (const p of atH3) {
        assert.deepStrictEqual([p.ipProto, p.ipSrc[0], p.ipDst], [['4', '17'], h1.nodeIP, [h3.nodeIP, t.anycastIP]], `IPIP at h3: ${JSON.stringify(p)}`);
      }
      const plain = ports(atH2);
      const tunnelled = ports(atH3);
      ctx.diagnostic(`${FLOWS} flows: ${plain.size} via h2 plain (${atH2.length} packets), ${tunnelled.size} via h3 IPIP (${atH3.length} packets)`);
      assert.ok(plain.size > 0 && tunnelled.size > 0, 'both next hops used');
      assert.deepStrictEqual([...plain].filter((p) => tunnelled.has(p)), [], 'each flow stays on one next hop');
      assert.equal(plain.size + tunnelled.size, FLOWS);
      assert.equal(atH2.length + atH3.length, 3 * FLOWS);
      await restartAdoption(ctx, s, (h) => (h === h1 ? [anycast] : []));
    } finally {
      await down();
    }
  });

  // A new Dataplane on h1 with the same desired set changes nothing in the kernel; a
  // route deleted by hand comes back on resync; another protocol's route stays.
  async function restartAdoption(ctx: { diagnostic(m: string): void }, s: Scenario, extra: (h: Host) => RouteIntent[] = () => []): Promise<void> {
    const h1 = t.hosts[0]!;
    const desired = desiredFor(t, h1, s.wire, extra(h1));
    const foreign = `10.${t.y}.200.0/24`;
    ip('-n', h1.ns, 'route', 'add', foreign, 'via', t.hosts[1]!.nodeIP, 'proto', 'static');
    const before = ip('-n', h1.ns, 'route', 'show', 'table', 'all');
    const monitor: ChildProcess = spawn('ip', ['-n', h1.ns, 'monitor', 'route', 'link', 'address', 'neigh'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let events = '';
    monitor.stdout!.on('data', (d: Buffer) => { events += d.toString(); });
    try {
      await new Promise((r) => setTimeout(r, 300));
      await planes[0]!.stop();
      const restarted = new Dataplane(config(h1, s.modes[0], { resyncIntervalMs: 300 }));
      planes[0] = restarted;
      await restarted.start();
      const r = await restarted.set(desired);
      assert.deepStrictEqual(r.errors, []);
      assert.equal(r.changes, 0, 'a restart with the same desired set changes nothing');
      await new Promise((res) => setTimeout(res, 300));
      // Neighbour entries of the underlay age on their own; ours are on vxlan.tabby.
      const ours = events.split('\n').filter((l) => l.trim() !== '' && (!/lladdr|FAILED|INCOMPLETE|PROBE|STALE|REACHABLE|DELAY/.test(l) || /vxlan\.tabby/.test(l)));
      assert.deepStrictEqual(ours, [], 'no route, link, address or vxlan.tabby neighbour event');
      assert.equal(ip('-n', h1.ns, 'route', 'show', 'table', 'all'), before);
      ctx.diagnostic(`restart on h1: ${r.durationMs.toFixed(1)} ms, ${r.changes} changes`);

      const victim = t.hosts[2]!.block;
      ip('-n', h1.ns, 'route', 'del', victim);
      const back = await waitFor(async () => (await routeDump({ netns: h1.ns, protocol: RTPROT_TABBY })).some((x) => x.dst === victim), 5000, 50);
      assert.ok(back, 'the hand-deleted route came back on resync');
      assert.match(ip('-n', h1.ns, 'route', 'show', foreign), /proto static/);
      const r2 = await pingAsync(h1.wl, t.hosts[2]!.workloadIP);
      assert.ok(r2.ok, r2.output);
    } finally {
      monitor.kill();
      ip('-n', h1.ns, 'route', 'del', foreign);
    }
  }

  test('iptables mode refuses IPIP at start: this kernel has no tunl0', async () => {
    const dp = new Dataplane(config(t.hosts[0]!, 'iptables', { ipip: true }));
    await assert.rejects(dp.start(), (err: unknown) => err instanceof DataplaneError && /tunl0.*--dataplane bpf/.test(err.message));
    // Without the hint, the same refusal arrives per route from set().
    const later = new Dataplane(config(t.hosts[0]!, 'iptables'));
    await later.start();
    try {
      const r = await later.set(desiredFor(t, t.hosts[0]!, () => 'ipip'));
      assert.equal(r.ok, false);
      assert.deepStrictEqual(r.errors.map((e) => e.split(':')[0]), [t.hosts[1]!.block, t.hosts[2]!.block]);
      assert.ok(r.errors.every((e) => /--dataplane bpf/.test(e)));
    } finally {
      await later.cleanup();
    }
  });
});

describe('Dataplane: a 100k-route batch', NEEDS, () => {
  let ns: TestNetns;
  before(() => {
    ns = new TestNetns('tbt-dp100k');
    try {
      ns.ip('link', 'set', 'lo', 'up');
      ns.veth('eth0', 'eth0p', '10.0.0.1/24');
    } catch (err) {
      ns.destroy();
      throw err;
    }
  });
  after(() => ns?.destroy());

  test('installs 100,000 routes, reports exactly the invalid intents, and cleans up', async (ctx) => {
    const dp = new Dataplane({ mode: 'none', netns: ns.name, nodeName: 'n', hostIfname: 'eth0', nodeIP: '10.0.0.1', hostMtu: 1500 });
    await dp.start();
    const routes: RouteIntent[] = [];
    for (let i = 0; i < 100_000; i++) {
      const dst = `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`;
      routes.push(i % 2 ? { kind: 'blackhole', dst } : { kind: 'learned', dst, nexthops: [{ address: '10.0.0.2', encap: 'none' }] });
    }
    const bad: RouteIntent[] = [
      { kind: 'blackhole', dst: '10.99.0.1/24' },
      { kind: 'blackhole', dst: 'not-a-cidr' },
      { kind: 'learned', dst: '10.99.1.0/24', nexthops: [{ address: '192.0.2.1', encap: 'none' }] },
    ];
    try {
      const r = await dp.set({ routes: [...routes.slice(0, 50_000), ...bad, ...routes.slice(50_000)] });
      ctx.diagnostic(`100k routes in ${r.durationMs.toFixed(0)} ms`);
      assert.equal(r.ok, false);
      assert.deepStrictEqual(r.errors.map((e) => e.split(': ')[0]).sort(), ['10.99.0.1/24', '10.99.1.0/24', 'not-a-cidr']);
      assert.equal(dp.stats().routesProgrammed, 100_000);
      assert.equal((await routeDump({ netns: ns.name, protocol: RTPROT_TABBY })).length, 100_000);
      const again = await dp.set({ routes });
      assert.equal(again.changes, 0);
      ctx.diagnostic(`converged re-apply of 100k in ${again.durationMs.toFixed(0)} ms`);
      // Calls made during a run share the next one, which applies the latest declaration.
      const a = dp.set({ routes: routes.slice(0, 10) });
      const b = dp.set({ routes: routes.slice(0, 20) });
      const c = dp.set({ routes: routes.slice(0, 30) });
      assert.equal(b, c);
      await Promise.all([a, b, c]);
      assert.equal((await routeDump({ netns: ns.name, protocol: RTPROT_TABBY })).length, 30);
    } finally {
      const c0 = performance.now();
      await dp.cleanup();
      ctx.diagnostic(`cleanup in ${(performance.now() - c0).toFixed(0)} ms`);
    }
    assert.equal((await routeDump({ netns: ns.name, protocol: RTPROT_TABBY })).length, 0);
  });
});
