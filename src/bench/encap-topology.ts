// Two hosts, one workload each, in namespaces of their own, for the dataplane bench
// and the encap integration tests:
//
//   wa ──(eth0|wl0)── ha ──(eth0|eth0)── hb ──(wl0|eth0)── wb
//   10.251.Y.2/26     underlay 10.250.X.1 / .2              10.251.Y.66/26
//
// Host A owns block 10.251.Y.0/26, host B 10.251.Y.64/26. Nothing routes between the
// blocks until a path implementation adds its routes: plain routing, eBPF IPIP, eBPF
// VXLAN (host.bpf.o's encap step) or Calico's kernel VXLAN device. Everything lives in the
// namespaces, so deleting them removes it all.

import { randomInt } from 'node:crypto';
import { HostProgram } from '../dataplane/bpf/host-program.js';
import { BpfEncap } from '../dataplane/encap/bpf-encap.js';
import { ENCAP_OVERHEAD, tunnelMtu } from '../dataplane/encap/encap-mtu.js';
import type { EncapKind } from '../dataplane/encap/encap-map-codec.js';
import { tunnelRoute } from '../dataplane/encap/tunnel-route.js';
import { vtepMac } from '../dataplane/encap/vtep-mac.js';
import { run } from '../util/exec.js';
import { deleteNetns, makeNetns } from './cleanup.js';

export type Side = 'a' | 'b';
export const SIDES: readonly Side[] = ['a', 'b'];
export const other = (s: Side): Side => (s === 'a' ? 'b' : 'a');

export interface Host {
  /** Host namespace, with `eth0` (underlay) and `wl0` (towards the workload). */
  ns: string;
  /** Workload namespace, with `eth0`. */
  wl: string;
  nodeName: string;
  underlayIP: string;
  block: string;
  workloadIP: string;
  /** Gateway of the workload (wl0's address). */
  gatewayIP: string;
  /** The VXLAN tunnel address Calico would give the node (used by kernel VXLAN peers). */
  tunnelIP: string;
  vtepMac: string;
  /** eth0's ifindex inside ns. */
  ifindex: number;
  /** eth0's MAC. */
  mac: string;
}

export interface Topology {
  hostMtu: number;
  hosts: Record<Side, Host>;
}

export interface TopologyNaming {
  /** Creates an empty namespace for `role` (`ha`, `wa`, `hb`, `wb`) and returns its name. */
  makeNs(role: string): Promise<string>;
  /** The node name of host `s` (its VTEP MAC derives from it). */
  nodeName(s: Side): string;
}

/** The bench's naming: `tbb-…` namespaces, removed by the bench cleanups too. */
const BENCH_NAMING: TopologyNaming = { makeNs: makeNetns, nodeName: (s) => `bench-node-${s}` };

const ipn = (ns: string, ...args: string[]) => run(['ip', '-n', ns, ...args]);

/** Builds the topology; on failure removes the namespaces it created. */
export async function buildTopology(naming: TopologyNaming = BENCH_NAMING): Promise<Topology> {
  const x = randomInt(1, 250);
  const y = randomInt(1, 250);
  const created: string[] = [];
  const makeNs = async (role: string): Promise<string> => {
    const ns = await naming.makeNs(role);
    created.push(ns);
    return ns;
  };
  const mk = async (s: Side, n: number): Promise<Host> => ({
    ns: await makeNs(`h${s}`),
    wl: await makeNs(`w${s}`),
    nodeName: naming.nodeName(s),
    underlayIP: `10.250.${x}.${n}`,
    block: `10.251.${y}.${(n - 1) * 64}/26`,
    workloadIP: `10.251.${y}.${(n - 1) * 64 + 2}`,
    gatewayIP: `10.251.${y}.${(n - 1) * 64 + 1}`,
    tunnelIP: `10.251.${y}.${(n - 1) * 64 + 10}`,
    vtepMac: vtepMac(naming.nodeName(s)),
    ifindex: 0,
    mac: '',
  });
  try {
    const t: Topology = { hostMtu: 1500, hosts: { a: await mk('a', 1), b: await mk('b', 2) } };
    const { a, b } = t.hosts;
    await ipn(a.ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b.ns);
    for (const h of [a, b]) {
      await ipn(h.ns, 'link', 'add', 'wl0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.wl);
      await ipn(h.ns, 'addr', 'add', `${h.underlayIP}/24`, 'dev', 'eth0');
      await ipn(h.ns, 'addr', 'add', `${h.gatewayIP}/26`, 'dev', 'wl0');
      await ipn(h.wl, 'addr', 'add', `${h.workloadIP}/26`, 'dev', 'eth0');
      for (const [ns, devs] of [[h.ns, ['lo', 'eth0', 'wl0']], [h.wl, ['lo', 'eth0']]] as const) {
        for (const d of devs) await ipn(ns, 'link', 'set', d, 'up');
      }
      await ipn(h.wl, 'route', 'add', 'default', 'via', h.gatewayIP);
      // Strict reverse-path filtering on: decapsulated packets must pass it too.
      await run(['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=1', 'net.ipv4.conf.default.rp_filter=1'], { netns: h.ns });
      const j = JSON.parse((await ipn(h.ns, '-j', 'link', 'show', 'dev', 'eth0')).stdout) as Array<{ ifindex: number; address: string }>;
      h.ifindex = j[0]!.ifindex;
      h.mac = j[0]!.address;
    }
    return t;
  } catch (err) {
    for (const ns of created.reverse()) await deleteNetns(ns);
    throw err;
  }
}

/** Deletes the topology's namespaces (and with them everything in them). */
export async function destroyTopology(t: Topology): Promise<void> {
  for (const h of Object.values(t.hosts)) {
    for (const ns of [h.wl, h.ns]) await deleteNetns(ns);
  }
}

export interface PathHandle {
  close(): Promise<void>;
}

export interface PathImpl {
  name: string;
  setup(t: Topology, self: Side): Promise<PathHandle>;
}

export interface TunnelHandle extends PathHandle {
  /** Set for the eBPF implementations: the host programs and their encap step. */
  host?: HostProgram;
  bpf?: BpfEncap;
}

/** A path that tunnels: the same shape for kernel VXLAN and the eBPF host programs, so one test table covers them all. */
export interface TunnelImpl extends PathImpl {
  /** What the underlay carries. */
  wire: EncapKind;
  overhead: number;
  setup(t: Topology, self: Side): Promise<TunnelHandle>;
}

export const VNI = 4096;
export const VXLAN_PORT = 4789;

export const plainRouting: PathImpl = {
  name: 'plain',
  async setup(t, self) {
    const h = t.hosts[self];
    const p = t.hosts[other(self)];
    await ipn(h.ns, 'route', 'add', p.block, 'via', p.underlayIP, 'dev', 'eth0');
    return { close: async () => void (await ipn(h.ns, 'route', 'del', p.block)) };
  },
};

/** Calico's kernel VXLAN: vxlan.calico, static neighbour + FDB entry per peer, learning off. */
export const kernelVxlan: TunnelImpl = {
  name: 'kernel VXLAN',
  wire: 'vxlan',
  overhead: ENCAP_OVERHEAD.vxlan,
  async setup(t, self) {
    const h = t.hosts[self];
    const p = t.hosts[other(self)];
    const dev = 'vxlan.calico';
    await ipn(h.ns, 'link', 'add', dev, 'type', 'vxlan', 'id', String(VNI), 'dstport', String(VXLAN_PORT), 'local', h.underlayIP, 'dev', 'eth0', 'nolearning');
    // Its routes, neighbours and FDB entries go with the device.
    const close = async () => void (await run(['ip', '-n', h.ns, 'link', 'del', dev], { allowFail: true }));
    try {
      await ipn(h.ns, 'link', 'set', dev, 'address', h.vtepMac, 'mtu', String(tunnelMtu(t.hostMtu, 'vxlan')), 'up');
      await ipn(h.ns, 'addr', 'add', `${h.tunnelIP}/32`, 'dev', dev);
      await ipn(h.ns, 'neigh', 'add', p.tunnelIP, 'lladdr', p.vtepMac, 'dev', dev, 'nud', 'permanent');
      await run(['bridge', 'fdb', 'add', p.vtepMac, 'dev', dev, 'dst', p.underlayIP, 'self', 'permanent'], { netns: h.ns });
      await ipn(h.ns, 'route', 'add', p.block, 'via', p.tunnelIP, 'dev', dev, 'onlink');
    } catch (err) {
      await close();
      throw err;
    }
    return { close };
  },
};

function ebpf(kind: EncapKind): TunnelImpl {
  return {
    name: `eBPF ${kind === 'ipip' ? 'IPIP' : 'VXLAN'}`,
    wire: kind,
    overhead: ENCAP_OVERHEAD[kind],
    async setup(t, self) {
      const h = t.hosts[self];
      const p = t.hosts[other(self)];
      const host = new HostProgram({ ifname: 'eth0', netns: h.ns, ifindex: h.ifindex });
      const bpf = new BpfEncap(host, { nodeIP: h.underlayIP, vtepMac: h.vtepMac, entries: [], realms: [] });
      await host.load([bpf]);
      const route = tunnelRoute({ block: p.block, remoteIP: p.underlayIP, kind, dev: 'eth0', hostMtu: t.hostMtu });
      try {
        await bpf.setEntries([{ block: p.block, remoteIP: p.underlayIP, kind, ...(kind === 'vxlan' ? { vtepMac: p.vtepMac } : {}) }]);
        await ipn(h.ns, 'route', 'add', route.dst, 'via', route.gateway, 'dev', route.dev, 'onlink', 'mtu', String(route.mtu));
      } catch (err) {
        await host.close();
        throw err;
      }
      return {
        host,
        bpf,
        async close() {
          try {
            await run(['ip', '-n', h.ns, 'route', 'del', route.dst], { allowFail: true });
          } finally {
            await host.close();
          }
        },
      };
    },
  };
}

export const ebpfIpip = ebpf('ipip');
export const ebpfVxlan = ebpf('vxlan');
export const PATHS: readonly PathImpl[] = [plainRouting, ebpfIpip, ebpfVxlan, kernelVxlan];
