// Which BGP sessions a node must have, from the resources alone, as calico-node's confd
// decides them. Pure: no I/O.
import { BFD_DEFAULT_TIMERS, bfdTimers, type BfdTimers } from '../api/bfd-annotations.js';
import { parseCidr, parsePeerIP, type Family } from '../api/net.js';
import { matchesSelector } from '../api/selector.js';
import type { BGPConfiguration, BGPPeer, Node, NextHopMode, SecretKeyRef } from '../api/types.js';
import { DEFAULTS } from '../api/types.js';
import { effectiveBgpConfig, keepaliveSeconds, longLivedSeconds, nodeAsNumber, passwordRef, restartSeconds } from './bgp-config.js';
import { peerLimits, type MaxPrefixesAction } from '../api/peer-annotations.js';

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
  /** Wait for the peer to connect: toward a Calico node whose IP is greater, as a string. */
  passive: boolean;
  /** This node is a route reflector and the peer is one of its clients. */
  rrClient: boolean;
  /** The Calico node at the other end, when it is one. */
  remoteNode?: string;
  password?: SecretKeyRef;
  ttlSecurity?: number;
  nextHopMode: NextHopMode;
  maxRestartTime: number;
  /** restartMode LongLivedGracefulRestart: the long-lived stale time we ask for (our restart time is then 0). */
  longLivedStaleTime?: number;
  keepaliveTime?: number;
  allowLocalAs: number;
  filters: string[];
  reachableBy?: string;
  /** From the BGPPeer's tabby.io/max-prefixes annotations (api/peer-annotations.ts). */
  maxPrefixes?: number;
  maxPrefixesAction?: MaxPrefixesAction;
  /** The BGPPeer resource this came from (absent for mesh sessions). */
  source?: string;
  /** failureDetectionMode BFDIfDirectlyConnected: BFD with these timers when the peer is on a connected subnet. */
  bfd?: BfdTimers;
}

/** spec.restartMode LongLivedGracefulRestart: maxRestartTime is the long-lived stale time (bgp-config.ts). */
function longLivedOf(peer: BGPPeer): { longLivedStaleTime?: number } {
  if (peer.spec.restartMode !== 'LongLivedGracefulRestart') return {};
  return { longLivedStaleTime: longLivedSeconds(peer.spec.maxRestartTime) };
}

/** A stored resource passed validation; should one not have, BFD still runs, with the defaults. */
function bfdOf(peer: BGPPeer): { bfd?: BfdTimers } {
  if (peer.spec.failureDetectionMode !== 'BFDIfDirectlyConnected') return {};
  try {
    return { bfd: bfdTimers(peer.metadata.annotations) };
  } catch {
    return { bfd: { ...BFD_DEFAULT_TIMERS } };
  }
}

/** The annotations were checked on apply; one written around that check counts as absent. */
function limitsOf(peer: BGPPeer): ReturnType<typeof peerLimits> {
  try {
    return peerLimits(peer.metadata.annotations);
  } catch {
    return {};
  }
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

/**
 * The nodes a peerIP BGPPeer points at: same address, same AS (an unset AS means the cluster
 * default) and, when the peerIP names a port, that node's listen port (confd client.go
 * nodesWithIPPortAndAS).
 */
function nodesAt(peer: BGPPeer, infos: NodeInfo[], defaultAs: number): NodeInfo[] {
  const ip = parsePeerIP(peer.spec.peerIP!);
  if (!ip) return [];
  const asn = peer.spec.asNumber || defaultAs;
  return infos.filter((n) => n.addr[ip.family] === ip.address && n.asn === asn && (ip.port === undefined || ip.port === n.listenPort));
}

/**
 * The sessions this node must have. BGPPeer-derived peerings follow confd's client.go
 * updatePeersV1: global peerings first, then node-specific ones, then the reverse peerings
 * that keep sessions between Calico nodes symmetric; the first peering to an IP:port wins.
 * Passive ends follow the bird.cfg template (confd bgp_processor.go): a node waits for a mesh
 * peer, or for a global peerIP peer that is a Calico node, whose IP compares greater as a string.
 */
export function desiredPeers(input: PeerInputs): DesiredPeer[] {
  const infos = input.nodes.map((n) => nodeInfo(n, input.configs));
  const me = infos.find((n) => n.name === input.nodeName);
  if (!me) return [];
  const conf = effectiveBgpConfig(input.configs, me.name);
  const others = infos.filter((n) => n !== me);
  const byAddress = new Map<string, NodeInfo>();
  for (const n of infos) for (const a of Object.values(n.addr)) if (a) byAddress.set(a, n);
  // "Passive when the peer's IP is greater", compared as strings (`{{if gt $onode_ip $node_ip}}`).
  const peerIsGreater = (family: Family, address: string) => me.addr[family] !== undefined && address > me.addr[family]!;

  const fromResource = (
    peer: BGPPeer,
    prefix: 'Global' | 'Node',
    family: Family,
    address: string,
    port: number,
    asn: number,
    opts: { remote?: NodeInfo; passive?: boolean; remoteClusterId?: string },
  ): DesiredPeer => {
    const localAsn = peer.spec.localASNumber || me.asn;
    return {
      name: sessionName(prefix, address, port),
      type: prefix === 'Global' ? 'global' : 'node specific',
      family,
      address,
      port,
      asn,
      localAsn,
      // bgp_processor.go buildPeerFromData: `source address` only with UseNodeIP (the default).
      localAddress: peer.spec.sourceAddress === 'None' ? undefined : me.addr[family],
      passive: opts.passive ?? false,
      // bgp_processor.go: an iBGP peer is a route reflector client unless it carries this
      // node's cluster id; only peers that are Calico nodes by selector carry one.
      rrClient: me.clusterId !== '' && asn === localAsn && (opts.remoteClusterId ?? '') !== me.clusterId,
      remoteNode: opts.remote?.name,
      password: passwordRef(peer.spec.password),
      // bgp_processor.go: TTLSecurity > 0 is `ttl security on; multihop N`, 0 is off.
      ttlSecurity: peer.spec.ttlSecurity ? peer.spec.ttlSecurity : undefined,
      // bgp_processor.go: the legacy keepOriginalNextHop is `next hop keep` for eBGP peers only.
      nextHopMode: peer.spec.nextHopMode ?? (peer.spec.keepOriginalNextHop && asn !== localAsn ? 'Keep' : 'Auto'),
      maxRestartTime: restartSeconds(peer.spec.maxRestartTime),
      ...longLivedOf(peer),
      keepaliveTime: keepaliveSeconds(peer.spec.keepaliveTime),
      allowLocalAs: Math.max(0, peer.spec.numAllowedLocalASNumbers ?? 0),
      filters: peer.spec.filters ?? [],
      reachableBy: peer.spec.reachableBy,
      ...limitsOf(peer),
      source: peer.metadata.name,
      ...bfdOf(peer),
    };
  };

  /** Sessions to every address family both this node and `n` have. */
  const toNode = (peer: BGPPeer, prefix: 'Global' | 'Node', n: NodeInfo, families: readonly Family[] = [4, 6]) =>
    families.filter((f) => n.addr[f] && me.addr[f]).map((f) => fromResource(peer, prefix, f, n.addr[f]!, n.listenPort, n.asn, { remote: n, remoteClusterId: n.clusterId }));

  const forward = (peer: BGPPeer): DesiredPeer[] => {
    if (!selectsLocal(peer, me)) return [];
    const prefix = isGlobal(peer) ? 'Global' : 'Node';
    if (peer.spec.peerSelector !== undefined) return others.filter((n) => matchesSelector(peer.spec.peerSelector!, n.labels)).flatMap((n) => toNode(peer, prefix, n));
    if (peer.spec.peerIP === undefined) return [];
    const ip = parsePeerIP(peer.spec.peerIP);
    // A peer without an AS number gives BIRD `as 0`, which it refuses; configure no session.
    if (!ip || !peer.spec.asNumber) return [];
    const calicoNode = byAddress.get(ip.address);
    const target = nodesAt(peer, infos, conf.asNumber)[0];
    return [
      fromResource(peer, prefix, ip.family, ip.address, ip.port ?? target?.listenPort ?? DEFAULTS.listenPort, peer.spec.asNumber, {
        remote: calicoNode,
        passive: prefix === 'Global' && calicoNode !== undefined && peerIsGreater(ip.family, ip.address),
      }),
    ];
  };

  /** This node is on the remote side of `peer`: peer back with every node on its local side. */
  const reverse = (peer: BGPPeer): DesiredPeer[] => {
    if (peer.spec.reversePeering === 'Manual') return [];
    let families: Family[] = [4, 6];
    if (peer.spec.peerSelector !== undefined) {
      if (!matchesSelector(peer.spec.peerSelector, me.labels)) return [];
    } else if (peer.spec.peerIP !== undefined) {
      // No forward session without an AS number (see forward), so no reverse one either.
      if (!peer.spec.asNumber || !nodesAt(peer, infos, conf.asNumber).includes(me)) return [];
      families = [parsePeerIP(peer.spec.peerIP)!.family];
    } else {
      return [];
    }
    return infos.filter((n) => n !== me && selectsLocal(peer, n)).flatMap((n) => toNode(peer, 'Node', n, families));
  };

  const explicit = [
    ...input.peers.filter(isGlobal).flatMap(forward),
    ...input.peers.filter((p) => !isGlobal(p)).flatMap(forward),
    ...input.peers.flatMap(reverse),
  ];

  const mesh: DesiredPeer[] = [];
  // A route reflector has no mesh at all, and nobody meshes with route reflectors.
  if (conf.meshEnabled && me.clusterId === '') {
    for (const n of others) {
      if (n.clusterId !== '') continue;
      for (const family of [4, 6] as const) {
        const address = n.addr[family];
        if (!address || !me.addr[family]) continue;
        mesh.push({
          name: sessionName('Mesh', address, n.listenPort),
          type: 'node-to-node mesh',
          family,
          address,
          port: n.listenPort,
          asn: n.asn,
          localAsn: me.asn,
          localAddress: me.addr[family],
          passive: peerIsGreater(family, address),
          rrClient: false,
          remoteNode: n.name,
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
