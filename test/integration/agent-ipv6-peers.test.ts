// IPv6 end to end with real routers: the agent (`tabby node run`) in one namespace, BIRD 2,
// GoBGP or FRR in another, joined by a veth pair with IPv4 and IPv6 on it. Each router
// has two sessions with the node: one over IPv6 transport and one over IPv4 that carries
// IPv6 routes too (MP-BGP, RFC 4760). It announces 1 000 IPv6 prefixes over both; every
// one must land in the node's kernel (protocol 88) through the router's global IPv6
// address, and the router must learn the node's IPv6 block (/122, Calico's default IPv6
// blockSize) from the agent. The IPv6-transport peer is then deleted: over the IPv4 session
// alone the prefixes stay and the router has the block with the node's IPv6 address as next
// hop (RFC 4760 §3, RFC 2545 §3). Then an IPv6-only node (IP=none): it peers, programs the
// routes, passes traffic, and a workload of a natOutgoing IPv6 pool reaches past the router
// through ip6tables MASQUERADE.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Address6 } from 'ip-address';
import { askAgent } from '../../src/agent/status-server.js';
import type { NodeStatusJson, PeerStatusJson } from '../../src/agent/status.js';
import { RTPROT_TABBY } from '../../src/dataplane/routes/route-protocol.js';
import { routeDump, type Route } from '../../src/native/routes.js';
import { ip, run, startDaemon, stopPid, waitFor } from '../../src/util/exec.js';
import { Bird, birdBase, birdBgp } from '../helpers/bird.js';
import { TABBY, tabby } from '../helpers/cli.js';
import { FRR_TOOLS, Frr, frrRouterBgp } from '../helpers/frr.js';
import { GoBgp, gobgpConfig } from '../helpers/gobgp.js';
import { nodeRouterPair, type NodeRouterPair } from '../helpers/netns.js';
import { needs } from '../helpers/require.js';

const { skip } = needs({ root: true, tools: ['ip', 'ss', 'ping', 'sysctl', 'bird', 'birdc', 'gobgpd', 'gobgp', ...FRR_TOOLS] });

const TABBY_AS = 64512;
const ROUTER_AS = 65001;
const COUNT = 1000;
const POOL6 = 'fd5e:ab::/64';

interface Lab extends NodeRouterPair {
  dir: string;
  store: string;
  stateDir: string;
  /** The router's prefixes: 2001:db8:T:i::/64 with T per test. */
  prefixes: string[];
  agent?: ChildProcess;
}

async function makeLab(prefix: string, third: number, opts: { ipv4?: boolean } = {}): Promise<Lab> {
  const dir = mkdtempSync(join(tmpdir(), `tabby-${prefix}-`));
  chmodSync(dir, 0o755);
  return {
    ...(await nodeRouterPair(prefix, opts)),
    dir,
    store: join(dir, 'store'),
    stateDir: join(dir, 'state'),
    prefixes: Array.from({ length: COUNT }, (_, i) => `2001:db8:${third.toString(16)}:${(i + 1).toString(16)}::/64`),
  };
}

async function destroyLab(lab: Lab): Promise<void> {
  if (lab.agent?.pid) await stopPid(lab.agent.pid, 5000);
  for (const ns of [lab.node, lab.router]) await ip(['netns', 'del', ns], undefined, { allowFail: true });
  rmSync(pinRoot(lab), { recursive: true, force: true });
  rmSync(lab.dir, { recursive: true, force: true });
}

/** This lab's own bpffs directory (bpffs is shared by every namespace). */
function pinRoot(lab: Lab): string {
  return join('/sys/fs/bpf', basename(lab.dir));
}

/** Mesh off, an IPv6 pool, and one BGPPeer per router address; IPv6 from autodetection. */
interface AgentSetup {
  bindMode?: 'None' | 'NodeIP';
  peers?: string[];
  env?: Record<string, string>;
  natOutgoing?: boolean;
  dataplane?: 'iptables' | 'bpf';
}

async function startAgent(lab: Lab, o: AgentSetup = {}): Promise<void> {
  const { bindMode = 'None', peers = [lab.router4, lab.router6], env = {}, natOutgoing = false, dataplane = 'iptables' } = o;
  const docs = [
    `apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: ${TABBY_AS}, nodeToNodeMeshEnabled: false, bindMode: ${bindMode}}`,
    `apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: v6}
spec: {cidr: "${POOL6}", natOutgoing: ${natOutgoing}}`,
    ...peers.map(
      (address, i) => `apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: router-${i}}
spec: {peerIP: "${address}", asNumber: ${ROUTER_AS}}`,
    ),
  ];
  const applied = tabby(lab.store, ['apply', '-f', '-'], docs.join('\n---\n'));
  assert.equal(applied.code, 0, applied.stderr);
  const argv = [
    process.execPath, TABBY, 'node', 'run', '--name', 'n1', '--datastore', `file:${lab.store}`, '--state-dir', lab.stateDir, '--bpf-pin-root', pinRoot(lab),
    '--dataplane', dataplane, '--ip-autodetection-method', 'interface=n0', '--ip6', 'autodetect', '--ip6-autodetection-method', 'interface=n0',
    '--no-default-pools', '--health-port', '-1', '--metrics-port', '-1', '--secrets-dir', join(lab.dir, 'secrets'),
  ];
  lab.agent = startDaemon(argv, { netns: lab.node, logFile: join(lab.dir, 'agent.log'), env: { PATH: process.env.PATH, TABBY_LOG_LEVEL: 'info', ...env } });
}

const agentLog = (lab: Lab): string => {
  try {
    return readFileSync(join(lab.dir, 'agent.log'), 'utf8');
  } catch {
    return '';
  }
};

async function status(lab: Lab): Promise<PeerStatusJson[]> {
  return ((await askAgent(lab.stateDir, 'status', 2000)) as NodeStatusJson).peers;
}

/** The node's own IPv6 block, from `tabby ipam show --show-blocks`. */
function nodeBlock6(lab: Lab): string | undefined {
  const r = tabby(lab.store, ['ipam', 'show', '--show-blocks']);
  assert.equal(r.code, 0, r.stderr);
  return /\b([0-9a-f]+:[0-9a-f:]*\/1[0-2][0-9])\b/.exec(r.stdout.split('\n').filter((l) => /block/i.test(l)).join('\n'))?.[1];
}

/**
 * A workload namespace (`NODE` + "w") with the first address after the block's network,
 * joined to the node by a veth; the node routes the /128 to it and answers on fe80::1.
 */
async function workload(lab: Lab, block: string): Promise<string> {
  const ns = `${lab.node}w`;
  const addr = Address6.fromBigInt(new Address6(block).startAddress().bigInt() + 1n).correctForm();
  await ip(['netns', 'add', ns]);
  await ip(['link', 'add', 'wl0', 'type', 'veth', 'peer', 'name', 'w0', 'netns', ns], lab.node);
  await ip(['addr', 'add', 'fe80::1/64', 'dev', 'wl0', 'nodad'], lab.node);
  await ip(['link', 'set', 'wl0', 'up'], lab.node);
  await ip(['route', 'add', `${addr}/128`, 'dev', 'wl0'], lab.node);
  await run(['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1'], { netns: lab.node });
  await ip(['link', 'set', 'lo', 'up'], ns);
  await ip(['addr', 'add', `${addr}/128`, 'dev', 'w0', 'nodad'], ns);
  await ip(['link', 'set', 'w0', 'up'], ns);
  await ip(['-6', 'route', 'add', 'default', 'via', 'fe80::1', 'dev', 'w0'], ns);
  return ns;
}

/** The sessions Established with every prefix accepted, every prefix in the kernel through `gateways` on n0. */
async function converged(lab: Lab, sessions = 2, gateways = [lab.router6]): Promise<{ peers: PeerStatusJson[]; routes: Route[] }> {
  let last: string | undefined = 'nothing yet';
  return waitFor(
    `${COUNT} IPv6 prefixes in the kernel`,
    async () => {
      const peers = await status(lab).catch(() => []);
      if (peers.length !== sessions || !peers.every((p) => p.info === 'Established' && p.prefixes.accepted >= COUNT)) return false;
      const routes = (await routeDump({ family: 6, protocol: RTPROT_TABBY, netns: lab.node })).filter((r) => r.dst.startsWith('2001:db8:'));
      last = mismatch(lab, routes, gateways);
      return last === undefined ? { peers, routes } : false;
    },
    90_000,
    250,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\nlast: ${last}\nagent log:\n${agentLog(lab).slice(-4000)}`);
  });
}

/** Starts the agent; every prefix lands in the kernel. Returns the node's IPv6 block. */
async function agentConverges(lab: Lab, bindMode: 'None' | 'NodeIP' = 'None', gateways = [lab.router6]): Promise<string> {
  await startAgent(lab, { bindMode });
  await converged(lab, 2, gateways);
  const block = nodeBlock6(lab);
  assert.ok(block?.endsWith('/122'), `an IPv6 /122 block (Calico's default IPv6 blockSize): ${block}`);
  // Its blackhole, as Felix (and confd's bird_ipam template) gives every local block.
  await waitFor('the IPv6 block\'s blackhole', async () => (await routeDump({ family: 6, protocol: RTPROT_TABBY, netns: lab.node })).some((r) => r.dst === block && r.type === 'blackhole'), 10_000);
  return block!;
}

/**
 * The IPv6-transport BGPPeer deleted: the IPv4 session alone carries IPv6 unicast (MP-BGP,
 * RFC 4760 §3: AFI 2 in MP_REACH_NLRI whatever the transport). Every prefix stays in the
 * kernel through `gateways`, the IPv4 session's IPv6 next hops, and `hasBlock` must find the
 * node's block at the router learned from node4 with next hop node6, the node's global IPv6
 * address (RFC 2545 §3: the next hop of an IPv6 route is an IPv6 address).
 */
async function overIpv4Alone(lab: Lab, gateways: string[], hasBlock: () => Promise<boolean>): Promise<void> {
  const deleted = tabby(lab.store, ['delete', 'bgppeer', 'router-1']);
  assert.equal(deleted.code, 0, deleted.stderr);
  const { peers } = await converged(lab, 1, gateways);
  assert.deepEqual(peers.map((p) => [p.address, p.family]), [[lab.router4, 'ipv4']], 'the IPv4 session alone');
  await waitFor('the router to have the node\'s IPv6 block over the IPv4 session, next hop node6', hasBlock, 30_000, 250);
}

/** The first prefix not in the kernel through exactly `gateways` on n0, with what the kernel has; undefined when all are. */
function mismatch(lab: Lab, routes: Route[], gateways: string[]): string | undefined {
  const byDst = new Map(routes.map((r) => [r.dst, r]));
  const want = JSON.stringify(gateways.map((g) => [g, 'n0']).sort());
  for (const p of lab.prefixes) {
    const r = byDst.get(p);
    if (!r) return `${p} missing from the kernel`;
    const hops = (r.nexthops?.map((h) => [h.gateway, h.dev]) ?? [[r.gateway, r.dev]]).sort();
    if (JSON.stringify(hops) !== want) return `${p}: ${JSON.stringify(r)}, want next hops ${want}`;
  }
  return undefined;
}

describe('IPv6: tabby node run with BIRD, GoBGP and FRR', { skip }, () => {
  const labs: Lab[] = [];
  after(async () => {
    for (const lab of labs) await destroyLab(lab);
  });

  test('BIRD: IPv6 and IPv4 sessions, 1 000 IPv6 ECMP prefixes in the kernel, the node\'s IPv6 block learned, both also over the IPv4 session alone; bindMode NodeIP listens on both node IPs', async () => {
    const lab = await makeLab('t6b', 0xb);
    labs.push(lab);
    const bird = new Bird(lab.router, lab.dir, 'bird');
    // The IPv4 session's IPv6 routes name a second address of the router as next hop.
    const second = lab.router6.replace(/::2$/, '::3');
    await ip(['addr', 'add', `${second}/64`, 'dev', 'r0', 'nodad'], lab.router);
    try {
      await bird.start(
        birdBase(lab.router4, { v6: lab.prefixes }) +
          // IPv6 routes over the IPv4 session need an IPv6 next hop (BIRD's `next hop address`).
          birdBgp({ name: 'tabby4', local: lab.router4, localAs: ROUTER_AS, neighbor: lab.node4, neighborAs: TABBY_AS, nextHop6: second }) +
          birdBgp({ name: 'tabby6', local: lab.router6, localAs: ROUTER_AS, neighbor: lab.node6, neighborAs: TABBY_AS, ipv4: false }),
      );
      // Two equal paths per prefix with different next hops: an ECMP route with both.
      const block = await agentConverges(lab, 'NodeIP', [lab.router6, second]);
      // confd's bird.cfg and bird6.cfg: `listen bgp address` the node IP of each family.
      const listening = (await run(['ss', '-Hltn', 'sport', '= :179'], { netns: lab.node })).stdout;
      assert.deepEqual(listening.trim().split('\n').map((l) => l.trim().split(/\s+/)[3]).sort(), [`${lab.node4}:179`, `[${lab.node6}]:179`].sort(), listening);
      await waitFor('BIRD to learn the node\'s IPv6 block', async () => (await bird.prefixes('table', 'master6', block)).includes(block), 20_000);
      const shown = await bird.birdc('show', 'route', 'table', 'master6', block, 'all');
      assert.match(shown, new RegExp(`via ${lab.node6} on r0`), shown);
      await overIpv4Alone(lab, [second], async () => {
        if ((await bird.protocol('tabby6')).state === 'Established') return false;
        const r = await bird.birdc('show', 'route', 'table', 'master6', block, 'all');
        return r.includes('[tabby4 ') && r.includes(`via ${lab.node6} on r0`);
      });
    } finally {
      await bird.stop();
    }
  });

  test('GoBGP: IPv6 and IPv4 sessions, 1 000 IPv6 prefixes in the kernel, the node\'s IPv6 block learned, both also over the IPv4 session alone', async () => {
    const lab = await makeLab('t6g', 0xc);
    labs.push(lab);
    const gobgp = new GoBgp(lab.router, lab.dir, 'gobgp', 50000 + randomInt(0, 10000));
    try {
      await gobgp.start(
        gobgpConfig({
          asn: ROUTER_AS, routerId: lab.router4, listen: '::',
          neighbors: [
            { address: lab.node4, peerAs: TABBY_AS, families: ['ipv4', 'ipv6'] },
            { address: lab.node6, peerAs: TABBY_AS, families: ['ipv6'] },
          ],
        }).replace(/ {2}\[neighbors\.transport\.config\]\n {4}local-address = "::"\n/g, ''),
      );
      // Bounded concurrency: 1 000 gobgp CLI calls, four at a time.
      const queue = [...lab.prefixes];
      await Promise.all(Array.from({ length: 4 }, async () => {
        for (let p = queue.shift(); p; p = queue.shift()) await gobgp.addRoute('ipv6', p, lab.router6);
      }));
      const block = await agentConverges(lab);
      await waitFor('GoBGP to learn the node\'s IPv6 block', async () => (await gobgp.prefixes('ipv6')).includes(block), 20_000);
      await overIpv4Alone(lab, [lab.router6], async () => {
        if ((await gobgp.neighbor(lab.node6)).state === 'established') return false;
        const paths = JSON.stringify(await gobgp.paths('ipv6', block));
        return paths.includes(`"neighbor-ip":"${lab.node4}"`) && paths.includes(`"nexthop":"${lab.node6}"`);
      });
    } finally {
      await gobgp.stop();
    }
  });

  test('FRR: IPv6 and IPv4 sessions (global and link-local next hop), 1 000 IPv6 prefixes in the kernel, the node\'s IPv6 block learned, both also over the IPv4 session alone', async () => {
    const lab = await makeLab('t6f', 0xd);
    labs.push(lab);
    const frr = new Frr(lab.router, lab.dir);
    try {
      await frr.start({
        bgpd: `${frrRouterBgp(ROUTER_AS, lab.router4)} neighbor ${lab.node4} remote-as ${TABBY_AS}
 neighbor ${lab.node4} timers connect 2
 neighbor ${lab.node6} remote-as ${TABBY_AS}
 neighbor ${lab.node6} timers connect 2
 address-family ipv4 unicast
  no neighbor ${lab.node6} activate
 exit-address-family
 address-family ipv6 unicast
${lab.prefixes.map((p) => `  network ${p}`).join('\n')}
  neighbor ${lab.node4} activate
  neighbor ${lab.node6} activate
 exit-address-family
!
`,
      });
      const block = await agentConverges(lab);
      await waitFor('FRR to learn the node\'s IPv6 block', async () => (await frr.vtysh(`show bgp ipv6 unicast ${block}`)).includes(block.split('/')[0]!), 20_000);
      await overIpv4Alone(lab, [lab.router6], async () => {
        if ((await frr.bgpState(lab.node6)) === 'Established') return false;
        const path = JSON.stringify(await frr.route(block));
        return path.includes(`"peerId":"${lab.node4}"`) && path.includes(`"ip":"${lab.node6}"`);
      });
    } finally {
      await frr.stop();
    }
  });

  for (const dataplane of ['iptables', 'bpf'] as const) {
  test(`an IPv6-only node (no IPv4 anywhere, IP=none), ${dataplane} mode: peers with BIRD, programs 1 000 routes, passes traffic, masquerades a natOutgoing IPv6 pool`, async () => {
    const lab = await makeLab(dataplane === 'bpf' ? 't6ob' : 't6oi', 0xe, { ipv4: false });
    labs.push(lab);
    const bird = new Bird(lab.router, lab.dir, 'bird');
    // Behind the router, inside one of its prefixes: the node reaches it only through a learned route.
    const far = '2001:db8:e:1::1';
    await ip(['addr', 'add', `${far}/128`, 'dev', 'lo'], lab.router);
    try {
      // BIRD needs a router ID too; any will do.
      await bird.start(birdBase('192.0.2.2', { v6: lab.prefixes }) +
        birdBgp({ name: 'tabby6', local: lab.router6, localAs: ROUTER_AS, neighbor: lab.node6, neighborAs: TABBY_AS, ipv4: false }));
      await startAgent(lab, { peers: [lab.router6], env: { IP: 'none', IP6: 'autodetect' }, natOutgoing: true, dataplane });
      await converged(lab, 1);
      assert.deepEqual((await routeDump({ family: 4, netns: lab.node })).filter((r) => r.type === 'unicast'), [], 'no IPv4 route in the node');
      // Router ID from the node name, confd's HashToIPv4: SHA-256("n1") starts 67 6b 8b b8.
      const shown = (await bird.protocol('tabby6')).raw;
      assert.match(shown, /Neighbor ID:\s+103\.107\.139\.184\b/, shown);
      const ping = await run(['ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', far], { netns: lab.node, allowFail: true });
      assert.equal(ping.code, 0, ping.stdout + ping.stderr);
      const stored = tabby(lab.store, ['get', 'node', 'n1', '-o', 'json']);
      const spec = (JSON.parse(stored.stdout) as { spec: { bgp: Record<string, string> } }).spec.bgp;
      assert.equal(spec.ipv4Address, undefined);
      assert.equal(spec.ipv6Address, `${lab.node6}/64`);

      // natOutgoing for the IPv6 pool (ip6tables MASQUERADE): a workload with an address of
      // the node's block reaches `far`; the router has no route to the pool (BIRD here has no
      // kernel protocol), so the replies come back only because the router saw node6.
      const block = nodeBlock6(lab)!;
      const wl = await workload(lab, block);
      const out = await run(['ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', far], { netns: wl, allowFail: true });
      assert.equal(out.code, 0, `${out.stdout}${out.stderr}\n${(await run(['ip6tables-save', '-t', 'nat'], { netns: lab.node })).stdout}`);
      const noRoute = await run(['ip', '-6', 'route', 'get', block.split('/')[0]!], { netns: lab.router, allowFail: true });
      assert.notEqual(noRoute.code, 0, `the router must not reach the pool itself: ${noRoute.stdout}`);
    } finally {
      await bird.stop();
      await ip(['netns', 'del', `${lab.node}w`], undefined, { allowFail: true });
    }
  });
  }
});
