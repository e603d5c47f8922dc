// A real container runtime on Tabby's network: podman (CNI backend, runc) runs busybox
// containers, imported from busybox-static, on two lab nodes whose conflist holds only
// tabby-cni. The lab is built with this file's own name prefix, so it runs beside other
// tests (and beside `tabby lab`). Containers talk across nodes over IPIP and then VXLAN,
// reach the outside host through natOutgoing, are reached from it through the ToR's BGP
// routes, and leave nothing behind when podman removes them.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { birdc } from '../../src/lab/bird.js';
import { connectivity, labDown, labUp } from '../../src/lab/lab.js';
import type { LabState } from '../../src/lab/lab-state.js';
import { addNetnsWorkload, addPodmanWorkload, removePodmanWorkload, runPlugin, type LabWorkload } from '../../src/lab/lab-workloads.js';
import { deleteNetns } from '../../src/lab/topology.js';
import { listNetns } from '../../src/lab/topology.js';
import { run, waitFor } from '../../src/util/exec.js';
import { TABBY } from '../helpers/cli.js';
import { needs } from '../helpers/require.js';

const prefix = `tbt-pm${randomBytes(2).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'tabby-podman-'));
let s: LabState;

// Generous: on a loaded two-core machine a CLI start can take long while the lab runs.
const tabby = async (...args: string[]) => (await run([process.execPath, TABBY, '--datastore', s.datastore, ...args], { timeoutMs: 120_000 })).stdout;
const podman = (node: LabState['nodes'][number], ...args: string[]) =>
  run(['nsenter', `--net=/var/run/netns/${node.namespace}`, 'podman', '--root', join(dir, 'podman', 'root'), '--runroot', join(dir, 'podman', 'run'), '--runtime', 'runc', ...args], {
    env: { ...process.env, CONTAINERS_CONF: join(dir, 'podman', node.name, 'containers.conf') },
    timeoutMs: 60_000,
  });
/** The BGP protocols (lab node names) the ToR has a route for exactly `prefix` from. */
const torSources = async (prefix: string) => [...(await birdc(s.tor!.socket!, `show route ${prefix}`)).matchAll(/unicast \[(\S+)/g)].map((m) => m[1]!).sort();
const wl = (i: number) => ({ node: s.nodes[i]!, w: s.nodes[i]!.workloads[0]! });

/** A one-shot TCP server in `netns` that answers each client with the client's address. */
async function whoamiServer(netns: string, port: number): Promise<void> {
  const py = `import socket\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('0.0.0.0',${port}));s.listen(4);s.settimeout(60)\nfor _ in range(4):\n  c,a=s.accept();c.sendall((a[0]+'\\n').encode());c.close()`;
  void run(['python3', '-c', py], { netns, timeoutMs: 90_000, allowFail: true });
  await waitFor(`listener on ${port} in ${netns}`, async () => (await run(['ss', '-Hltn', `sport = :${port}`], { netns })).stdout.includes(`${port}`), 10_000, 100);
}

/** From a container: TCP connect with busybox nc and read the answer. */
async function ncFrom(node: LabState['nodes'][number], container: string, address: string, port: number): Promise<string> {
  return (await podman(node, 'exec', container, 'sh', '-c', `nc -w 5 ${address} ${port} </dev/null`)).stdout.trim();
}

/** Does `filter` match a packet on the node's eth0 while `action` runs? (tcpdump, bounded by time and count.) */
async function onWire(netns: string, filter: string, action: () => Promise<unknown>): Promise<boolean> {
  const capture = run(['timeout', '15', 'tcpdump', '-nn', '-c', '1', '-i', 'eth0', filter], { netns, allowFail: true, timeoutMs: 20_000 });
  await new Promise((r) => setTimeout(r, 1500)); // tcpdump attaches
  await action();
  return (await capture).stdout.trim().split('\n').filter(Boolean).length > 0;
}

async function allPaths(what: string): Promise<void> {
  const m = await connectivity(s);
  assert.ok(m.ok, `${what}: ${m.rows.filter((r) => !r.ok).map((r) => `${r.from}→${r.to}`).join(', ')}`);
}

describe('podman containers on tabby-cni across two lab nodes', { ...needs({ root: true, tools: ['ip', 'podman', 'runc', 'busybox', 'nsenter', 'bird', 'birdc', 'tcpdump', 'python3', 'ss', 'ping'] }), timeout: 900_000 }, () => {
  before(async () => {
    s = await labUp({ prefix, dir, nodes: 2, encap: 'ipip', dataplane: 'bpf', tor: 'bird', datastore: 'file', subnets: 1, workloads: 1, runtime: 'podman' });
  });

  after(async () => {
    await labDown(dir);
    assert.deepEqual(await listNetns(`${prefix}-`), [], 'no lab namespace left');
  });

  test('IPIP: ping and TCP across nodes, natOutgoing to the outside host, reachable from outside through the ToR', async () => {
    const [a, b] = [wl(0), wl(1)];
    assert.notEqual(a.w.address, b.w.address);
    assert.match(a.w.namespace, /^netns-/, "podman's own namespace");
    await allPaths('IPIP ping matrix');
    // IPIP on the wire between the nodes (IP protocol 4).
    assert.ok(await onWire(b.node.namespace, 'ip proto 4', () => run(['ping', '-c', '2', '-W', '2', b.w.address], { netns: a.w.namespace })), 'IPIP packets between the nodes');
    // TCP between containers: the server is busybox nc inside the container.
    await podman(b.node, 'exec', '-d', b.w.container!, 'sh', '-c', 'echo hello-from-b | nc -l -p 7000');
    await waitFor('nc listening', async () => (await run(['ss', '-Hltn', 'sport = :7000'], { netns: b.w.namespace })).stdout.includes('7000'), 10_000, 100);
    assert.equal(await ncFrom(a.node, a.w.container!, b.w.address, 7000), 'hello-from-b');
    // natOutgoing: the outside host sees the node's address, not the container's.
    await whoamiServer(s.external!.namespace, 7001);
    assert.equal(await ncFrom(a.node, a.w.container!, s.external!.address, 7001), a.node.address);
    // From outside, the ToR routes to the node that owns the block (learned over BGP) and no NAT applies.
    const tor = await birdc(s.tor!.socket!, 'show route');
    assert.match(tor, new RegExp(`10\\.244\\.\\d+\\.\\d+/26\\s+unicast \\[${a.node.name}`), 'the ToR learned node1\'s block');
    await whoamiServer(a.w.namespace, 7002);
    const seen = (await run(['busybox', 'nc', '-w', '5', a.w.address, '7002'], { netns: s.external!.namespace, input: '' })).stdout.trim();
    assert.equal(seen, s.external!.address);
  });

  test('VXLAN: the same paths after the pool switches from IPIP to VXLAN', async () => {
    await tabby('patch', 'ippool', 'default-ipv4-ippool', '-p', '{"spec":{"ipipMode":"Never","vxlanMode":"Always"}}');
    // With the eBPF dataplane the route keeps eth0 and the program encapsulates; its MTU is VXLAN's (1500 - 50).
    for (const n of s.nodes) {
      await waitFor(`${n.name}: a VXLAN route to the other node's block`, async () => /proto 88 .*mtu 1450/.test((await run(['ip', 'route', 'show', 'root', '10.244.0.0/16'], { netns: n.namespace })).stdout), 60_000, 500);
    }
    await waitFor('all paths over VXLAN', async () => (await connectivity(s)).ok, 60_000, 1000);
    await allPaths('VXLAN ping matrix');
    const [a, b] = [wl(0), wl(1)];
    assert.ok(await onWire(a.node.namespace, 'udp port 4789', () => run(['ping', '-c', '2', '-W', '2', a.w.address], { netns: b.w.namespace })), 'VXLAN packets between the nodes');
    await podman(a.node, 'exec', '-d', a.w.container!, 'sh', '-c', 'echo hello-from-a | nc -l -p 7003');
    await waitFor('nc listening', async () => (await run(['ss', '-Hltn', 'sport = :7003'], { netns: a.w.namespace })).stdout.includes('7003'), 10_000, 100);
    assert.equal(await ncFrom(b.node, b.w.container!, a.w.address, 7003), 'hello-from-a');
  });

  test('a /32 borrowed from another node\'s block is advertised by the borrower and reached from outside', async () => {
    // A pool of one block: one node's agent claims it, the other node's workload must borrow
    // (Calico without strictAffinity); the borrower originates the /32 (confd calico_aggr:
    // only what is beneath its own blocks stays quiet) and the owner keeps its /26.
    await run([process.execPath, TABBY, '--datastore', s.datastore, 'apply', '-f', '-'], {
      timeoutMs: 120_000,
      input: 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: tiny}\nspec: {cidr: 10.99.0.0/26, blockSize: 26, vxlanMode: Always}\n',
    });
    const owned = await waitFor('an agent to claim the tiny pool\'s block', async () => {
      const pool = JSON.parse(await tabby('ipam', 'show', '--show-blocks', '-o', 'json')).pools.find((p: { name: string }) => p.name === 'tiny');
      return pool?.blocks[0]?.affinity as string | undefined;
    }, 60_000, 500);
    const owner = s.nodes.find((n) => `host:${n.name}` === owned)!;
    const borrower = s.nodes.find((n) => n !== owner)!;
    const tiny = { ipam: { pools: ['tiny'] } };
    const a = await addNetnsWorkload(s, owner, 'tiny', tiny);
    const b = await addNetnsWorkload(s, borrower, 'tiny', tiny);
    try {
      assert.match(a.address, /^10\.99\.0\./);
      assert.match(b.address, /^10\.99\.0\./);
      const shown = await tabby('ipam', 'show', '--ip', b.address);
      assert.match(shown, new RegExp(`node: ${borrower.name}`), 'the borrower is recorded');
      // The ToR learns the /32 from the borrower alone: the owner's export runs calico_aggr
      // (confd bird_aggr.cfg.template, called first by calico_export_to_bgp_peers), which
      // rejects what lies beneath its block. The /26 comes from the owner; the borrower, as
      // an eBGP speaker, passes it on too (bird_ipam.cfg.template: every route in the pool).
      await waitFor('the ToR to learn the borrowed /32 from the borrower alone', async () => (await torSources(`${b.address}/32`)).join() === borrower.name, 60_000, 500);
      assert.ok((await torSources('10.99.0.0/26')).includes(owner.name), 'the owner advertises its block');
      await waitFor('paths to the borrowed address', async () => (await connectivity({ ...s, nodes: [{ ...owner, workloads: [a] }, { ...borrower, workloads: [b] }] })).ok, 60_000, 1000);
      assert.deepEqual(await torSources(`${b.address}/32`), [borrower.name], 'still from the borrower alone, the mesh long settled');
    } finally {
      await runPlugin(s, owner, 'DEL', a.containerID, `/var/run/netns/${a.namespace}`, tiny);
      await runPlugin(s, borrower, 'DEL', b.containerID, `/var/run/netns/${b.namespace}`, tiny);
      await deleteNetns(a.namespace);
      await deleteNetns(b.namespace);
    }
    await waitFor('the ToR to forget the /32', async () => !(await birdc(s.tor!.socket!, 'show route')).includes(`${b.address}/32`), 60_000, 500);
  });

  test('50 containers started and removed concurrently on one node: no address twice, none leaked', async () => {
    // 50 `podman run` at once in one node's namespace: 50 CNI ADDs racing on one node's blocks.
    const node = s.nodes[0]!;
    const ipam = async () => JSON.parse(await tabby('ipam', 'show', '-o', 'json')).pools.find((p: { name: string }) => p.name === 'default-ipv4-ippool').inUse as number;
    const weps = async () => (JSON.parse(await tabby('get', 'workloadendpoints', '-o', 'json')).items as unknown[]).length;
    const veths = async () => (await run(['ip', '-o', 'link', 'show'], { netns: node.namespace })).stdout.split('\n').filter((l) => / cali/.test(l)).length;
    const [inUse, endpoints, links] = [await ipam(), await weps(), await veths()];
    const names = Array.from({ length: 50 }, (_, i) => `c${i}`);
    const started = await Promise.allSettled(names.map((i) => addPodmanWorkload(s, node, i)));
    try {
      const failed = started.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
      assert.deepEqual(failed, [], 'every container started');
      const addrs = started.map((r) => (r as PromiseFulfilledResult<LabWorkload>).value.address);
      assert.ok(addrs.every((a) => /^10\.244\./.test(a)), addrs.join());
      assert.equal(new Set(addrs).size, 50, 'no address assigned twice');
      assert.equal(await ipam(), inUse + 50);
      assert.equal(await weps(), endpoints + 50);
      assert.equal(await veths(), links + 50);
    } finally {
      const removed = await Promise.allSettled(names.map((i) => removePodmanWorkload(s, node, `${node.namespace}-w${i}`)));
      assert.deepEqual(removed.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)), []);
    }
    assert.equal(await ipam(), inUse, 'none leaked');
    assert.equal(await weps(), endpoints);
    assert.equal(await veths(), links, 'every veth removed');
  });

  test('removing the containers releases their addresses, endpoints, routes and veths', async () => {
    const inUseOf = async () => JSON.parse(await tabby('ipam', 'show', '-o', 'json')).pools.find((p: { name: string }) => p.name === 'default-ipv4-ippool').inUse as number;
    const before = await inUseOf();
    const weps = JSON.parse(await tabby('get', 'workloadendpoints', '-o', 'json')).items as { spec: { node: string; interfaceName: string; ipNetworks: string[] } }[];
    assert.equal(weps.length, 2);
    for (const n of s.nodes) for (const w of n.workloads) await removePodmanWorkload(s, n, w.container!);
    assert.equal(await inUseOf(), before - 2, 'back to the node tunnel addresses only');
    assert.deepEqual(JSON.parse(await tabby('get', 'workloadendpoints', '-o', 'json')).items, []);
    for (const wep of weps) {
      const node = s.nodes.find((n) => n.name === wep.spec.node)!;
      const links = (await run(['ip', '-o', 'link', 'show'], { netns: node.namespace })).stdout;
      assert.doesNotMatch(links, new RegExp(wep.spec.interfaceName), `${wep.spec.interfaceName} gone from ${node.name}`);
      const routes = (await run(['ip', 'route', 'show', wep.spec.ipNetworks[0]!], { netns: node.namespace })).stdout;
      assert.equal(routes.trim(), '', `no host route left for ${wep.spec.ipNetworks[0]}`);
      assert.match(await tabby('ipam', 'show', '--ip', wep.spec.ipNetworks[0]!.split('/')[0]!), /is not assigned/);
    }
    for (const n of s.nodes) n.workloads = [];
  });
});
