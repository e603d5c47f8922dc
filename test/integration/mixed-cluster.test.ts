// A mixed cluster: two Tabby agents (`tabby node run`) and a BIRD 2 configured the way
// calico-node's confd renders bird.cfg and bird_ipam.cfg for a node, in one node-to-node
// mesh on a shared L2 segment. The BIRD node has the lowest address, so by Calico's
// passive rule (bird.cfg.template: `{{if gt $onode_ip $node_ip}} passive on`;
// bgp_processor.go processMeshPeers: `if peerIP > currentNodeIP { peer.Passive = true }`)
// it waits for both Tabby nodes, and of the two Tabby nodes the lower waits too: with the
// rule backwards no session would come up. Every session must come up and every node's
// block reach every other node's kernel. The agents' CalicoNodeStatus is read back too.
//
// The BIRD config follows confd's templates (bgp_template with `multihop`, `gateway
// recursive`, `add paths on`, graceful restart, connect delay 2 / retry 5 / error wait
// 5,30; Mesh_<ip> with `source address`, `passive on`, `graceful restart time 120`;
// calico_export_to_bgp_peers accepting the pools; the kernel protocol with learn,
// persist, merge paths), written in BIRD 2 syntax (channels) since Debian ships BIRD 2.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { askAgent } from '../../src/agent/status-server.js';
import type { NodeStatusJson } from '../../src/agent/status.js';
import type { CalicoNodeStatus } from '../../src/api/types.js';
import { RTPROT_TABBY } from '../../src/dataplane/routes/route-protocol.js';
import { routeDump } from '../../src/native/routes.js';
import { ip, startDaemon, stopPid, waitFor } from '../../src/util/exec.js';
import { Bird } from '../helpers/bird.js';
import { TABBY, tabby } from '../helpers/cli.js';
import { needs } from '../helpers/require.js';

const { skip } = needs({ root: true, tools: ['ip', 'bird', 'birdc'] });

const AS = 64512;
const TABBY_POOL = '10.244.0.0/16';
const CALICO_POOL = '10.245.0.0/16';
/** The block the calico-node's BIRD owns (confd: a blackhole for each affine block). */
const CALICO_BLOCK = '10.245.3.0/26';
const RTPROT_BIRD = 12;

/** confd's bird.cfg + bird_ipam.cfg for node `me` with mesh peers `others`, in BIRD 2 syntax. */
function calicoBirdConfig(me: string, others: string[]): string {
  const pools = [TABBY_POOL, CALICO_POOL];
  const mesh = others
    .map(
      (o) => `protocol bgp Mesh_${o.replace(/\./g, '_')} from bgp_template {
  neighbor ${o} as ${AS};
  source address ${me};  # The local address we use for the TCP connection
${o > me ? '  passive on; # Mesh is unidirectional, peer will connect to us.\n' : ''}  graceful restart time 120;
}
`,
    )
    .join('');
  return `# bird_ipam.cfg
function reject_disabled_pools() {
}
function calico_export_to_bgp_peers(bool internal_peer) {
  reject_disabled_pools();
${pools.map((p) => `  if ( net ~ ${p} ) then { accept; }`).join('\n')}
}
filter calico_kernel_programming {
${pools.map((p) => `  if ( net ~ ${p} ) then { accept; }`).join('\n')}
  accept;
}
# bird.cfg
router id ${me};
log stderr all;
protocol kernel {
  learn;             # Learn all alien routes from the kernel
  persist;           # Don't remove routes on bird shutdown
  scan time 2;       # Scan kernel routing table every 2 seconds
  ipv4 { import all; export filter calico_kernel_programming; };
  graceful restart;
  merge paths on;    # Allow export multipath routes (ECMP)
}
protocol device { scan time 2; }
protocol direct { ipv4; interface -"cali*", -"kube-ipvs*", "*"; }
# The node's block, as the blackhole confd's static protocol and Felix give it.
protocol static { ipv4; route ${CALICO_BLOCK} blackhole; }
template bgp bgp_template {
  description "Connection to BGP peer";
  local as ${AS};
  multihop;
  ipv4 {
    gateway recursive; # This should be the default, but just in case.
    import all;
    export filter { calico_export_to_bgp_peers(true); reject; };
    add paths on;
  };
  graceful restart;
  connect delay time 2;
  connect retry time 5;
  error wait time 5,30;
}
${mesh}`;
}

interface Cluster {
  dir: string;
  store: string;
  sw: string;
  /** Namespaces: the calico-node (BIRD) first, then the Tabby nodes. */
  ns: string[];
  addr: string[];
  agents: ChildProcess[];
  bird?: Bird;
}

async function build(): Promise<Cluster> {
  const tag = randomBytes(3).toString('hex');
  const net = `10.${randomInt(16, 250)}.${randomInt(0, 255)}`;
  const dir = mkdtempSync(join(tmpdir(), 'tabby-mixed-'));
  chmodSync(dir, 0o755);
  const c: Cluster = { dir, store: join(dir, 'store'), sw: `tmix-${tag}-sw`, ns: [`tmix-${tag}-c3`, `tmix-${tag}-n1`, `tmix-${tag}-n2`], addr: [`${net}.1`, `${net}.2`, `${net}.3`], agents: [] };
  await ip(['netns', 'add', c.sw]);
  await ip(['link', 'add', 'br0', 'type', 'bridge'], c.sw);
  await ip(['link', 'set', 'br0', 'up'], c.sw);
  for (const [i, ns] of c.ns.entries()) {
    await ip(['netns', 'add', ns]);
    await ip(['link', 'set', 'lo', 'up'], ns);
    await ip(['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `p${i}`, 'netns', c.sw], ns);
    await ip(['addr', 'add', `${c.addr[i]}/24`, 'dev', 'eth0'], ns);
    await ip(['link', 'set', 'eth0', 'up'], ns);
    await ip(['link', 'set', `p${i}`, 'master', 'br0', 'up'], c.sw);
  }
  return c;
}

async function destroy(c: Cluster): Promise<void> {
  for (const a of c.agents) if (a.pid) await stopPid(a.pid, 5000);
  await c.bird?.stop();
  for (const ns of [...c.ns, c.sw]) await ip(['netns', 'del', ns], undefined, { allowFail: true });
  rmSync(c.dir, { recursive: true, force: true });
}

function startAgent(c: Cluster, i: number): void {
  const name = `n${i}`;
  const stateDir = join(c.dir, name);
  mkdirSync(stateDir, { recursive: true });
  const argv = [
    process.execPath, TABBY, 'node', 'run', '--name', name, '--datastore', `file:${c.store}`, '--state-dir', stateDir, '--dataplane', 'none',
    '--ip-autodetection-method', 'interface=eth0', '--no-default-pools', '--health-port', '-1', '--metrics-port', '-1', '--secrets-dir', join(c.dir, 'secrets'),
  ];
  c.agents.push(startDaemon(argv, { netns: c.ns[i]!, logFile: join(c.dir, `${name}.log`), env: { PATH: process.env.PATH, TABBY_LOG_LEVEL: 'info' } }));
}

const logs = (c: Cluster) => [1, 2].map((i) => `--- n${i}\n${(() => { try { return readFileSync(join(c.dir, `n${i}.log`), 'utf8').slice(-2500); } catch { return ''; } })()}`).join('\n');

/** The blocks in a Tabby node's kernel: its own (blackhole) and learned ones (via a gateway). */
async function tabbyKernel(ns: string): Promise<{ own: string[]; learned: Map<string, string | undefined> }> {
  const routes = await routeDump({ family: 4, protocol: RTPROT_TABBY, netns: ns });
  return {
    own: routes.filter((r) => r.type === 'blackhole').map((r) => r.dst),
    learned: new Map(routes.filter((r) => r.type !== 'blackhole').map((r) => [r.dst, r.gateway ?? r.nexthops?.[0]?.gateway])),
  };
}

describe('mixed cluster: calico-node (BIRD as confd renders it) and Tabby agents in one mesh', { skip }, () => {
  let cluster: Cluster | undefined;
  after(async () => {
    if (cluster) await destroy(cluster);
  });

  test('every session up (the lowest address waits for all), every block in every kernel; CalicoNodeStatus filled', async () => {
    const c = (cluster = await build());
    const [c3, n1, n2] = c.addr as [string, string, string];
    const docs = `apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: ${AS}, nodeToNodeMeshEnabled: true}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: tabby-pool}
spec: {cidr: ${TABBY_POOL}, ipipMode: Never, vxlanMode: Never, nodeSelector: "!has(calico-node)"}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: calico-pool}
spec: {cidr: ${CALICO_POOL}, ipipMode: Never, vxlanMode: Never, nodeSelector: "has(calico-node)"}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: c3, labels: {calico-node: "true"}}
spec: {bgp: {ipv4Address: ${c3}/24}}
---
apiVersion: projectcalico.org/v3
kind: CalicoNodeStatus
metadata: {name: n1-status}
spec: {node: n1, classes: [Agent, BGP, Routes], updatePeriodSeconds: 1}`;
    const applied = tabby(c.store, ['apply', '-f', '-'], docs);
    assert.equal(applied.code, 0, applied.stderr);

    c.bird = new Bird(c.ns[0]!, c.dir, 'calico');
    await c.bird.start(calicoBirdConfig(c3, [n1, n2]));
    assert.match(readFileSync(c.bird.conf, 'utf8'), /protocol bgp Mesh_\S+_2 from bgp_template \{[^}]*passive on/);
    startAgent(c, 1);
    startAgent(c, 2);

    // Every session Established, on both sides.
    await waitFor(
      'every mesh session Established',
      async () => {
        for (const i of [1, 2]) {
          const st = (await askAgent(join(c.dir, `n${i}`), 'status', 2000).catch(() => undefined)) as NodeStatusJson | undefined;
          if (!st || st.peers.length !== 2 || !st.peers.every((p) => p.info === 'Established' && p.type === 'node-to-node mesh')) return false;
        }
        for (const o of [n1, n2]) if ((await c.bird!.protocol(`Mesh_${o.replace(/\./g, '_')}`)).bgpState !== 'Established') return false;
        return true;
      },
      90_000,
      250,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${logs(c)}`);
    });
    // Who dialled: the BIRD node is passive toward both, n1 toward n2 (greater IP strings).
    const st1 = (await askAgent(join(c.dir, 'n1'), 'status', 2000)) as NodeStatusJson;
    assert.deepEqual(st1.peers.map((p) => p.address).sort(), [c3, n2].sort());

    // Every block in every kernel.
    const blocks = await waitFor(
      'every block in every kernel',
      async () => {
        const k1 = await tabbyKernel(c.ns[1]!);
        const k2 = await tabbyKernel(c.ns[2]!);
        if (k1.own.length !== 1 || k2.own.length !== 1) return false;
        const [b1, b2] = [k1.own[0]!, k2.own[0]!];
        if (k1.learned.get(b2) !== n2 || k1.learned.get(CALICO_BLOCK) !== c3) return false;
        if (k2.learned.get(b1) !== n1 || k2.learned.get(CALICO_BLOCK) !== c3) return false;
        const bird = await routeDump({ family: 4, protocol: RTPROT_BIRD, netns: c.ns[0]! });
        const via = new Map(bird.map((r) => [r.dst, r.gateway]));
        if (via.get(b1) !== n1 || via.get(b2) !== n2) return false;
        return [b1, b2];
      },
      60_000,
      250,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${logs(c)}`);
    });
    for (const b of blocks) assert.ok(b.startsWith('10.244.'), b);

    // calico-node's CalicoNodeStatus for n1, filled by the agent on its period.
    const filled = await waitFor(
      'CalicoNodeStatus filled',
      async () => {
        const got = JSON.parse(tabby(c.store, ['get', 'caliconodestatus', 'n1-status', '-o', 'json']).stdout) as CalicoNodeStatus;
        return got.status?.bgp?.numberEstablishedV4 === 2 && (got.status.routes?.routesV4?.length ?? 0) >= 2 ? got : false;
      },
      20_000,
      250,
    );
    assert.equal(filled.status!.agent!.birdV4!.routerID, n1);
    assert.deepEqual(filled.status!.bgp!.peersV4!.map((p) => [p.peerIP, p.type, p.state]).sort(), [[c3, 'NodeMesh', 'Established'], [n2, 'NodeMesh', 'Established']].sort());
    const fromBird = filled.status!.routes!.routesV4!.find((r) => r.destination === CALICO_BLOCK);
    assert.deepEqual(fromBird, { type: 'FIB', destination: CALICO_BLOCK, gateway: c3, interface: 'eth0', learnedFrom: { sourceType: 'NodeMesh', peerIP: c3 } });
  });
});
