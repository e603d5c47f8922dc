// Two nodes joined by an IPv6-only underlay with a workload each, and what the agent
// would declare on them for IPv6 VXLAN: shared by the vxlan-v6 and IPv6 PMTU tests.

import assert from 'node:assert/strict';
import { Dataplane, type DesiredDataplane } from '../../src/dataplane/dataplane.js';
import type { DataplaneMode } from '../../src/dataplane/dataplane-plan.js';
import { vtepMac } from '../../src/dataplane/encap/vtep-mac.js';
import { ping6 } from './encap-topology.js';
import { run } from './netlink-netns.js';

export const inNs = (ns: string, ...args: string[]) => run('ip', 'netns', 'exec', ns, ...args);

export interface Node6 {
  name: string;
  ns: string;
  wl: string;
  nodeIP: string;
  block: string;
  tunnelIP: string;
  mac: string;
  workloadIP: string;
}

/** Two nodes joined by a veth carrying only IPv6 (fd00:<x>::1 and ::2 /64), a workload each. */
export function buildNodes(tag: string, x: number): Node6[] {
  const nodes: Node6[] = [1, 2].map((i) => ({
    name: `n${i}-${tag}`, ns: `tbt-vx6-${tag}-n${i}`, wl: `tbt-vx6-${tag}-w${i}`,
    nodeIP: `fd00:${x}::${i}`, block: `fd00:${x}:244:${i}::/122`, tunnelIP: `fd00:${x}:244:${i}::`,
    mac: vtepMac(`n${i}-${tag}-v6`), workloadIP: `fd00:${x}:244:${i}::5`,
  }));
  for (const n of nodes) {
    run('ip', 'netns', 'add', n.ns);
    run('ip', 'netns', 'add', n.wl);
  }
  const [a, b] = nodes as [Node6, Node6];
  run('ip', 'link', 'add', 'eth0', 'netns', a.ns, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b.ns);
  for (const n of nodes) {
    inNs(n.ns, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1');
    run('ip', '-n', n.ns, 'link', 'set', 'lo', 'up');
    run('ip', '-n', n.ns, 'addr', 'add', `${n.nodeIP}/64`, 'dev', 'eth0', 'nodad');
    run('ip', '-n', n.ns, 'link', 'set', 'eth0', 'up');
    // The workload: its pool address, default route via the host side's link-local
    // address (what tabby-cni sets up for IPv6).
    run('ip', 'link', 'add', 'wl0', 'netns', n.ns, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n.wl);
    run('ip', '-n', n.ns, 'addr', 'add', 'fe80::1/64', 'dev', 'wl0', 'nodad');
    run('ip', '-n', n.ns, 'link', 'set', 'wl0', 'up');
    run('ip', '-n', n.ns, 'route', 'add', `${n.workloadIP}/128`, 'dev', 'wl0');
    run('ip', '-n', n.wl, 'link', 'set', 'lo', 'up');
    run('ip', '-n', n.wl, 'addr', 'add', `${n.workloadIP}/128`, 'dev', 'eth0', 'nodad');
    run('ip', '-n', n.wl, 'link', 'set', 'eth0', 'up');
    run('ip', '-n', n.wl, 'route', 'add', 'default', 'via', 'fe80::1', 'dev', 'eth0');
  }
  return nodes;
}

export function destroyNodes(nodes: readonly Node6[]): void {
  for (const n of nodes) {
    for (const ns of [n.wl, n.ns]) {
      try {
        run('ip', 'netns', 'del', ns);
      } catch {
        /* already gone */
      }
    }
  }
}

/** What the agent would declare on `self`: its blackhole and VTEP, the peer's block over IPv6 VXLAN. */
export function desired(self: Node6, peer: Node6): DesiredDataplane {
  return {
    routes: [
      { kind: 'blackhole', dst: self.block },
      { kind: 'vxlan', dst: peer.block, vtep: { node: peer.name, nodeIP: peer.nodeIP, tunnelIP: peer.tunnelIP, mac: peer.mac, blocks: [peer.block] } },
    ],
    localVtepV6: { tunnelIP: self.tunnelIP, mac: self.mac },
    tunnelSources: [peer.nodeIP],
  };
}

/** A Dataplane per node in its mode, the routes declared, and one warm-up ping each way. */
export async function startPlanes(nodes: readonly Node6[], modes: readonly DataplaneMode[], planes: Dataplane[]): Promise<void> {
  for (const [i, n] of nodes.entries()) {
    const dp = new Dataplane({ mode: modes[i]!, netns: n.ns, nodeName: n.name, hostIfname: 'eth0', nodeIP: n.nodeIP, hostMtu: 1500 });
    planes.push(dp);
    await dp.start();
    const r = await dp.set(desired(n, nodes[1 - i]!));
    assert.deepStrictEqual(r.errors, [], n.name);
  }
  // Neighbour discovery on fresh links may swallow the very first packets: one
  // bounded warm-up ping each way (not asserted; the tests are).
  for (const [from, to] of [[nodes[0]!, nodes[1]!], [nodes[1]!, nodes[0]!]] as const) ping6(from.wl, to.workloadIP, { count: 1 });
}
