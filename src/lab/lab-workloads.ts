// The lab's workloads go through tabby-cni, the same path a container runtime takes:
// either the lab calls the plugin itself for a bare network namespace (runtime "netns"),
// or podman runs real containers on a CNI network whose only plugin is tabby-cni
// (runtime "podman": runc, the CNI backend, an image imported from busybox-static).
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import { run } from '../util/exec.js';
import { LabError, type LabState } from './lab-state.js';
import { createNetns } from './topology.js';

export type LabRuntime = 'netns' | 'podman';

export interface LabWorkload {
  namespace: string;
  /** IPv4, or IPv6 in an IPv6-only lab. */
  address: string;
  /** IPv6 beside an IPv4 address. */
  address6?: string;
  containerID: string;
  /** podman's container name. */
  container?: string;
}

type LabNode = LabState['nodes'][number];

export const cniPlugin = () => join(packageRoot, 'dist', 'src', 'cni', 'main.js');
const BUSYBOX = '/bin/busybox';
const IMAGE = 'localhost/tabby-lab-busybox:latest';
const APPLETS = ['sh', 'ping', 'nc', 'ip', 'sleep', 'cat', 'wget', 'hostname', 'ifconfig', 'route'];

/** The network configuration every lab workload uses (one network per lab). */
export function labNetConf(s: LabState, node: LabNode): Record<string, unknown> {
  const family = s.ipFamily ?? 'ipv4';
  return {
    cniVersion: '1.0.0',
    name: `${s.prefix}-net`,
    type: 'tabby-cni',
    datastore: s.datastore,
    nodename: node.name,
    ipam_lock_file: join(s.dir, 'ipam.lock'),
    log_level: 'info',
    log_file_path: join(s.dir, 'cni.log'),
    // Calico's CNI IPAM switches: one address per family the lab has.
    ipam: { assign_ipv4: String(family !== 'ipv6'), assign_ipv6: String(family !== 'ipv4') },
  };
}

/** Run the plugin inside the node's namespace, as a runtime on that node would. */
export async function runPlugin(s: LabState, node: LabNode, command: 'ADD' | 'DEL', containerID: string, netnsPath: string, conf: Record<string, unknown> = {}): Promise<Record<string, unknown> | undefined> {
  const r = await run([process.execPath, cniPlugin()], {
    netns: node.namespace,
    input: JSON.stringify({ ...labNetConf(s, node), ...conf }),
    allowFail: true,
    timeoutMs: 60_000,
    env: { ...process.env, CNI_COMMAND: command, CNI_CONTAINERID: containerID, CNI_NETNS: netnsPath, CNI_IFNAME: 'eth0', CNI_PATH: join(packageRoot, 'dist', 'src', 'cni') },
  });
  const out = r.stdout.trim() ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined;
  if (r.code !== 0) throw new LabError(`tabby-cni ${command} ${containerID} on ${node.name}: ${out ? `${out.msg}: ${out.details ?? ''}` : r.stderr.trim()}`);
  return out;
}

/** The lab's `address`/`address6` from a list of addresses (CIDRs or bare): IPv4 first. */
function workloadAddresses(list: string[]): { address: string; address6?: string } {
  const bare = list.map((a) => a.split('/')[0]!);
  const v4 = bare.find((a) => !a.includes(':'));
  const v6 = bare.find((a) => a.includes(':'));
  if (v4) return { address: v4, ...(v6 ? { address6: v6 } : {}) };
  return { address: v6 ?? '' };
}

const resultAddresses = (result: Record<string, unknown> | undefined) => workloadAddresses(((result?.ips as { address: string }[] | undefined) ?? []).map((i) => i.address));

/** A bare namespace wired by the plugin (`conf` overrides the lab's network configuration). */
export async function addNetnsWorkload(s: LabState, node: LabNode, index: number | string, conf?: Record<string, unknown>): Promise<LabWorkload> {
  const namespace = `${node.namespace}-w${index}`;
  const containerID = `${node.namespace}-w${index}`;
  await createNetns(namespace);
  const result = await runPlugin(s, node, 'ADD', containerID, `/var/run/netns/${namespace}`, conf);
  return { namespace, ...resultAddresses(result), containerID };
}

// ---- podman ----

/** One storage for the lab; per node a containers.conf and a conflist (only nodename differs). */
function podmanPaths(s: LabState, node?: LabNode) {
  const base = join(s.dir, 'podman');
  const own = join(base, node?.name ?? 'lab');
  return { root: join(base, 'root'), runroot: join(base, 'run'), binDir: join(base, 'bin'), conf: join(own, 'containers.conf'), netDir: join(own, 'net.d') };
}

/** `podman` with the lab's storage and the node's network configuration, inside the node's namespace (nsenter keeps /sys and the cgroup mounts). */
function podman(s: LabState, node: LabNode | undefined, args: string[], allowFail = false) {
  const p = podmanPaths(s, node);
  const ns = node ? ['nsenter', `--net=/var/run/netns/${node.namespace}`] : [];
  return run([...ns, 'podman', '--root', p.root, '--runroot', p.runroot, '--runtime', 'runc', ...args], {
    env: { ...process.env, CONTAINERS_CONF: p.conf },
    timeoutMs: 120_000,
    allowFail,
  });
}

/** containers.conf with the CNI backend and a conflist holding tabby-cni, per node; the plugin; the image. */
export async function podmanSetup(s: LabState): Promise<void> {
  const shared = podmanPaths(s);
  for (const d of [shared.root, shared.runroot, shared.binDir]) mkdirSync(d, { recursive: true });
  symlinkSync(cniPlugin(), join(shared.binDir, 'tabby-cni'));
  for (const n of [undefined, ...s.nodes]) {
    const p = podmanPaths(s, n);
    mkdirSync(p.netDir, { recursive: true });
    writeFileSync(p.conf, `[network]\nnetwork_backend = "cni"\ncni_plugin_dirs = [${JSON.stringify(p.binDir)}]\nnetwork_config_dir = ${JSON.stringify(p.netDir)}\n`);
    if (!n) continue;
    const { cniVersion, name, ...plugin } = labNetConf(s, n);
    writeFileSync(join(p.netDir, `${name}.conflist`), JSON.stringify({ cniVersion, name, plugins: [plugin] }, null, 2));
  }
  // A root filesystem of busybox-static and its applets: nothing is pulled.
  const rootfs = join(s.dir, 'podman', 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  await run(['cp', BUSYBOX, join(rootfs, 'bin', 'busybox')]);
  for (const a of APPLETS) symlinkSync('busybox', join(rootfs, 'bin', a));
  const tar = join(s.dir, 'podman', 'rootfs.tar');
  await run(['tar', '-C', rootfs, '-cf', tar, '.']);
  await podman(s, undefined, ['import', '-q', tar, IMAGE]);
  rmSync(rootfs, { recursive: true, force: true });
}

export async function addPodmanWorkload(s: LabState, node: LabNode, index: number | string): Promise<LabWorkload> {
  const container = `${node.namespace}-w${index}`;
  await podman(s, node, ['run', '-d', '--name', container, '--network', `${s.prefix}-net`, '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', IMAGE, 'sleep', '1000000']);
  const inspect = (await podman(s, node, ['inspect', container, '--format', '{{.Id}} {{.NetworkSettings.SandboxKey}}'])).stdout.trim().split(' ');
  const [id, sandbox] = inspect as [string, string];
  const info = (await podman(s, node, ['exec', container, 'ip', '-o', 'addr', 'show', 'eth0'])).stdout;
  const found = [...info.matchAll(/inet6? (\S+)\/\d+ scope global/g)].map((m) => m[1]!);
  return { namespace: basename(sandbox), ...workloadAddresses(found), containerID: id, container };
}

/** podman rm in the workload's node namespace, so the plugin's DEL runs where its ADD ran. */
export async function removePodmanWorkload(s: LabState, node: LabNode, container: string): Promise<void> {
  // podman 4.3's rm races with its own unmounts when many run at once ("unlinkat …/shm:
  // device or resource busy"); a second rm finishes the job, so retry a bounded few times.
  for (let attempt = 1; ; attempt++) {
    const r = await podman(s, node, ['rm', '-f', '-t', '0', container], true);
    if (r.code === 0) return;
    if (attempt === 3 || !/resource busy/.test(r.stderr)) throw new LabError(`podman rm ${container} failed: ${r.stderr.trim()}`);
    await new Promise((done) => setTimeout(done, 500 * attempt));
  }
}

/** Every container removed (DEL through the plugin), then the lab's podman storage. Best effort. */
export async function podmanTeardown(s: LabState): Promise<void> {
  for (const n of s.nodes) for (const w of n.workloads) if (w.container) await podman(s, n, ['rm', '-f', '-t', '0', w.container], true);
  await podman(s, undefined, ['rm', '-af', '-t', '0'], true);
  await podman(s, undefined, ['system', 'reset', '-f'], true);
}
