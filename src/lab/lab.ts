// `tabby lab`: a whole cluster on one machine. Hosts are namespaces on one L2 fabric (and
// optionally a second subnet behind the ToR router), each running a Tabby agent with a
// workload behind it; BIRD on the ToR peers with every node; an "outside" namespace sits
// behind the ToR. The underlay, the ToR, the outside host, the pools and every workload are
// dual-stack by default, or one family alone (`--ip-family`). All agents share one datastore: a directory (namespaces share the
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
import { LAB_DIR, LAB_PREFIX, loadState, removeStateDir, saveState, type LabIpFamily, type LabState } from './lab-state.js';
import { connectivity } from './connectivity.js';
import { Fabric, createNetns, deleteNetns, link, listNetns, routerSysctls } from './topology.js';
import { addNetnsWorkload, addPodmanWorkload, podmanSetup, podmanTeardown, type LabRuntime } from './lab-workloads.js';
import { UsageError } from '../errors.js';
import { parseIP } from '../api/net.js';
import { removePins } from '../dataplane/bpf/host-pins.js';

export interface LabOptions {
  nodes: number;
  /** Default dual: IPv4 and IPv6 everywhere. */
  ipFamily?: LabIpFamily;
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
/** The IPv6 pool; Calico's default IPv6 pool is a ULA /48 too, in /122 blocks. */
export const POOL6_CIDR = 'fd00:244::/48';
const subnet = (i: number) => `10.255.${i}`;
/** Fabric i's IPv6 /64 (host part appended: `fd00:255:0::11`). */
const subnet6 = (i: number) => `fd00:255:${i}:`;
/** The lab etcd's address on the first fabric (`--datastore etcd`). */
export const ETCD_ADDRESS = `${subnet(0)}.250`;
const EXT = { tor: '10.254.0.1/24', ext: '10.254.0.100/24', tor6: 'fd00:254::1/64', ext6: 'fd00:254::100/64' };
const has = (o: LabOptions, family: 4 | 6) => (o.ipFamily ?? 'dual') === 'dual' || o.ipFamily === (family === 4 ? 'ipv4' : 'ipv6');
const bare = (cidr: string) => cidr.split('/')[0]!;

/** `address`/`address6` of a lab host from its fabric CIDRs: the IPv4 one first, else the IPv6 one. */
function hostAddresses(cidr4: string | undefined, cidr6: string | undefined): { address: string; address6?: string } {
  const six = cidr6 ? parseIP(bare(cidr6))!.address : undefined; // canonical, as the kernel prints it
  if (cidr4) return { address: bare(cidr4), ...(six ? { address6: six } : {}) };
  return { address: six! };
}

const main = () => join(packageRoot, 'dist', 'src', 'cli', 'main.js');

function resources(o: LabOptions, tor: { address: string; address6?: string } | undefined): unknown[] {
  const mode = o.crossSubnet ? 'CrossSubnet' : 'Always';
  const docs: unknown[] = [
    { apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { asNumber: 64512, nodeToNodeMeshEnabled: true, logSeverityScreen: 'Info' } },
  ];
  if (has(o, 4)) {
    docs.push({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'default-ipv4-ippool' },
      spec: { cidr: POOL_CIDR, blockSize: 26, natOutgoing: true, ipipMode: o.encap === 'ipip' ? mode : 'Never', vxlanMode: o.encap === 'vxlan' ? mode : 'Never', nodeSelector: 'all()' },
    });
  }
  // IPIP carries IPv4 only: with --encap ipip the IPv6 pool is routed natively; with vxlan
  // its vxlanMode is Calico's IPv6 VXLAN (vxlan-v6.calico).
  if (has(o, 6)) {
    docs.push({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'default-ipv6-ippool' }, spec: { cidr: POOL6_CIDR, blockSize: 122, natOutgoing: true, vxlanMode: o.encap === 'vxlan' ? mode : 'Never', nodeSelector: 'all()' } });
  }
  // The seeds' "hosts on their own layer 2 segment with a router": a global peer to the router.
  // Every node exports every pool route to it (Calico's calico_export_to_bgp_peers), its mesh-
  // learned blocks too; keepOriginalNextHop makes the router reach each block at its owner.
  // A Calico user peers with a dual-stack router once per family (confd's bird.cfg and
  // bird6.cfg each take the peers of their family).
  if (tor) {
    const torPeer = (name: string, peerIP: string) => ({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name }, spec: { peerIP, asNumber: TOR_ASN, keepOriginalNextHop: true } });
    if (has(o, 4)) docs.push(torPeer('tor', tor.address));
    if (has(o, 6)) docs.push(torPeer(has(o, 4) ? 'tor6' : 'tor', tor.address6 ?? tor.address));
  }
  return docs;
}

export { connectivity, type Matrix, type MatrixRow } from './connectivity.js';

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
  if (o.datastore === 'etcd' && !has(o, 4)) throw new UsageError('the lab\'s etcd listens on IPv4: use --ip-family dual or ipv4 with --datastore etcd');
  const v4 = has(o, 4);
  const v6 = has(o, 6);
  mkdirSync(dir, { recursive: true });
  const storeDir = join(dir, 'datastore');
  const etcd = o.datastore === 'etcd' ? labEtcdConfig(dir, `${prefix}-etcd`, ETCD_ADDRESS) : undefined;
  const state: LabState = { prefix, ipFamily: o.ipFamily ?? 'dual', dir, datastore: etcd ? `etcd:${etcd.clientUrl}` : `file:${storeDir}`, etcd, dataplane: o.dataplane, encap: o.encap, runtime: o.runtime ?? 'netns', nodes: [], tor: null, external: null, fabrics: [], pids: [] };
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

    if (o.tor === 'bird') {
      const netns = `${prefix}-tor`;
      await createNetns(netns);
      await routerSysctls(netns);
      for (const [i, f] of fabrics.entries()) await f.attach('tor', netns, `eth${i}`, [...(v4 ? [`${subnet(i)}.1/24`] : []), ...(v6 ? [`${subnet6(i)}:1/64`] : [])]);
      const ext = `${prefix}-ext`;
      await createNetns(ext);
      await link({ netns, ifname: 'ext0', cidr: [...(v4 ? [EXT.tor] : []), ...(v6 ? [EXT.tor6] : [])] }, { netns: ext, ifname: 'eth0', cidr: [...(v4 ? [EXT.ext] : []), ...(v6 ? [EXT.ext6] : [])] });
      if (v4) await ip(['route', 'add', 'default', 'via', bare(EXT.tor)], ext);
      if (v6) await ip(['-6', 'route', 'add', 'default', 'via', bare(EXT.tor6)], ext);
      state.tor = { namespace: netns, ...hostAddresses(v4 ? `${subnet(0)}.1/24` : undefined, v6 ? `${subnet6(0)}:1/64` : undefined), asn: TOR_ASN };
      state.external = { namespace: ext, ...hostAddresses(v4 ? EXT.ext : undefined, v6 ? EXT.ext6 : undefined) };
      saveState(state);
    }

    for (let i = 1; i <= o.nodes; i++) {
      const sub = o.subnets === 2 && i === o.nodes ? 1 : 0;
      const cidr4 = v4 ? `${subnet(sub)}.${10 + i}/24` : undefined;
      const cidr6 = v6 ? `${subnet6(sub)}:${10 + i}/64` : undefined;
      const host = await fabrics[sub]!.addHost(`node${i}`, [cidr4, cidr6].filter((c) => c !== undefined), { netns: `${prefix}-node${i}` });
      // Proxy ARP answers for the workloads' 169.254.1.1 gateway only when the host has a
      // unicast route for it (arp_process wants RTN_UNICAST): the ToR default, or without a
      // ToR a route for the gateway alone beside an unreachable default. IPv6 workloads use
      // the host side's link-local address as gateway.
      if (state.tor) {
        if (v4) await ip(['route', 'add', 'default', 'via', `${subnet(sub)}.1`], host.netns);
        if (v6) await ip(['-6', 'route', 'add', 'default', 'via', `${subnet6(sub)}:1`], host.netns);
      } else if (v4) {
        await ip(['route', 'add', 'unreachable', 'default'], host.netns);
        await ip(['route', 'add', '169.254.1.1/32', 'dev', 'eth0'], host.netns);
      }
      state.nodes.push({ name: `node${i}`, namespace: host.netns, ...hostAddresses(cidr4, cidr6), cidr: (cidr4 ?? cidr6)!, stateDir: join(dir, `node${i}`), workloads: [] });
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
      await new ResourceClient(store).write('apply', resources(o, state.tor ?? undefined).map(validateResource));
    } finally {
      await store.close();
    }

    if (state.tor) {
      const tor = state.tor;
      // One session per node and family, as the nodes' BGPPeers ask.
      const neighbors = state.nodes.flatMap((n) => [
        ...(v4 ? [{ name: n.name, address: n.address, local: tor.address }] : []),
        ...(v6 ? [{ name: v4 ? `${n.name}_v6` : n.name, address: n.address6 ?? n.address, local: tor.address6 ?? tor.address }] : []),
      ]);
      // BIRD needs an IPv4 router ID in an IPv6-only lab too.
      const config = torBirdConfig({ routerId: v4 ? tor.address : `${subnet(0)}.1`, asn: TOR_ASN, neighbors });
      const bird = await startBird({ netns: state.tor.namespace, dir: join(dir, 'tor'), config });
      state.tor.pid = bird.pid;
      state.tor.socket = bird.socket;
      state.pids.push(bird.pid);
      saveState(state);
    }

    say('starting agents');
    for (const n of state.nodes) {
      mkdirSync(n.stateDir, { recursive: true });
      const argv = [process.execPath, main(), 'node', 'run', '--name', n.name, '--datastore', state.datastore, '--state-dir', n.stateDir, '--dataplane', o.dataplane, ...addressFlags(o), '--no-default-pools', '--secrets-dir', join(dir, 'secrets'), '--bpf-pin-root', labPinRoot(n.namespace)];
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

/**
 * calico-node's IP / IP6 settings for the lab's families. IPv6-only: IP=none and
 * CALICO_ROUTER_ID=hash, as Calico's IPv6-only guide has it (a BGP router ID is 4 octets).
 */
function addressFlags(o: LabOptions): string[] {
  const six = ['--ip6', 'autodetect', '--ip6-autodetection-method', 'interface=eth0'];
  if (!has(o, 6)) return ['--ip', 'interface=eth0'];
  if (!has(o, 4)) return ['--ip', 'none', '--router-id', 'hash', ...six];
  return ['--ip', 'interface=eth0', ...six];
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
      const torWants = state.nodes.length * ((state.ipFamily ?? 'ipv4') === 'dual' ? 2 : 1);
      say(`sessions established: ${up}/${peers.length}${state.tor ? `, ToR: ${tor}/${torWants}` : ''}`);
      return statuses.every((s) => s && s.peers.length > 0 && s.peers.every((p) => p.info.startsWith('Established'))) && (!state.tor || tor === torWants);
    },
    timeoutMs,
    500,
  );
  // Routes follow sessions closely; give the dataplane a moment, then check the paths.
  await waitFor('routes to every workload', async () => (await connectivity({ ...state, external: null }, { tcp: false })).ok, 30_000, 500);
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
