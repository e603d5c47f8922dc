// `tabby lab`: a whole cluster on one machine. Hosts are namespaces on one L2 fabric (and
// optionally a second subnet behind the ToR router), each running a Tabby agent with a
// workload behind it; BIRD on the ToR peers with every node; an "outside" namespace sits
// behind the ToR. All agents share one datastore: a directory (namespaces share the
// filesystem) or, with `--datastore etcd`, a real etcd in its own namespace on the fabric.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ResourceClient } from '../client/resource-client.js';
import { validateResource } from '../api/validate.js';
import type { NodeStatusJson } from '../agent/status.js';
import { askAgent } from '../agent/status-server.js';
import { packageRoot } from '../util/package-root.js';
import { BLOCK_KIND } from '../ipam/ipam.js';
import { ip, run, startDaemon, stopPid, waitFor } from '../util/exec.js';
import { labEtcdConfig, openLabDatastore, startLabEtcd } from './etcd.js';
import { birdEstablished, startBird, torBirdConfig } from './bird.js';
import { LAB_DIR, LAB_PREFIX, loadState, removeStateDir, saveState, type LabState } from './lab-state.js';
import { Fabric, createNetns, deleteNetns, link, listNetns, routerSysctls } from './topology.js';
import { addNetnsWorkload, addPodmanWorkload, podmanSetup, podmanTeardown, type LabRuntime } from './lab-workloads.js';
import { UsageError } from '../errors.js';
import { removePins } from '../dataplane/bpf/host-pins.js';

export interface LabOptions {
  nodes: number;
  encap: 'ipip' | 'vxlan' | 'none';
  dataplane: 'bpf' | 'iptables' | 'none';
  tor: 'bird' | 'none';
  datastore: 'file' | 'etcd';
  /** 2 puts the last node on a second subnet behind the ToR (CrossSubnet). */
  subnets: 1 | 2;
  crossSubnet?: boolean;
  workloads: number;
  /** netns: namespaces wired by tabby-cni; podman: containers on a tabby-cni network. */
  runtime?: LabRuntime;
  /** Name prefix of every namespace (default "tabby"); a test gives its own to run beside a lab. */
  prefix?: string;
  dir?: string;
  progress?: (line: string) => void;
}

export const TOR_ASN = 64567;
export const POOL_CIDR = '10.244.0.0/16';
const subnet = (i: number) => `10.255.${i}`;
/** The lab etcd's address on the first fabric (`--datastore etcd`). */
export const ETCD_ADDRESS = `${subnet(0)}.250`;
const EXT = { tor: '10.254.0.1/24', ext: '10.254.0.100/24' };

const main = () => join(packageRoot, 'dist', 'src', 'cli', 'main.js');

function resources(o: LabOptions, torAddress?: string): unknown[] {
  const mode = o.crossSubnet ? 'CrossSubnet' : 'Always';
  const docs: unknown[] = [
    { apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { asNumber: 64512, nodeToNodeMeshEnabled: true, logSeverityScreen: 'Info' } },
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'default-ipv4-ippool' },
      spec: { cidr: POOL_CIDR, blockSize: 26, natOutgoing: true, ipipMode: o.encap === 'ipip' ? mode : 'Never', vxlanMode: o.encap === 'vxlan' ? mode : 'Never', nodeSelector: 'all()' },
    },
  ];
  // The seeds' "hosts on their own layer 2 segment with a router": a global peer to the router.
  // Every node exports every pool route to it (Calico's calico_export_to_bgp_peers), its mesh-
  // learned blocks too; keepOriginalNextHop makes the router reach each block at its owner.
  if (torAddress) docs.push({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { peerIP: torAddress, asNumber: TOR_ASN, keepOriginalNextHop: true } });
  return docs;
}

async function ping(netns: string, dest: string, count = 2): Promise<boolean> {
  const r = await run(['ping', '-c', String(count), '-i', '0.2', '-W', '1', '-q', dest], { netns, allowFail: true, timeoutMs: 10_000 });
  return r.code === 0;
}

export interface Matrix {
  rows: { from: string; to: string; ok: boolean }[];
  ok: boolean;
}

/** Workload↔workload, workload→outside (natOutgoing), outside→workload (via the ToR's BGP routes). */
export async function connectivity(s: LabState): Promise<Matrix> {
  const wls = s.nodes.flatMap((n) => n.workloads.map((w) => ({ ...w, node: n.name })));
  const checks: { from: string; netns: string; to: string; dest: string }[] = [];
  for (const a of wls) for (const b of wls) if (a !== b) checks.push({ from: a.namespace, netns: a.namespace, to: b.namespace, dest: b.address });
  if (s.external) {
    for (const w of wls) checks.push({ from: w.namespace, netns: w.namespace, to: `${s.external.namespace} (outside)`, dest: s.external.address });
    for (const w of wls) checks.push({ from: s.external.namespace, netns: s.external.namespace, to: w.namespace, dest: w.address });
  }
  const rows = [];
  for (const c of checks) rows.push({ from: c.from, to: c.to, ok: await ping(c.netns, c.dest) });
  return { rows, ok: rows.every((r) => r.ok) };
}

export async function nodeStatus(node: LabState['nodes'][number]): Promise<NodeStatusJson | undefined> {
  try {
    return (await askAgent(node.stateDir, 'status', 3000)) as NodeStatusJson;
  } catch {
    return undefined;
  }
}

export async function labUp(o: LabOptions): Promise<LabState> {
  const say = o.progress ?? (() => undefined);
  const dir = o.dir ?? LAB_DIR;
  const prefix = o.prefix ?? LAB_PREFIX;
  await labDown(dir, prefix);
  if (o.subnets === 2 && o.tor === 'none') throw new UsageError('a second subnet needs the ToR router: use --tor bird');
  mkdirSync(dir, { recursive: true });
  const storeDir = join(dir, 'datastore');
  const etcd = o.datastore === 'etcd' ? labEtcdConfig(dir, `${prefix}-etcd`, ETCD_ADDRESS) : undefined;
  const state: LabState = { prefix, dir, datastore: etcd ? `etcd:${etcd.clientUrl}` : `file:${storeDir}`, etcd, dataplane: o.dataplane, encap: o.encap, runtime: o.runtime ?? 'netns', nodes: [], tor: null, external: null, fabrics: [], pids: [] };
  saveState(state);
  try {
    say('building namespaces');
    const fabrics = [new Fabric(prefix)];
    if (o.subnets === 2) fabrics.push(new Fabric(`${prefix}-b`));
    for (const f of fabrics) {
      await f.create();
      state.fabrics.push(f.netns);
    }
    saveState(state);

    let torAddress: string | undefined;
    if (o.tor === 'bird') {
      const netns = `${prefix}-tor`;
      await createNetns(netns);
      await routerSysctls(netns);
      for (const [i, f] of fabrics.entries()) await f.attach('tor', netns, `eth${i}`, `${subnet(i)}.1/24`);
      torAddress = `${subnet(0)}.1`;
      const ext = `${prefix}-ext`;
      await createNetns(ext);
      await link({ netns, ifname: 'ext0', cidr: EXT.tor }, { netns: ext, ifname: 'eth0', cidr: EXT.ext });
      await ip(['route', 'add', 'default', 'via', EXT.tor.split('/')[0]!], ext);
      state.tor = { namespace: netns, address: torAddress, asn: TOR_ASN };
      state.external = { namespace: ext, address: EXT.ext.split('/')[0]! };
      saveState(state);
    }

    for (let i = 1; i <= o.nodes; i++) {
      const sub = o.subnets === 2 && i === o.nodes ? 1 : 0;
      const cidr = `${subnet(sub)}.${10 + i}/24`;
      const host = await fabrics[sub]!.addHost(`node${i}`, cidr, { netns: `${prefix}-node${i}` });
      // Proxy ARP answers for the workloads' 169.254.1.1 gateway only when the host has a
      // unicast route for it (arp_process wants RTN_UNICAST): the ToR default, or without a
      // ToR a route for the gateway alone beside an unreachable default.
      if (state.tor) await ip(['route', 'add', 'default', 'via', `${subnet(sub)}.1`], host.netns);
      else {
        await ip(['route', 'add', 'unreachable', 'default'], host.netns);
        await ip(['route', 'add', '169.254.1.1/32', 'dev', 'eth0'], host.netns);
      }
      state.nodes.push({ name: `node${i}`, namespace: host.netns, address: host.address, cidr, stateDir: join(dir, `node${i}`), workloads: [] });
    }
    saveState(state);

    if (etcd) {
      say('starting etcd');
      await createNetns(etcd.namespace);
      await fabrics[0]!.attach('etcd', etcd.namespace, 'eth0', `${etcd.address}/24`);
      // Nodes on the second subnet reach it through the ToR.
      if (state.tor) await ip(['route', 'add', 'default', 'via', `${subnet(0)}.1`], etcd.namespace);
      await startLabEtcd(state);
    }

    say('writing resources');
    rmSync(storeDir, { recursive: true, force: true });
    const store = await openLabDatastore(state);
    try {
      await new ResourceClient(store).write('apply', resources(o, torAddress).map(validateResource));
    } finally {
      await store.close();
    }

    if (state.tor) {
      const config = torBirdConfig({
        routerId: state.tor.address,
        asn: TOR_ASN,
        neighbors: state.nodes.map((n) => ({ name: n.name, address: n.address, local: state.tor!.address })),
      });
      const bird = await startBird({ netns: state.tor.namespace, dir: join(dir, 'tor'), config });
      state.tor.pid = bird.pid;
      state.tor.socket = bird.socket;
      state.pids.push(bird.pid);
      saveState(state);
    }

    say('starting agents');
    for (const n of state.nodes) {
      mkdirSync(n.stateDir, { recursive: true });
      const argv = [process.execPath, main(), 'node', 'run', '--name', n.name, '--datastore', state.datastore, '--state-dir', n.stateDir, '--dataplane', o.dataplane, '--ip', 'interface=eth0', '--secrets-dir', join(dir, 'secrets'), '--bpf-pin-root', labPinRoot(n.namespace)];
      writeFileSync(join(dir, `${n.name}.argv`), JSON.stringify(argv)); // to restart it by hand
      const child = startDaemon(argv, { netns: n.namespace, logFile: join(dir, `${n.name}.log`), env: { ...process.env, TABBY_LOG_LEVEL: process.env.TABBY_LOG_LEVEL ?? 'info' } });
      n.pid = child.pid!;
      state.pids.push(child.pid!);
    }
    saveState(state);

    say('waiting for IPAM blocks');
    const store2 = await openLabDatastore(state);
    try {
      await waitFor('every node to claim a block', async () => {
        const blocks = (await store2.list(BLOCK_KIND)).items as { spec: { affinity: string } }[];
        return state.nodes.every((n) => blocks.some((b) => b.spec.affinity === `host:${n.name}`));
      }, 30_000, 200);
    } finally {
      await store2.close();
    }
    // Workloads through tabby-cni, as a container runtime on each node would make them.
    say(`creating workloads (${state.runtime})`);
    if (state.runtime === 'podman') await podmanSetup(state);
    for (const n of state.nodes) {
      for (let w = 1; w <= o.workloads; w++) {
        n.workloads.push(await (state.runtime === 'podman' ? addPodmanWorkload : addNetnsWorkload)(state, n, w));
        saveState(state);
      }
    }

    await waitConverged(state, say);
    return state;
  } catch (err) {
    saveState(state);
    throw err;
  }
}

/** Wait until every node reports all its sessions Established and the ToR has every node. */
export async function waitConverged(state: LabState, say: (line: string) => void, timeoutMs = 90_000): Promise<void> {
  await waitFor(
    'BGP convergence',
    async () => {
      const statuses = await Promise.all(state.nodes.map(nodeStatus));
      const peers = statuses.flatMap((s) => s?.peers ?? []);
      const up = peers.filter((p) => p.info.startsWith('Established')).length;
      const tor = state.tor?.socket ? (await birdEstablished(state.tor.socket).catch(() => [])).length : 0;
      say(`sessions established: ${up}/${peers.length}${state.tor ? `, ToR: ${tor}/${state.nodes.length}` : ''}`);
      return statuses.every((s) => s && s.peers.length > 0 && s.peers.every((p) => p.info.startsWith('Established'))) && (!state.tor || tor === state.nodes.length);
    },
    timeoutMs,
    500,
  );
  // Routes follow sessions closely; give the dataplane a moment, then check the paths.
  await waitFor('routes to every workload', async () => (await connectivity({ ...state, external: null })).ok, 30_000, 500);
}

/** Remove everything a lab made: containers, processes by PID, namespaces by prefix, state files. */
/**
 * Each lab node's agent pins its eBPF maps apart (bpffs is shared by every namespace).
 * `ip netns exec` mounts a fresh /sys, so an agent started that way mounts a bpffs of
 * its own there: its pins go with it, and a restarted lab agent migrates by copy.
 */
function labPinRoot(namespace: string): string {
  return join('/sys/fs/bpf/tabby-lab', namespace);
}

export async function labDown(dir = LAB_DIR, prefix?: string): Promise<void> {
  const state = loadState(dir);
  // Containers first, while the datastore and the nodes are still there for the plugin's DEL.
  if (state?.runtime === 'podman') await podmanTeardown(state);
  for (const pid of state?.pids ?? []) await stopPid(pid, 3000);
  // After a crash the state may be gone: processes inside our namespaces are ours.
  const namespaces = await listNetns(`${state?.prefix ?? prefix ?? LAB_PREFIX}-`);
  for (const ns of namespaces) {
    const { stdout } = await ip(['netns', 'pids', ns], undefined, { allowFail: true });
    for (const pid of stdout.split('\n').map(Number).filter((n) => n > 0)) await stopPid(pid, 2000);
  }
  for (const ns of namespaces) {
    await deleteNetns(ns);
    removePins(labPinRoot(ns));
  }
  removeStateDir(dir);
}
