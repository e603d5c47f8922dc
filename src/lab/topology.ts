// Hosts as network namespaces on one shared L2 fabric (a bridge in its own namespace), and
// Calico-style workloads behind them: a veth per workload, /32 on the workload side, a
// link-local gateway answered by proxy ARP on the host side.
import { createHash } from 'node:crypto';
import { ip, run } from '../util/exec.js';

export interface LabHost {
  name: string;
  netns: string;
  /** Fabric address with prefix length, e.g. 10.255.0.11/24 (the first one given). */
  cidr: string;
  address: string;
  ifname: string;
}

export interface LabWorkload {
  netns: string;
  address: string;
  hostIfname: string;
}

const sysctl = (netns: string, key: string, value: string) => run(['sysctl', '-qw', `${key}=${value}`], { netns });
const list = (cidrs: string | string[]) => (Array.isArray(cidrs) ? cidrs : [cidrs]);

/** Addresses on `ifname`; IPv6 ones without duplicate address detection, usable at once. */
async function addAddresses(netns: string, ifname: string, cidrs: string | string[]): Promise<void> {
  for (const cidr of list(cidrs)) await ip(['addr', 'add', cidr, 'dev', ifname, ...(cidr.includes(':') ? ['nodad'] : [])], netns);
}

/** Calico-style host-side interface name for a workload. */
export function workloadIfname(workloadNetns: string): string {
  return `cali${createHash('sha1').update(workloadNetns).digest('hex').slice(0, 11)}`;
}

export async function createNetns(name: string): Promise<void> {
  await ip(['netns', 'add', name]);
  await ip(['link', 'set', 'lo', 'up'], name);
}

export async function deleteNetns(name: string): Promise<void> {
  await ip(['netns', 'del', name], undefined, { allowFail: true });
}

/** Every namespace whose name starts with `prefix` (for cleaning up after a crash). */
export async function listNetns(prefix: string): Promise<string[]> {
  const { stdout } = await ip(['-j', 'netns', 'list'], undefined, { allowFail: true });
  const list = stdout.trim() ? (JSON.parse(stdout) as { name: string }[]) : [];
  return list.map((n) => n.name).filter((n) => n.startsWith(prefix));
}

export class Fabric {
  readonly netns: string;
  private port = 0;

  constructor(readonly prefix: string) {
    this.netns = `${prefix}-fabric`;
  }

  async create(): Promise<void> {
    await createNetns(this.netns);
    await ip(['link', 'add', 'br0', 'type', 'bridge'], this.netns);
    await ip(['link', 'set', 'br0', 'up'], this.netns);
  }

  /** A host namespace with `eth0` on the fabric, forwarding on, rp_filter off (as a router). */
  async addHost(name: string, cidr: string | string[], opts: { netns?: string; mtu?: number } = {}): Promise<LabHost> {
    const netns = opts.netns ?? `${this.prefix}-${name}`;
    await createNetns(netns);
    await routerSysctls(netns);
    return this.attach(name, netns, 'eth0', cidr, opts.mtu);
  }

  /** Plug an existing namespace into the fabric as `ifname` with `cidr` (one or one per family). */
  async attach(name: string, netns: string, ifname: string, cidr: string | string[], mtu = 1500): Promise<LabHost> {
    const port = `p${++this.port}`;
    await ip(['link', 'add', port, 'netns', this.netns, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', ifname, 'netns', netns, 'mtu', String(mtu)]);
    await ip(['link', 'set', port, 'master', 'br0', 'up'], this.netns);
    await addAddresses(netns, ifname, cidr);
    await ip(['link', 'set', ifname, 'up'], netns);
    await sysctl(netns, `net.ipv4.conf.${ifname}.rp_filter`, '0');
    const first = list(cidr)[0]!;
    return { name, netns, cidr: first, address: first.split('/')[0]!, ifname };
  }

  async destroy(extra: string[] = []): Promise<void> {
    for (const ns of [...extra, this.netns]) await deleteNetns(ns);
  }
}

/** Forwarding on and reverse-path filtering off, as on a router. */
export async function routerSysctls(netns: string): Promise<void> {
  for (const [k, v] of [
    ['net.ipv4.ip_forward', '1'],
    ['net.ipv4.conf.all.rp_filter', '0'],
    ['net.ipv4.conf.default.rp_filter', '0'],
    ['net.ipv6.conf.all.forwarding', '1'],
  ]) {
    await sysctl(netns, k!, v!);
  }
}

/** A veth between two namespaces with an address on each end. */
export async function link(a: { netns: string; ifname: string; cidr: string | string[] }, b: { netns: string; ifname: string; cidr: string | string[] }): Promise<void> {
  await ip(['link', 'add', a.ifname, 'netns', a.netns, 'type', 'veth', 'peer', 'name', b.ifname, 'netns', b.netns]);
  for (const end of [a, b]) {
    await addAddresses(end.netns, end.ifname, end.cidr);
    await ip(['link', 'set', end.ifname, 'up'], end.netns);
    await sysctl(end.netns, `net.ipv4.conf.${end.ifname}.rp_filter`, '0');
  }
}

/** A workload namespace behind `host`, holding `address` (/32), as Calico's CNI wires it. */
export async function addWorkload(host: LabHost, netns: string, address: string): Promise<LabWorkload> {
  const hostIfname = workloadIfname(netns);
  await createNetns(netns);
  await ip(['link', 'add', hostIfname, 'netns', host.netns, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
  await ip(['link', 'set', hostIfname, 'up'], host.netns);
  await sysctl(host.netns, `net.ipv4.conf.${hostIfname}.proxy_arp`, '1');
  await sysctl(host.netns, `net.ipv4.conf.${hostIfname}.rp_filter`, '0');
  await ip(['addr', 'add', `${address}/32`, 'dev', 'eth0'], netns);
  await ip(['link', 'set', 'eth0', 'up'], netns);
  await ip(['route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link'], netns);
  await ip(['route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0'], netns);
  await ip(['route', 'add', `${address}/32`, 'dev', hostIfname, 'scope', 'link'], host.netns);
  return { netns, address, hostIfname };
}
