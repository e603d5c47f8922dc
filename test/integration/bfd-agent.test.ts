// BFD end to end: the real agent (`tabby node run`) in one namespace, a router in
// another — BIRD 2 with `protocol bfd` and `bfd on`, or FRR's bgpd with bfdd — joined by
// a veth pair. The BGPPeer asks for failureDetectionMode BFDIfDirectlyConnected with
// 100 ms × 3 timers. Cutting the link (every packet dropped both ways by tc, the carrier
// stays up, so only BFD can tell) must take the BGP session down and the router's routes
// out of the kernel in under a second (RFC 5880 §6.8.4: Detection Time 3 × 100 ms);
// mending it must bring BFD and BGP back.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { askAgent } from '../../src/agent/status-server.js';
import type { NodeStatusJson, PeerStatusJson } from '../../src/agent/status.js';
import { RTPROT_TABBY } from '../../src/dataplane/routes/route-protocol.js';
import { routeDump } from '../../src/native/routes.js';
import { ip, run, startDaemon, stopPid, waitFor } from '../../src/util/exec.js';
import { Bird, birdBase, birdBgp } from '../helpers/bird.js';
import { TABBY, tabby } from '../helpers/cli.js';
import { FRR_TOOLS, Frr } from '../helpers/frr.js';
import { needs } from '../helpers/require.js';

// tc cuts the link, curl and promtool read /metrics.
const { skip } = needs({ root: true, tools: ['ip', 'tc', 'curl', 'promtool', 'bird', 'birdc', ...FRR_TOOLS] });

const TABBY_AS = 64512;
const ROUTER_AS = 65001;
const V4_ROUTE = '198.51.100.0/24';
const V6_ROUTE = '2001:db8:100::/48'; // learned over the IPv6 session
const LIMIT_MS = 1000;
/** Inside the agent's own namespace. */
const METRICS_PORT = 9091;

interface Lab {
  node: string;
  router: string;
  dir: string;
  stateDir: string;
  node4: string;
  router4: string;
  node6: string;
  router6: string;
  agent?: ChildProcess;
}

async function makeLab(prefix: string): Promise<Lab> {
  const tag = randomBytes(3).toString('hex');
  const net = `10.${randomInt(16, 250)}.${randomInt(0, 255)}`;
  // Written as the kernel and BIRD print it (no leading zeros), so it compares as text.
  const net6 = `fd${tag.slice(0, 2)}:${parseInt(tag.slice(2), 16).toString(16)}`;
  const dir = mkdtempSync(join(tmpdir(), `tabby-${prefix}-`));
  chmodSync(dir, 0o755);
  const lab: Lab = {
    node: `${prefix}-${tag}-n`,
    router: `${prefix}-${tag}-r`,
    dir,
    stateDir: join(dir, 'state'),
    node4: `${net}.1`,
    router4: `${net}.2`,
    node6: `${net6}::1`,
    router6: `${net6}::2`,
  };
  await ip(['netns', 'add', lab.node]);
  await ip(['netns', 'add', lab.router]);
  for (const ns of [lab.node, lab.router]) await ip(['link', 'set', 'lo', 'up'], ns);
  await ip(['link', 'add', 'n0', 'type', 'veth', 'peer', 'name', 'r0', 'netns', lab.router], lab.node);
  for (const [ns, dev, a4, a6] of [[lab.node, 'n0', lab.node4, lab.node6], [lab.router, 'r0', lab.router4, lab.router6]] as const) {
    await ip(['addr', 'add', `${a4}/24`, 'dev', dev], ns);
    await ip(['addr', 'add', `${a6}/64`, 'dev', dev, 'nodad'], ns);
    await ip(['link', 'set', dev, 'up'], ns);
    await run(['tc', '-n', ns, 'qdisc', 'add', 'dev', dev, 'clsact']);
  }
  return lab;
}

async function destroyLab(lab: Lab): Promise<void> {
  if (lab.agent?.pid) await stopPid(lab.agent.pid, 5000);
  for (const ns of [lab.node, lab.router]) await ip(['netns', 'del', ns], undefined, { allowFail: true });
  rmSync(lab.dir, { recursive: true, force: true });
}

/** The datastore and the agent: mesh off, one BGPPeer per router address, BFD 100 ms × 3. */
async function startAgent(lab: Lab, peers: string[]): Promise<void> {
  const docs = [
    `apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: ${TABBY_AS}, nodeToNodeMeshEnabled: false}`,
    ...peers.map(
      (address, i) => `apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: router-${i}
  annotations:
    tabby.io/bfd-minimum-recv-interval: 100ms
    tabby.io/bfd-minimum-send-interval: 100ms
    tabby.io/bfd-multiplier: "3"
spec: {peerIP: "${address}", asNumber: ${ROUTER_AS}, failureDetectionMode: BFDIfDirectlyConnected}`,
    ),
  ];
  const applied = tabby(join(lab.dir, 'store'), ['apply', '-f', '-'], docs.join('\n---\n'));
  assert.equal(applied.code, 0, applied.stderr);
  const argv = [
    process.execPath, TABBY, 'node', 'run', '--name', 'n1', '--datastore', `file:${join(lab.dir, 'store')}`, '--state-dir', lab.stateDir,
    '--dataplane', 'none', '--ip-autodetection-method', 'interface=n0', '--ip6', 'autodetect', '--ip6-autodetection-method', 'interface=n0',
    '--no-default-pools', '--health-port', '-1', '--metrics-address', '127.0.0.1', '--metrics-port', String(METRICS_PORT), '--secrets-dir', join(lab.dir, 'secrets'),
  ];
  // Only what the agent needs from the environment: calico-node's variables (IP, NODENAME, …) stay out.
  lab.agent = startDaemon(argv, { netns: lab.node, logFile: join(lab.dir, 'agent.log'), env: { PATH: process.env.PATH, TABBY_LOG_LEVEL: 'info' } });
}

/** The agent's /metrics, fetched inside its namespace. */
async function metrics(lab: Lab): Promise<string> {
  return (await run(['curl', '-sf', `http://127.0.0.1:${METRICS_PORT}/metrics`], { netns: lab.node, timeoutMs: 10_000 })).stdout;
}

/** The value of one series, by its exact label text. */
function series(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

async function status(lab: Lab): Promise<PeerStatusJson[]> {
  return ((await askAgent(lab.stateDir, 'status', 2000)) as NodeStatusJson).peers;
}

async function kernelHas(lab: Lab, prefix: string): Promise<boolean> {
  const family = prefix.includes(':') ? 6 : 4;
  const routes = await routeDump({ family, protocol: RTPROT_TABBY, netns: lab.node });
  return routes.some((r) => r.dst === prefix);
}

/** Every router peer Established with BFD Up and a route accepted, and `prefixes` in the kernel. */
async function converged(lab: Lab, prefixes: string[], timeoutMs = 60_000): Promise<PeerStatusJson[]> {
  return waitFor(
    'BGP Established, BFD Up, routes in the kernel',
    async () => {
      const peers = await status(lab);
      if (peers.length === 0 || !peers.every((p) => p.info === 'Established' && p.bfd?.state === 'Up' && p.prefixes.accepted > 0)) return false;
      for (const p of prefixes) if (!(await kernelHas(lab, p))) return false;
      return peers;
    },
    timeoutMs,
    100,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\nagent log:\n${agentLog(lab).slice(-4000)}`);
  });
}

/**
 * Drop everything a device sends: a one-instruction classic BPF program returning
 * TC_ACT_SHOT in direct-action mode on the clsact egress hook (this kernel has neither
 * netem nor the gact action). The clsact qdisc is there from the start, so a cut or a
 * mend is one `tc filter` call per side.
 */
const tcFilter = (ns: string, dev: string, op: 'add' | 'del') =>
  run(['tc', '-n', ns, 'filter', op, 'dev', dev, 'egress', ...(op === 'add' ? ['bpf', 'da', 'bytecode', '1,6 0 0 2,'] : [])]);

interface CutResult {
  /** From issuing the cut (the tc processes included) to every session out of Established. */
  bgpDownMs: number;
  /** From issuing the cut to the prefixes gone from the kernel. */
  routesGoneMs: number;
  /** How long the two tc calls took: the cut was complete only then. */
  cutMs: number;
  peers: PeerStatusJson[];
}

/**
 * Cuts the link both ways and measures, from just before the cut, when every session
 * has left Established and when the prefixes have left the kernel (polled every 5 ms).
 */
async function cut(lab: Lab, prefixes: string[]): Promise<CutResult> {
  const t0 = performance.now();
  await Promise.all([tcFilter(lab.router, 'r0', 'add'), tcFilter(lab.node, 'n0', 'add')]);
  const cutMs = performance.now() - t0;
  let bgpDownMs = 0;
  let routesGoneMs = 0;
  let peers: PeerStatusJson[] = [];
  while (performance.now() - t0 < 10_000 && (bgpDownMs === 0 || routesGoneMs === 0)) {
    const now = performance.now() - t0;
    if (routesGoneMs === 0) {
      const left = await Promise.all(prefixes.map((p) => kernelHas(lab, p)));
      if (!left.some(Boolean)) routesGoneMs = now;
    }
    if (bgpDownMs === 0) {
      peers = await status(lab);
      if (peers.every((p) => !p.info.startsWith('Established'))) bgpDownMs = performance.now() - t0;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return { bgpDownMs, routesGoneMs, cutMs, peers };
}

async function mend(lab: Lab): Promise<void> {
  await Promise.all([tcFilter(lab.router, 'r0', 'del'), tcFilter(lab.node, 'n0', 'del')]);
}

const agentLog = (lab: Lab): string => {
  try {
    return readFileSync(join(lab.dir, 'agent.log'), 'utf8');
  } catch {
    return '';
  }
};

function report(what: string, r: CutResult, backMs: number): void {
  const f = (ms: number) => ms.toFixed(0);
  console.log(`# ${what}: BGP down ${f(r.bgpDownMs)} ms, routes out of the kernel ${f(r.routesGoneMs)} ms after issuing the cut (the tc calls took ${f(r.cutMs)} ms); back in ${(backMs / 1000).toFixed(1)} s`);
}

function checkCut(r: CutResult, agentLog: () => string): void {
  assert.ok(r.bgpDownMs > 0 && r.bgpDownMs < LIMIT_MS, `BGP down after ${r.bgpDownMs.toFixed(0)} ms\n${agentLog().slice(-3000)}`);
  assert.ok(r.routesGoneMs > 0 && r.routesGoneMs < LIMIT_MS, `routes gone after ${r.routesGoneMs.toFixed(0)} ms\n${agentLog().slice(-3000)}`);
  for (const p of r.peers) {
    // The session went down because of BFD (RFC 5880 §6.8.4 diag 1), and says so.
    assert.match(p.info, /BFD session down/, JSON.stringify(p));
    assert.equal(p.bfd?.state, 'Down', JSON.stringify(p));
    assert.equal(p.bfd?.diag, 'Control Detection Time Expired');
  }
}

describe('BFD: tabby node run against BIRD and FRR', { skip }, () => {
  let labs: Lab[] = [];
  after(async () => {
    for (const lab of labs) await destroyLab(lab);
    labs = [];
  });

  test('BIRD protocol bfd, IPv4 and IPv6 sessions: a cut link takes BGP and the routes down in under 1 s; mended, both come back', async () => {
    const lab = await makeLab('tbfdb');
    labs.push(lab);
    const bird = new Bird(lab.router, lab.dir, 'bird');
    try {
      await bird.start(
        birdBase(lab.router4, { v4: [V4_ROUTE], v6: [V6_ROUTE] }) +
          `protocol bfd { interface "r0" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }\n` +
          birdBgp({ name: 'tabby4', local: lab.router4, localAs: ROUTER_AS, neighbor: lab.node4, neighborAs: TABBY_AS, ipv6: false, extra: ['bfd on;'] }) +
          birdBgp({ name: 'tabby6', local: lab.router6, localAs: ROUTER_AS, neighbor: lab.node6, neighborAs: TABBY_AS, ipv4: false, extra: ['bfd on;'] }),
      );
      await startAgent(lab, [lab.router4, lab.router6]);
      // The dataplane programs IPv4 routes only (its underlay resolver is IPv4): the IPv6
      // session's route is checked in the RIB (accepted prefixes), not in the kernel.
      const up = await converged(lab, [V4_ROUTE]);
      for (const p of up) {
        assert.equal(p.bfd?.detectionTimeMs, 300, 'BIRD multiplier 3 × max(our 100 ms, its 100 ms)');
        assert.equal(p.bfd?.localAddress, p.family === 'ipv4' ? lab.node4 : lab.node6);
      }
      const bfdShown = await bird.birdc('show', 'bfd', 'sessions');
      assert.match(bfdShown, new RegExp(`${lab.node4.replace(/\./g, '\\.')}\\s+r0\\s+Up`), bfdShown);
      assert.match(bfdShown, new RegExp(`${lab.node6}\\s+r0\\s+Up`), bfdShown);

      const r = await cut(lab, [V4_ROUTE, V6_ROUTE]);
      checkCut(r, () => agentLog(lab));
      // BIRD, for its part, dropped the BGP session on its own BFD going down.
      await waitFor('BIRD to see BFD down', async () => /BFD session down/.test((await bird.protocol('tabby4')).lastError ?? ''), 5000);

      const t1 = performance.now();
      await mend(lab);
      await converged(lab, [V4_ROUTE]);
      report('BIRD', r, performance.now() - t1);
    } finally {
      await bird.stop();
    }
  });

  test('FRR bgpd with bfdd: a cut link takes BGP and the routes down in under 1 s; mended, both come back', async () => {
    const lab = await makeLab('tbfdf');
    labs.push(lab);
    const frr = new Frr(lab.router, lab.dir);
    try {
      await frr.start({
        bfdd: 'bfd\n profile fast\n  receive-interval 100\n  transmit-interval 100\n  detect-multiplier 3\n !\n!\n',
        bgpd: `router bgp ${ROUTER_AS}
 bgp router-id ${lab.router4}
 no bgp ebgp-requires-policy
 no bgp network import-check
 timers bgp 10 30
 neighbor ${lab.node4} remote-as ${TABBY_AS}
 neighbor ${lab.node4} timers connect 2
 neighbor ${lab.node4} bfd profile fast
 address-family ipv4 unicast
  network ${V4_ROUTE}
 exit-address-family
!
`,
      });
      await startAgent(lab, [lab.router4]);
      const [p] = await converged(lab, [V4_ROUTE]);
      assert.equal(p!.bfd?.detectionTimeMs, 300);
      // The CLI's JSON: the contract's fields as before, BFD beside them.
      const cli = tabby(join(lab.dir, 'store'), ['node', 'status', '--state-dir', lab.stateDir, '-o', 'json']);
      assert.equal(cli.code, 0, cli.stderr);
      const shown = (JSON.parse(cli.stdout) as NodeStatusJson).peers[0]!;
      assert.deepEqual(
        [shown.address, shown.family, shown.type, shown.asn, shown.state, shown.info, shown.bfd?.state, shown.bfd?.remoteState, shown.bfd?.localAddress],
        [lab.router4, 'ipv4', 'global', ROUTER_AS, 'up', 'Established', 'Up', 'Up', lab.node4],
      );
      assert.equal(await frr.bfdStatus(lab.node4), 'up');

      const labels = `peer="${p!.name}",address="${lab.router4}"`;
      const before = await metrics(lab);
      assert.equal(series(before, 'tabby_bfd_session_up', labels), 1, before);
      assert.equal(series(before, 'tabby_bfd_detection_time_seconds', labels), 0.3);
      // FRR's bgpd resets an Up BFD session when BGP comes up (FRRouting/frr#5992): the
      // agent starts BFD only once BGP is Established, so nothing flaps before the cut.
      const downs0 = series(before, 'tabby_bfd_session_downs_total', labels) ?? 0;
      const bfdLines = () => agentLog(lab).split('\n').filter((l) => /BFD|bgp/.test(l)).join('\n');
      assert.equal(downs0, 0, bfdLines());
      assert.equal(series(before, 'tabby_bgp_session_flaps_total', `${labels},family="ipv4",peer_type="global"`), 0, bfdLines());
      // The exposition stays valid with the BFD families in it.
      const lint = await run(['promtool', 'check', 'metrics'], { input: before, allowFail: true });
      assert.equal(lint.code, 0, lint.stdout + lint.stderr);

      const r = await cut(lab, [V4_ROUTE]);
      checkCut(r, () => agentLog(lab));
      const afterCut = await metrics(lab);
      assert.equal(series(afterCut, 'tabby_bfd_session_up', labels), 0);
      assert.equal(series(afterCut, 'tabby_bfd_session_downs_total', labels), downs0 + 1);
      await waitFor('FRR to see BFD down', async () => (await frr.bfdStatus(lab.node4)) === 'down', 5000);

      const t1 = performance.now();
      await mend(lab);
      await converged(lab, [V4_ROUTE]);
      assert.equal(await frr.bgpState(lab.node4), 'Established');
      report('FRR', r, performance.now() - t1);
    } finally {
      await frr.stop();
    }
  });
});
