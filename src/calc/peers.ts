// Which BGP sessions a node must have, from the resources alone (Calico's rules, see
// reference/calico-behaviour.md "Which sessions a node has"). Pure: no I/O.
import { parseCidr, parsePeerIP, type Family } from '../api/net.js';
import { matchesSelector } from '../api/selector.js';
import type { BGPConfiguration, BGPPeer, Node, NextHopMode, SecretKeyRef } from '../api/types.js';
import { DEFAULTS } from '../api/types.js';
import { durationSeconds, effectiveBgpConfig, nodeAsNumber } from './bgp-config.js';

export type PeerType = 'node-to-node mesh' | 'global' | 'node specific';

export interface DesiredPeer {
  /** Calico's protocol name: `Mesh_10_0_0_2`, `Global_…`, `Node_…`, `_port_N` when not 179. */
  name: string;
  type: PeerType;
  family: Family;
  address: string;
  port: number;
  asn: number;
  localAsn: number;
  /** This node's address of the same family (the session's source with sourceAddress UseNodeIP). */
  localAddress?: string;
  /** Wait for the peer to connect (the greater node IP, as a string, waits). */
  passive: boolean;
  /** This node is a route reflector and the peer is one of its clients. */
  rrClient: boolean;
  /** The Calico node at the other end, when it is one. */
  remoteNode?: string;
  password?: SecretKeyRef;
  ttlSecurity?: number;
  nextHopMode: NextHopMode;
  maxRestartTime: number;
  keepaliveTime?: number;
  allowLocalAs: number;
  filters: string[];
  reachableBy?: string;
  /** The BGPPeer resource this came from (absent for mesh sessions). */
  source?: string;
}

export interface PeerInputs {
  nodeName: string;
  nodes: Node[];
  peers: BGPPeer[];
  configs: BGPConfiguration[];
}

interface NodeInfo {
  node: Node;
  name: string;
  labels: Record<string, string>;
  addr: Partial<Record<Family, string>>;
  asn: number;
  clusterId: string;
  listenPort: number;
}

function nodeInfo(node: Node, configs: BGPConfiguration[]): NodeInfo {
  const bgp = node.spec.bgp ?? {};
  const addr: Partial<Record<Family, string>> = {};
  if (bgp.ipv4Address) addr[4] = parseCidr(bgp.ipv4Address)?.address;
  if (bgp.ipv6Address) addr[6] = parseCidr(bgp.ipv6Address)?.address;
  return {
    node,
    name: node.metadata.name,
    labels: node.metadata.labels ?? {},
    addr,
    asn: nodeAsNumber(node, configs),
    clusterId: bgp.routeReflectorClusterID ?? '',
    listenPort: effectiveBgpConfig(configs, node.metadata.name).listenPort,
  };
}

export function sessionName(prefix: 'Mesh' | 'Global' | 'Node', address: string, port: number): string {
  return `${prefix}_${address.replace(/[.:]/g, '_')}${port !== DEFAULTS.listenPort ? `_port_${port}` : ''}`;
}

/** Does the BGPPeer's local side (node / nodeSelector / neither = every node) select this node? */
function selectsLocal(peer: BGPPeer, n: NodeInfo): boolean {
  if (peer.spec.node !== undefined) return peer.spec.node === n.name;
  if (peer.spec.nodeSelector !== undefined) return matchesSelector(peer.spec.nodeSelector, n.labels);
  return true;
}

const isGlobal = (p: BGPPeer) => p.spec.node === undefined && p.spec.nodeSelector === undefined;

export function desiredPeers(input: PeerInputs): DesiredPeer[] {
  const infos = input.nodes.map((n) => nodeInfo(n, input.configs));
  const me = infos.find((n) => n.name === input.nodeName);
  if (!me) return [];
  const conf = effectiveBgpConfig(input.configs, me.name);
  const others = infos.filter((n) => n !== me);
  const byAddress = new Map<string, NodeInfo>();
  for (const n of others) for (const a of Object.values(n.addr)) if (a) byAddress.set(a, n);

  const base = (family: Family, address: string, asn: number, remote?: NodeInfo) => ({
    family,
    address,
    asn,
    localAsn: me.asn,
    localAddress: me.addr[family],
    // Calico's rule: between two nodes, the greater IP (compared as strings) listens.
    passive: remote !== undefined && me.addr[family] !== undefined && me.addr[family]! > address,
    rrClient: me.clusterId !== '' && asn === me.asn && (remote?.clusterId ?? '') !== me.clusterId,
    remoteNode: remote?.name,
  });

  const fromResource = (peer: BGPPeer, family: Family, address: string, port: number, asn: number, remote?: NodeInfo): DesiredPeer => ({
    ...base(family, address, asn, remote),
    name: sessionName(isGlobal(peer) ? 'Global' : 'Node', address, port),
    type: isGlobal(peer) ? 'global' : 'node specific',
    port,
    localAsn: peer.spec.localASNumber ?? me.asn,
    password: peer.spec.password,
    ttlSecurity: peer.spec.ttlSecurity,
    nextHopMode: peer.spec.nextHopMode ?? (peer.spec.keepOriginalNextHop ? 'Keep' : 'Auto'),
    maxRestartTime: durationSeconds(peer.spec.maxRestartTime, DEFAULTS.maxRestartTime),
    keepaliveTime: peer.spec.keepaliveTime ? durationSeconds(peer.spec.keepaliveTime, DEFAULTS.keepaliveTime) : undefined,
    allowLocalAs: peer.spec.numAllowedLocalASNumbers ?? 0,
    filters: peer.spec.filters ?? [],
    reachableBy: peer.spec.reachableBy,
    source: peer.metadata.name,
  });

  const explicit: DesiredPeer[] = [];
  // Global peers first, then node-specific ones (Calico's order: a node-specific peer at
  // the same IP:port as a global one is skipped).
  const ordered = [...input.peers.filter(isGlobal), ...input.peers.filter((p) => !isGlobal(p))];
  for (const peer of ordered) {
    if (peer.spec.peerIP !== undefined) {
      if (!selectsLocal(peer, me)) continue;
      const ip = parsePeerIP(peer.spec.peerIP);
      if (!ip) continue;
      const remote = byAddress.get(ip.address);
      explicit.push(fromResource(peer, ip.family, ip.address, ip.port ?? remote?.listenPort ?? DEFAULTS.listenPort, peer.spec.asNumber!, remote));
      continue;
    }
    const sel = peer.spec.peerSelector;
    if (sel === undefined) continue;
    // Forward: this node is on the local side; peer with every node the selector picks.
    // Reverse: this node is picked; peer back with every node on the local side.
    const targets = new Set<NodeInfo>();
    if (selectsLocal(peer, me)) for (const n of others) if (matchesSelector(sel, n.labels)) targets.add(n);
    if (matchesSelector(sel, me.labels)) for (const n of others) if (selectsLocal(peer, n)) targets.add(n);
    for (const n of targets) {
      for (const family of [4, 6] as const) {
        if (n.addr[family] && me.addr[family]) explicit.push(fromResource(peer, family, n.addr[family]!, n.listenPort, n.asn, n));
      }
    }
  }

  const mesh: DesiredPeer[] = [];
  // A route reflector has no mesh at all, and nobody meshes with route reflectors.
  if (conf.meshEnabled && me.clusterId === '') {
    for (const n of others) {
      if (n.clusterId !== '') continue;
      for (const family of [4, 6] as const) {
        const address = n.addr[family];
        if (!address || !me.addr[family]) continue;
        mesh.push({
          ...base(family, address, n.asn, n),
          name: sessionName('Mesh', address, n.listenPort),
          type: 'node-to-node mesh',
          port: n.listenPort,
          password: conf.meshPassword,
          nextHopMode: 'Auto',
          maxRestartTime: conf.meshMaxRestartTime,
          allowLocalAs: 0,
          filters: [],
        });
      }
    }
  }

  const own = new Set(Object.values(me.addr));
  const seen = new Set<string>();
  const out: DesiredPeer[] = [];
  for (const p of [...explicit, ...mesh]) {
    const key = `${p.address}:${p.port}`;
    if (own.has(p.address) || seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}
