// The natOutgoing lab, for the NAT test table and the NAT benchmark:
//
//   natWorkloads 10.66.1.2… ─┐                                ┌─ remote 10.66.2.2
//   plain        10.67.1.2  ─┴─ node A 10.254.N.1 ── fabric ── node B 10.254.N.2
//                                                      │
//                                               external 10.254.N.100
//
// Pool 10.66.0.0/16 has natOutgoing, pool 10.67.0.0/16 not; with `ipv6`, the same in
// IPv6: fd00:66::/48 (natOutgoing), fd00:67::/48, nodes on fd00:254::/64 (::1, ::2,
// external ::100), workloads fd00:66:0:1::2…, fd00:67:0:1::2, fd00:66:0:2::2, each with a
// default route to fe80::1 on its host-side veth. The nodes route each
// other's workload blocks (plain routes, no tunnel); the external host has only its
// connected /24, so it can answer the node address and nothing in a pool. The nodes'
// default route points at it.
// Everything lives in namespaces named `${prefix}-…`; destroy() deletes them all.

import { randomBytes } from 'node:crypto';
import { addWorkload, deleteNetns, Fabric, listNetns, type LabHost, type LabWorkload } from '../lab/topology.js';
import { ip, run } from '../util/exec.js';
import type { NatPool } from '../dataplane/nat/nat-pools.js';
import { UsageError } from '../errors.js';
import { BenchError } from './common.js';

export const NAT_POOL = '10.66.0.0/16';
export const PLAIN_POOL = '10.67.0.0/16';
export const NAT_POOL6 = 'fd00:66::/48';
export const PLAIN_POOL6 = 'fd00:67::/48';

/** A workload, with its IPv6 address when the topology has IPv6. */
export interface NatLabWorkload extends LabWorkload {
  address6?: string;
}

/** A host, with its IPv6 address on the fabric when the topology has IPv6. */
export interface NatLabHost extends LabHost {
  address6?: string;
}

export interface NatTopology {
  prefix: string;
  fabric: Fabric;
  nodeA: NatLabHost;
  nodeB: NatLabHost;
  external: NatLabHost;
  /** Workloads on node A in the natOutgoing pool. */
  natWorkloads: NatLabWorkload[];
  /** A workload on node A in the pool without natOutgoing. */
  plainWorkload: NatLabWorkload;
  /** A workload on node B in the natOutgoing pool (pool-to-pool traffic). */
  remoteWorkload: NatLabWorkload;
  /** The pools as the dataplanes are given them. */
  pools: NatPool[];
  namespaces: string[];
}

export interface NatTopologyOptions {
  /** Namespace name prefix (default `tbn-` and 6 random hex digits). */
  prefix?: string;
  /** How many natOutgoing workloads on node A (default 4). */
  natWorkloads?: number;
  /** Third octet of the fabric subnet 10.254.N.0/24 (default 1). */
  subnet?: number;
  /** Also IPv6 addresses, routes and pools (default true). */
  ipv6?: boolean;
}

export async function buildNatTopology(opts: NatTopologyOptions = {}): Promise<NatTopology> {
  const prefix = opts.prefix ?? `tbn-${randomBytes(3).toString('hex')}`;
  const n = opts.subnet ?? 1;
  const count = opts.natWorkloads ?? 4;
  if (!Number.isInteger(count) || count < 1 || count > 200) throw new UsageError('natWorkloads must be 1..200');
  const fabric = new Fabric(prefix);
  const namespaces: string[] = [];
  const t: Partial<NatTopology> = { prefix, fabric, namespaces, natWorkloads: [] };
  try {
    await fabric.create();
    const v6 = opts.ipv6 !== false;
    const host = async (name: string, last: number): Promise<NatLabHost> => {
      const h: NatLabHost = await fabric.addHost(name, `10.254.${n}.${last}/24`);
      namespaces.push(h.netns);
      if (v6) {
        h.address6 = `fd00:254::${last}`;
        await ip(['-6', 'addr', 'add', `${h.address6}/64`, 'dev', h.ifname, 'nodad'], h.netns);
      }
      return h;
    };
    const wl = async (h: LabHost, name: string, address: string, address6: string): Promise<NatLabWorkload> => {
      const netns = `${prefix}-${name}`;
      namespaces.push(netns);
      const w: NatLabWorkload = await addWorkload(h, netns, address);
      if (v6) {
        // Calico's IPv6 shape: a /128 in the workload, a link-local gateway on the host side.
        await ip(['-6', 'addr', 'add', 'fe80::1/64', 'dev', w.hostIfname, 'nodad'], h.netns);
        await ip(['-6', 'route', 'add', `${address6}/128`, 'dev', w.hostIfname], h.netns);
        await ip(['-6', 'addr', 'add', `${address6}/128`, 'dev', 'eth0', 'nodad'], netns);
        await ip(['-6', 'route', 'add', 'default', 'via', 'fe80::1', 'dev', 'eth0'], netns);
        w.address6 = address6;
      }
      return w;
    };
    t.nodeA = await host('na', 1);
    t.nodeB = await host('nb', 2);
    t.external = await host('ext', 100);
    for (let i = 0; i < count; i++) t.natWorkloads!.push(await wl(t.nodeA, `wn${i}`, `10.66.1.${i + 2}`, `fd00:66:0:1::${(i + 2).toString(16)}`));
    t.plainWorkload = await wl(t.nodeA, 'wp', '10.67.1.2', 'fd00:67:0:1::2');
    t.remoteWorkload = await wl(t.nodeB, 'wr', '10.66.2.2', 'fd00:66:0:2::2');
    await ip(['route', 'add', '10.66.2.0/24', 'via', t.nodeB.address], t.nodeA.netns);
    await ip(['route', 'add', '10.66.1.0/24', 'via', t.nodeA.address], t.nodeB.netns);
    await ip(['route', 'add', '10.67.1.0/24', 'via', t.nodeA.address], t.nodeB.netns);
    // The external host is the nodes' way out. Also what proxy ARP needs: a host
    // answers for the workloads' gateway 169.254.1.1 only if it has a route to it.
    for (const h of [t.nodeA, t.nodeB]) await ip(['route', 'add', 'default', 'via', t.external.address], h.netns);
    if (v6) {
      await ip(['-6', 'route', 'add', 'fd00:66:0:2::/64', 'via', t.nodeB.address6!], t.nodeA.netns);
      await ip(['-6', 'route', 'add', 'fd00:66:0:1::/64', 'via', t.nodeA.address6!], t.nodeB.netns);
      await ip(['-6', 'route', 'add', 'fd00:67:0:1::/64', 'via', t.nodeA.address6!], t.nodeB.netns);
      for (const h of [t.nodeA, t.nodeB]) await ip(['-6', 'route', 'add', 'default', 'via', t.external.address6!], h.netns);
      await run(['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=0'], { netns: t.external.netns });
    }
    // The external host is a plain end host, not a router.
    await run(['sysctl', '-qw', 'net.ipv4.ip_forward=0'], { netns: t.external.netns });
    t.pools = [
      { cidr: NAT_POOL, natOutgoing: true },
      { cidr: PLAIN_POOL, natOutgoing: false },
      ...(v6 ? [{ cidr: NAT_POOL6, natOutgoing: true }, { cidr: PLAIN_POOL6, natOutgoing: false }] : []),
    ];
    return t as NatTopology;
  } catch (err) {
    await destroyNatTopology(t).catch(() => undefined);
    throw err;
  }
}

export async function destroyNatTopology(t: Partial<NatTopology>): Promise<void> {
  // Workloads first, then hosts, then the fabric (their veth peers go with them).
  for (const ns of [...(t.namespaces ?? [])].reverse()) await deleteNetns(ns);
  await t.fabric?.destroy();
  // deleteNetns ignores failures: sweep once more by prefix, and say if any stayed.
  if (!t.prefix) return;
  for (const ns of await listNetns(`${t.prefix}-`)) await deleteNetns(ns);
  const left = await listNetns(`${t.prefix}-`);
  if (left.length > 0) throw new BenchError(`namespaces left behind: ${left.join(', ')}`);
}
