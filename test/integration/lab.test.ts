// The lab end to end: three nodes and a BIRD ToR, for each encapsulation and dataplane,
// dual-stack (the lab's default): every workload reaches every other one and the outside
// host over IPv4 and IPv6, by ping and TCP. The scenario tests run IPv4 alone, as before.
// Lab namespaces are named tabby-*, so every lab test lives in this one file (sequential).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { birdc } from '../../src/lab/bird.js';
import { connectivity, labDown, labUp, nodeStatus, type LabOptions } from '../../src/lab/lab.js';
import { familyAddress, type LabState } from '../../src/lab/lab-state.js';
import type { Matrix } from '../../src/lab/connectivity.js';
import { listNetns } from '../../src/lab/topology.js';
import { startLabEtcd, stopLabEtcd } from '../../src/lab/etcd.js';
import { readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { run, startDaemon, waitFor } from '../../src/util/exec.js';
import type { PeerStatusJson } from '../../src/agent/status.js';
import { TABBY } from '../helpers/cli.js';
import { httpGet } from '../helpers/netns-http.js';
import { alive } from '../helpers/daemon.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ root: true, tools: ['ip', 'ping', 'iptables', 'sysctl', 'python3', 'bird', 'birdc', 'etcd'] });

/** Run the CLI against the lab's store (from the etcd namespace when the lab runs on etcd). */
async function tabbyIn(s: LabState, args: string[], input?: string): Promise<void> {
  await run([process.execPath, TABBY, '--datastore', s.datastore, ...args], { input, timeoutMs: 20_000, netns: s.etcd?.namespace });
}

/** Wait until `check` holds for the node's peers (as node status reports them). */
async function waitPeers(s: LabState, node: number, what: string, check: (peers: PeerStatusJson[]) => boolean, timeoutMs = 60_000): Promise<void> {
  await waitFor(`node${node}: ${what}`, async () => {
    const st = await nodeStatus(s.nodes[node - 1]!);
    return st !== undefined && check(st.peers);
  }, timeoutMs, 250);
}

const up = (peers: PeerStatusJson[], address: string, type?: string) =>
  peers.some((p) => p.address === address && p.info === 'Established' && (type === undefined || p.type === type));


async function withLab(opts: Partial<LabOptions>, body: (s: LabState) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tabby-lab-test-'));
  let state: LabState | undefined;
  try {
    state = await labUp({ nodes: 3, encap: 'ipip', dataplane: 'bpf', tor: 'bird', datastore: 'file', subnets: 1, workloads: 1, dir, ...opts });
    await body(state);
  } finally {
    await labDown(dir);
    assert.deepEqual(await listNetns('tabby-'), [], 'no lab namespace left');
    for (const pid of state?.pids ?? []) assert.ok(!alive(pid), `process ${pid} stopped`);
    assert.ok(!existsSync(dir), 'lab directory removed');
  }
}

/** PIDs of processes whose command line mentions `text` (an etcd started for `dir`). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(text)) pids.push(Number(d));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/**
 * natOutgoing seen from the outside host, per family: the listener there saw the workload's
 * node address, never the workload's own (Calico's natOutgoing masquerades pool traffic
 * leaving every pool: felix/rules/nat.go, the cali-nat-outgoing chain's MASQUERADE for
 * sources in masq-ipam-pools and destinations outside all-ipam-pools; nat_test.go
 * NATOutgoingChain). Inside the cluster
 * the source stays the workload's.
 */
function assertNatSeenOutside(s: LabState, m: Matrix, families: readonly (4 | 6)[] = [4, 6]): void {
  for (const family of families) {
    const name = family === 4 ? 'IPv4' : 'IPv6';
    for (const n of s.nodes) {
      const w = n.workloads[0]!;
      const out = m.rows.find((r) => r.family === name && r.from === w.namespace && r.note === 'natOutgoing');
      assert.ok(out?.tcp, `${name} ${w.namespace} → outside over TCP: ${JSON.stringify(out)}`);
      assert.equal(out.seen, familyAddress(n, family), `${name}: the outside host sees ${n.name}'s address`);
      assert.notEqual(out.seen, familyAddress(w, family), `${name}: not the workload's`);
      const inside = m.rows.filter((r) => r.family === name && r.from === w.namespace && r.note === undefined);
      assert.equal(inside.length, s.nodes.length - 1);
      for (const r of inside) assert.equal(r.seen, familyAddress(w, family), `${name} ${r.from} → ${r.to}: no NAT between workloads`);
    }
  }
}

const datastoreReady = async (s: LabState) => (await Promise.all(s.nodes.map(nodeStatus))).map((st) => st?.datastoreReady);

describe('tabby lab', { ...NEEDS, concurrency: false }, () => {
  for (const [encap, dataplane] of [['ipip', 'bpf'], ['vxlan', 'bpf'], ['none', 'bpf'], ['vxlan', 'iptables']] as const) {
    test(`${encap} over the ${dataplane} dataplane, dual-stack: every path by ping and TCP in both families, natOutgoing seen outside, sessions up, ToR has every block`, { timeout: 240_000 }, async () => {
      await withLab({ encap, dataplane }, async (s) => {
        assert.equal(s.ipFamily, 'dual', 'the lab is dual-stack by default');
        const m = await connectivity(s);
        assert.deepEqual(m.rows.filter((r) => !r.ok), [], 'every path of the matrix works');
        // 3 workloads: 6 workload pairs, 3 to and 3 from the outside, per family.
        assert.deepEqual(['IPv4', 'IPv6'].map((f) => m.rows.filter((r) => r.family === f && r.ping && r.tcp).length), [12, 12]);
        assertNatSeenOutside(s, m);
        for (const n of s.nodes) {
          const st = await nodeStatus(n);
          assert.ok(st, `${n.name} answers node status`);
          assert.deepEqual(['ipv4', 'ipv6'].map((f) => st.peers.filter((p) => p.family === f).length), [3, 3], `${n.name}: two mesh peers and the ToR, per family`);
          for (const p of st.peers) assert.equal(p.info, 'Established', `${n.name} → ${p.address}`);
        }
        const routes = await birdc(s.tor!.socket!, 'show route');
        const blocks = [...routes.matchAll(/^(10\.244\.\d+\.\d+\/26)/gm)].map((x) => x[1]);
        assert.equal(new Set(blocks).size, 3, `the ToR has one block per node:\n${routes}`);
        // IPv6 blocks are /122, Calico's default IPv6 blockSize.
        const blocks6 = [...routes.matchAll(/^(fd00:244:[0-9a-f:]+\/122)/gm)].map((x) => x[1]);
        assert.equal(new Set(blocks6).size, 3, `the ToR has one IPv6 block per node:\n${routes}`);
        if (encap === 'vxlan' && dataplane === 'iptables') {
          // The IPv6 pool's vxlanMode: the other blocks through the IPv6 VXLAN device (Calico's vxlan-v6.calico).
          const r6 = (await run(['ip', '-6', 'route', 'show', 'proto', '88'], { netns: s.nodes[0]!.namespace })).stdout;
          assert.equal(r6.split('\n').filter((l) => l.startsWith('fd00:244:') && l.includes('dev vxlan-v6.tabby')).length, 2, r6);
        }
        if (encap === 'ipip') {
          const ready = await httpGet(s.nodes[0]!.namespace, 'http://127.0.0.1:9099/readiness');
          assert.equal(ready.status, 200, ready.body);
          assert.match(ready.body, /6 of 6 BGP sessions established/);
          const metrics = await httpGet(s.nodes[0]!.namespace, 'http://127.0.0.1:9091/metrics');
          assert.match(metrics.body, /tabby_bgp_session_established\{peer="Global_10_255_0_1"[^}]*\} 1/);
          assert.match(metrics.body, /tabby_dataplane_routes_programmed [1-9]/);
          assert.match(metrics.body, /tabby_bgp_prefixes\{[^}]*kind="advertised"\} 1/);
          assert.equal((await httpGet(s.nodes[0]!.namespace, 'http://127.0.0.1:9099/liveness')).status, 200);
        }
      });
    });
  }

  test('IPv6-only lab (--ip-family ipv6): no IPv4 on any node, router IDs hashed from node names, every path over IPv6 by ping and TCP, natOutgoing seen outside', { timeout: 240_000 }, async () => {
    await withLab({ ipFamily: 'ipv6', encap: 'none', dataplane: 'iptables', nodes: 2 }, async (s) => {
      const m = await connectivity(s);
      assert.deepEqual(m.rows.filter((r) => !r.ok), [], 'every path of the matrix works');
      assert.deepEqual([...new Set(m.rows.map((r) => r.family))], ['IPv6']);
      assert.equal(m.rows.length, 2 + 2 + 2, 'two workload pairs, two to and two from the outside');
      assertNatSeenOutside(s, m, [6]);
      for (const n of s.nodes) {
        assert.equal((await run(['ip', '-4', '-o', 'addr', 'show', 'scope', 'global'], { netns: n.namespace })).stdout, '', `${n.name} has no IPv4 address`);
        // confd's HashToIPv4 (confd/pkg/resource/template/template_funcs.go): the first four
        // bytes of SHA-256(node name), the first lowered by 32 when above 223.
        const b = createHash('sha256').update(n.name).digest();
        const id = `${b[0]! > 223 ? b[0]! - 32 : b[0]}.${b[1]}.${b[2]}.${b[3]}`;
        const shown = await birdc(s.tor!.socket!, `show protocols all ${n.name}`);
        assert.match(shown, new RegExp(`Neighbor ID:\\s+${id.replace(/\./g, '\\.')}\\b`), shown);
      }
    });
  });

  test('CrossSubnet: plain on the shared subnet, IPIP to the node behind the router', { timeout: 240_000 }, async () => {
    await withLab({ encap: 'ipip', crossSubnet: true, subnets: 2, ipFamily: 'ipv4' }, async (s) => {
      assert.equal(s.nodes[2]!.namespace, 'tabby-node3');
      const m = await connectivity(s);
      assert.deepEqual(m.rows.filter((r) => !r.ok), [], 'every path of the matrix works');
      const routes = (await run(['ip', 'route'], { netns: s.nodes[0]!.namespace })).stdout.split('\n');
      const block = (n: number) => routes.find((l) => l.includes(`via ${n === 1 ? s.nodes[1]!.address : s.tor!.address} `) && l.startsWith('10.244.'));
      assert.ok(block(1) && !/realm|mtu/.test(block(1)!), `same subnet: a plain route (${block(1)})`);
      assert.ok(block(2) && /realm \d+ mtu 1480/.test(block(2)!), `across the router: a tunnel route (${block(2)})`);
    });
  });

  test('seed scenarios applied live; mesh to route reflector migration loses no ping; restart keeps routes', { timeout: 400_000 }, async () => {
    await withLab({ encap: 'ipip', dataplane: 'bpf', ipFamily: 'ipv4' }, async (s) => {
      const [n1, , n3] = s.nodes.map((n) => n.address) as [string, string, string];
      const tor = s.tor!.address;

      // A node-specific peer by nodeSelector replaces the global one.
      await tabbyIn(s, ['patch', 'node', 'node1', '-p', '{"metadata":{"labels":{"rack":"rack-1"}}}']);
      await tabbyIn(s, ['apply', '-f', '-'], `apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: rack1-tor}\nspec: {peerIP: ${tor}, asNumber: 64567, nodeSelector: "rack == 'rack-1'"}\n`);
      await tabbyIn(s, ['delete', 'bgppeer', 'tor']);
      await waitPeers(s, 1, 'node-specific ToR peer', (p) => up(p, tor, 'node specific'));
      await waitPeers(s, 2, 'no ToR peer', (p) => !p.some((x) => x.address === tor));

      // The cluster AS changes live; the mesh comes back with it.
      await tabbyIn(s, ['patch', 'bgpconfiguration', 'default', '-p', '{"spec":{"asNumber":64513}}']);
      await waitPeers(s, 2, 'mesh on AS 64513', (p) => p.filter((x) => x.type === 'node-to-node mesh' && x.asn === 64513 && x.info === 'Established').length === 2);
      await waitPeers(s, 1, 'ToR back on the new AS', (p) => up(p, tor));

      // A per-node AS: node1 sees node3 as eBGP AS 64600.
      await tabbyIn(s, ['patch', 'node', 'node3', '-p', '{"spec":{"bgp":{"asNumber":64600}}}']);
      await waitPeers(s, 1, 'node3 on AS 64600', (p) => p.some((x) => x.address === n3 && x.asn === 64600 && x.info === 'Established'));
      await tabbyIn(s, ['patch', 'node', 'node3', '-p', '{"spec":{"bgp":{"asNumber":null}}}']);
      await waitPeers(s, 1, 'node3 back on the cluster AS', (p) => p.some((x) => x.address === n3 && x.asn === 64513 && x.info === 'Established'));
      assert.ok((await connectivity({ ...s, external: null })).ok, 'workloads still talk');

      // Migration from the mesh to a route reflector (the seed's steps) under a continuous ping.
      const w3 = s.nodes[2]!.workloads[0]!.address;
      const pinger = run(['ping', '-i', '0.05', '-c', '500', '-q', w3], { netns: s.nodes[1]!.workloads[0]!.namespace, allowFail: true, timeoutMs: 60_000 });
      await tabbyIn(s, ['patch', 'node', 'node1', '-p', '{"metadata":{"labels":{"route-reflector":"true"}},"spec":{"bgp":{"routeReflectorClusterID":"224.0.0.1"}}}']);
      await tabbyIn(s, ['apply', '-f', '-'], `apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: peer-with-route-reflectors}\nspec: {nodeSelector: all(), peerSelector: "route-reflector == 'true'"}\n`);
      await waitPeers(s, 2, 'session to the reflector', (p) => up(p, n1, 'node specific'));
      await waitPeers(s, 3, 'session to the reflector', (p) => up(p, n1, 'node specific'));
      await tabbyIn(s, ['patch', 'bgpconfiguration', 'default', '-p', '{"spec":{"nodeToNodeMeshEnabled":false}}']);
      await waitPeers(s, 2, 'no mesh', (p) => !p.some((x) => x.type === 'node-to-node mesh'));
      const ping = await pinger;
      assert.match(ping.stdout, / 0% packet loss/, ping.stdout);
      assert.ok((await connectivity({ ...s, external: null })).ok, 'workloads talk through the reflector');

      // Restarting an agent loses no ping and leaves the kernel routes as they were.
      const before = (await run(['ip', 'route'], { netns: s.nodes[1]!.namespace })).stdout;
      const pinger2 = run(['ping', '-i', '0.05', '-c', '300', '-q', w3], { netns: s.nodes[1]!.workloads[0]!.namespace, allowFail: true, timeoutMs: 60_000 });
      const n2node = s.nodes[1]!;
      process.kill(n2node.pid!, 'SIGTERM');
      await waitFor('node2 agent to exit', () => !alive(n2node.pid!), 10_000, 50);
      const argv = (await run(['cat', join(s.dir, 'node2.argv')], { allowFail: true })).stdout;
      assert.ok(argv, 'the lab recorded how it started the agent');
      const child = startDaemon(JSON.parse(argv) as string[], { netns: n2node.namespace, logFile: join(s.dir, 'node2.log') });
      s.pids.push(child.pid!);
      const ping2 = await pinger2;
      assert.match(ping2.stdout, / 0% packet loss/, ping2.stdout);
      await waitPeers(s, 2, 'sessions back after restart', (p) => p.length > 0 && p.every((x) => x.info === 'Established'));
      const after = (await run(['ip', 'route'], { netns: s.nodes[1]!.namespace })).stdout;
      assert.equal(after, before, 'kernel routes unchanged by the restart');
    });
  });

  test('lab on etcd: etcd stopped for 60 s, workloads keep talking, sessions stay, a change after etcd returns is applied', { timeout: 300_000 }, async () => {
    let etcdDir = '';
    await withLab({ encap: 'ipip', dataplane: 'bpf', datastore: 'etcd', ipFamily: 'ipv4' }, async (s) => {
      assert.ok(s.etcd?.pid, 'the lab recorded its etcd');
      etcdDir = s.etcd.dir;
      assert.equal(s.datastore, 'etcd:http://10.255.0.250:2379');
      assert.ok(s.pids.includes(s.etcd.pid), 'lab down stops etcd');
      assert.deepEqual(await datastoreReady(s), [true, true, true]);
      const m = await connectivity(s);
      assert.deepEqual(m.rows.filter((r) => !r.ok), [], 'every path of the matrix works');

      // A continuous ping across the outage: 0.2 s apart for 75 s, bounded in count and time.
      const w3 = s.nodes[2]!.workloads[0]!.address;
      const pinger = run(['ping', '-i', '0.2', '-c', '375', '-q', w3], { netns: s.nodes[1]!.workloads[0]!.namespace, allowFail: true, timeoutMs: 120_000 });
      await delay(2000);

      const stoppedAt = Date.now();
      await stopLabEtcd(s);
      await waitFor('every agent to see the datastore gone', async () => (await datastoreReady(s)).every((r) => r === false), 20_000, 250);
      const ready = await httpGet(s.nodes[0]!.namespace, 'http://127.0.0.1:9099/readiness');
      assert.match(ready.body, /datastore unreachable/, ready.body);
      assert.match((await httpGet(s.nodes[0]!.namespace, 'http://127.0.0.1:9091/metrics')).body, /^tabby_datastore_ready 0$/m);

      // Sixty seconds without etcd: every session stays Established all along.
      while (Date.now() - stoppedAt < 60_000) {
        for (const n of s.nodes) {
          const st = await nodeStatus(n);
          assert.ok(st, `${n.name} answers node status while etcd is down`);
          assert.equal(st.datastoreReady, false, `${n.name} reports the datastore not ready`);
          assert.equal(st.peers.length, 3, `${n.name} keeps its peers`);
          for (const p of st.peers) assert.equal(p.info, 'Established', `${n.name} → ${p.address} while etcd is down`);
        }
        await delay(5000);
      }

      // etcd back on the same data dir and address.
      await startLabEtcd(s);
      await waitFor('every agent to see the datastore again', async () => (await datastoreReady(s)).every((r) => r === true), 30_000, 250);
      assert.match((await httpGet(s.nodes[0]!.namespace, 'http://127.0.0.1:9091/metrics')).body, /^tabby_datastore_ready 1$/m);
      const ping = await pinger;
      assert.match(ping.stdout, / 0% packet loss/, ping.stdout);

      // A change made now reaches every agent.
      await tabbyIn(s, ['patch', 'bgpconfiguration', 'default', '-p', '{"spec":{"asNumber":64513}}']);
      for (const i of [1, 2, 3]) {
        await waitPeers(s, i, 'mesh on AS 64513', (p) => p.filter((x) => x.type === 'node-to-node mesh' && x.asn === 64513 && x.info === 'Established').length === 2);
      }
      assert.ok((await connectivity({ ...s, external: null })).ok, 'workloads still talk');
    });
    assert.ok(etcdDir, 'the lab ran');
    assert.deepEqual(processesMentioning(etcdDir), [], 'no etcd process left');
  });
});
