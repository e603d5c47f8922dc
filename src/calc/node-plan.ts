// Trigger 1 of the agent: resources (and the node's own addresses) in, the node plan
// out — the speaker's identity, its peers with their export policy, what the node
// originates, what IPAM still has to claim, and the dataplane's side (resource routes,
// the context learned routes are judged in, the local VTEP, NAT pools). Pure: the
// agent carries the plan out; best-path changes never come through here.

import type { BfdTimers } from '../api/bfd-annotations.js';
import { cidrContains, parseCidr, parseIP } from '../api/net.js';
import { matchesSelector } from '../api/selector.js';
import type { BGPConfiguration, BGPFilter, BGPFilterSpec, BGPPeer, IPPool, Node, SecretKeyRef } from '../api/types.js';
import { effectiveBgpConfig, nodeAsNumber } from './bgp-config.js';
import { exportPolicy, ExportRule, serviceCidrs, type ExportPolicy } from './export-policy.js';
import { desiredPeers, type DesiredPeer, type PeerType } from './peers.js';
import { RouteContext, type RemoteVtep } from './routes.js';
import { blockAdvertisements } from './block-advertisements.js';

/** What calc needs of an IPAM block (Calico's IPAMBlock fields). */
export interface AffineBlock {
  spec: {
    cidr: string;
    affinity?: string | null;
    pool?: string;
    /** Address → handle; with `attributes[address].node`, which node holds a borrowed address. */
    allocations?: Record<string, string>;
    attributes?: Record<string, { node?: string }>;
  };
}

export interface NodeResources {
  nodes: Node[];
  configs: BGPConfiguration[];
  pools: IPPool[];
  blocks: AffineBlock[];
  peers: BGPPeer[];
  /** BGPFilter resources (absent: none). */
  filters?: BGPFilter[];
}

export interface NodeFacts {
  name: string;
  /** The node's addresses as CIDRs (IPv4, IPv6 or both). */
  cidrs: string[];
  /** The router ID when it is not the IPv4 address (CALICO_ROUTER_ID, or an IPv6-only node's; see agent/router-id.ts). */
  routerId?: string;
}

/** Settings a speaker is built with: when they change, the speaker is replaced. */
export interface SpeakerIdentity {
  routerId: string;
  asn: number;
  clusterId?: string;
  /** One listener on `address` ('::' takes both families), or one per node address (bindMode NodeIP). */
  listen: { address?: string; addresses?: string[]; port: number };
}

/** One session as the speaker takes it (the agent adds the MD5 key and the export function). */
export interface PlannedPeer {
  id: string;
  type: PeerType;
  address: string;
  port: number;
  remoteAsn: number;
  localAsn: number;
  localAddress?: string;
  passive: boolean;
  rrClient: boolean;
  ttlSecurity?: number;
  nextHopMode: DesiredPeer['nextHopMode'];
  keepaliveTime?: number;
  gracefulRestartTime: number;
  /** Long-lived graceful restart (RFC 9494) with this stale time; graceful restart time 0. */
  longLivedStaleTime?: number;
  allowLocalAs: number;
  /** The BGPPeer's prefix limit (tabby.io/max-prefixes) and what happens past it. */
  maxPrefixes?: number;
  maxPrefixesAction?: 'reset' | 'reject';
  password?: SecretKeyRef;
  /**
   * The peer's BGPFilters in its order, specs resolved. A name with no BGPFilter is left out,
   * as confd's buildImportFilter/buildExportFilter skip a filter they cannot read.
   */
  filters: { name: string; spec: BGPFilterSpec }[];
  export: ExportPolicy;
  /** BFD timers when the peer asked for BFDIfDirectlyConnected. */
  bfd?: BfdTimers;
}

export interface Origination {
  prefix: string;
  /** Community values as written in BGPConfiguration (standard `a:b` or large `a:b:c`). */
  communities: string[];
}

export interface IpamNeeds {
  /** Every pool that selects this node has one of its blocks here. */
  satisfied: boolean;
  /** Enabled pools selecting the node without a block of it. */
  missingPools: string[];
  /** An IPv4 VXLAN pool is in use and the node has no tunnel address yet. */
  vxlanTunnelAddress: boolean;
  /** An IPv6 VXLAN pool is in use and the node has no IPv6 tunnel address yet. */
  vxlanTunnelAddressV6: boolean;
}

export interface NodePlan {
  node: string;
  speaker: SpeakerIdentity;
  /** logSeverityScreen when a BGPConfiguration sets it (node.<name> over default): the BGP log level. */
  bgpLogSeverity?: string;
  peers: PlannedPeer[];
  originations: Origination[];
  ipam: IpamNeeds;
  /** Resource routes and the context for learned ones. */
  routes: RouteContext;
  localVtep?: { tunnelIP: string; mac: string };
  /** This node's IPv6 VTEP (ipv6VXLANTunnelAddr, vxlanTunnelMACAddrV6). */
  localVtepV6?: { tunnelIP: string; mac: string };
  /** Underlay addresses (both families) that may send this node IPIP and VXLAN (tunnelSources()). */
  tunnelSources: string[];
  natPools: { cidr: string; natOutgoing: boolean; disabled: boolean }[];
}

const affine = (b: AffineBlock, node: string) => b.spec.affinity === `host:${node}`;

/** Blocks affine to the node, in pools that still exist. */
export function localBlocks(node: string, res: Pick<NodeResources, 'blocks' | 'pools'>): string[] {
  return res.blocks.filter((b) => affine(b, node) && res.pools.some((p) => cidrContains(p.spec.cidr, b.spec.cidr))).map((b) => b.spec.cidr);
}

/** Does any enabled pool (of `family`, when given) want VXLAN? */
export function needsVxlan(pools: IPPool[], family?: 4 | 6): boolean {
  return pools.some((p) => !p.spec.disabled && p.spec.vxlanMode !== 'Never' && (family === undefined || parseCidr(p.spec.cidr)?.family === family));
}

/**
 * Does the node need a VXLAN tunnel address of `family`? As calico-node's allocateip
 * (a VXLAN pool of that family, handle `vxlan-tunnel-addr-NODE` or `vxlan-v6-tunnel-addr-NODE`),
 * once the node has a block of that family to take it from.
 */
export function needsVxlanTunnelAddress(me: Node, pools: IPPool[], blocks: readonly { spec: { cidr: string } }[], family: 4 | 6): boolean {
  const have = family === 4 ? me.spec.ipv4VXLANTunnelAddr : me.spec.ipv6VXLANTunnelAddr;
  return needsVxlan(pools, family) && !have && blocks.some((b) => parseCidr(b.spec.cidr)?.family === family);
}

/** Does the cache already hold a block of every pool that selects this node, and the VXLAN address if needed? */
export function ipamNeeds(me: Node, res: Pick<NodeResources, 'blocks' | 'pools'>): IpamNeeds {
  const name = me.metadata.name;
  const labels = me.metadata.labels ?? {};
  const mine = res.blocks.filter((b) => affine(b, name));
  const missingPools = res.pools
    .filter((pool) => !pool.spec.disabled && matchesSelector(pool.spec.nodeSelector, labels))
    .filter((pool) => !mine.some((b) => b.spec.pool === pool.metadata.name && cidrContains(pool.spec.cidr, b.spec.cidr)))
    .map((p) => p.metadata.name);
  const vxlanTunnelAddress = needsVxlanTunnelAddress(me, res.pools, mine, 4);
  const vxlanTunnelAddressV6 = needsVxlanTunnelAddress(me, res.pools, mine, 6);
  return { satisfied: missingPools.length === 0 && !vxlanTunnelAddress && !vxlanTunnelAddressV6, missingPools, vxlanTunnelAddress, vxlanTunnelAddressV6 };
}

/**
 * The node's own advertisements: each affine block and each borrowed address (not from a
 * disableBGPExport pool) and the service CIDRs, with communities from prefixAdvertisements
 * (by name or literal value).
 */
export function originations(node: string, res: Pick<NodeResources, 'blocks' | 'pools' | 'configs'>): Origination[] {
  const spec = effectiveBgpConfig(res.configs, node).spec;
  const named = new Map((spec.communities ?? []).map((c) => [c.name, c.value]));
  const rule = new ExportRule(exportPolicy(res.pools, res.configs, node, res.blocks));
  const { blocks, borrowed } = blockAdvertisements(node, res.blocks, res.pools.map((p) => p.spec.cidr));
  const prefixes = [...[...blocks, ...borrowed].filter((p) => rule.allows(p)), ...serviceCidrs(res.configs, node)];
  return [...new Set(prefixes)].map((prefix) => ({
    prefix,
    communities: (spec.prefixAdvertisements ?? [])
      .filter((a) => cidrContains(a.cidr, prefix))
      .flatMap((a) => a.communities.map((c) => named.get(c) ?? c)),
  }));
}

/**
 * Remote VTEPs: every other node with a VXLAN tunnel address, MAC and blocks, per family.
 * An IPv6 VTEP is the node's IPv6 address with ipv6VXLANTunnelAddr and vxlanTunnelMACAddrV6,
 * for its IPv6 blocks (Felix's VXLANTunnelEndpointUpdate Ipv6Addr/ParentDeviceIpv6/MacV6,
 * felix/calc/vxlan_resolver.go; vxlan_mgr.go takes the ipVersion 6 fields).
 */
export function remoteVteps(node: string, res: Pick<NodeResources, 'nodes' | 'blocks' | 'pools'>): RemoteVtep[] {
  const out: RemoteVtep[] = [];
  for (const n of res.nodes) {
    if (n.metadata.name === node) continue;
    const families = [
      [4, n.spec.bgp?.ipv4Address, n.spec.ipv4VXLANTunnelAddr, n.spec.vxlanTunnelMACAddr],
      [6, n.spec.bgp?.ipv6Address, n.spec.ipv6VXLANTunnelAddr, n.spec.vxlanTunnelMACAddrV6],
    ] as const;
    let adv: { blocks: string[]; borrowed: string[] } | undefined;
    for (const [family, address, tunnelIP, mac] of families) {
      const nodeIP = address ? parseCidr(address)?.address : undefined;
      if (!nodeIP || !tunnelIP || !mac) continue;
      // Its blocks and the addresses it borrowed: VXLAN routes come from IPAM, not from BGP.
      adv ??= blockAdvertisements(n.metadata.name, res.blocks, res.pools.map((p) => p.spec.cidr));
      const blocks = [...adv.blocks, ...adv.borrowed].filter((c) => parseCidr(c)?.family === family);
      out.push({ node: n.metadata.name, nodeIP, tunnelIP, mac, blocks });
    }
  }
  return out;
}

/**
 * Underlay addresses (IPv4 and IPv6) that may send this node IPIP or VXLAN: every other node in
 * the datastore, whether or not it owns a block (a control-plane node, a route
 * reflector, a node just joining). Felix's counterpart is the all-hosts ipset that its
 * INPUT rules accept tunnel packets from (felix/rules/static.go, filterInputChain:
 * "Allow IPIP packets from Calico hosts", "Drop IPv4 VXLAN packets from non-allowed
 * hosts"), filled from each Node's BGP address and its other IPv4 addresses.
 */
export function tunnelSources(node: string, res: Pick<NodeResources, 'nodes'>): string[] {
  const out = new Set<string>();
  const add = (a: string | undefined) => {
    const c = a ? (parseCidr(a) ?? parseIP(a)) : undefined;
    if (c) out.add(c.address);
  };
  for (const n of res.nodes) {
    if (n.metadata.name === node) continue;
    add(n.spec.bgp?.ipv4Address);
    add(n.spec.bgp?.ipv6Address);
    for (const a of n.spec.addresses ?? []) add(a.address);
  }
  return [...out].sort();
}

/** A DesiredPeer in the speaker's terms, with the export policy it gets. */
export function plannedPeer(p: DesiredPeer, policy: ExportPolicy, filters: readonly BGPFilter[] = []): PlannedPeer {
  const byName = new Map(filters.map((f) => [f.metadata.name, f.spec]));
  const out: PlannedPeer = {
    id: p.name,
    type: p.type,
    address: p.address,
    port: p.port,
    remoteAsn: p.asn,
    localAsn: p.localAsn,
    passive: p.passive,
    rrClient: p.rrClient,
    nextHopMode: p.nextHopMode,
    gracefulRestartTime: p.maxRestartTime,
    allowLocalAs: p.allowLocalAs,
    filters: p.filters.flatMap((name) => (byName.has(name) ? [{ name, spec: byName.get(name)! }] : [])),
    export: policy,
  };
  if (p.localAddress !== undefined) out.localAddress = p.localAddress;
  if (p.ttlSecurity !== undefined) out.ttlSecurity = p.ttlSecurity;
  if (p.keepaliveTime !== undefined) out.keepaliveTime = p.keepaliveTime;
  if (p.password !== undefined) out.password = p.password;
  if (p.bfd !== undefined) out.bfd = p.bfd;
  if (p.longLivedStaleTime !== undefined) out.longLivedStaleTime = p.longLivedStaleTime;
  if (p.maxPrefixes !== undefined) {
    out.maxPrefixes = p.maxPrefixes;
    out.maxPrefixesAction = p.maxPrefixesAction === 'Reject' ? 'reject' : 'reset';
  }
  return out;
}

/** The plan for `facts.name`, or undefined while its Node resource is not there. */
export function nodePlan(res: NodeResources, facts: NodeFacts): NodePlan | undefined {
  const name = facts.name;
  const me = res.nodes.find((n) => n.metadata.name === name);
  const own = facts.cidrs.map((c) => parseCidr(c)).filter((c) => c !== undefined);
  const v4 = own.find((c) => c.family === 4);
  const routerId = facts.routerId ?? v4?.address;
  if (!me || own.length === 0 || !routerId) return undefined;
  const conf = effectiveBgpConfig(res.configs, name);
  const clusterId = me.spec.bgp?.routeReflectorClusterID;
  // bindMode NodeIP: BIRD listens on the node IP of its family (confd bird.cfg and bird6.cfg
  // templates, `listen bgp address`), so a dual-stack node listens on both.
  const listen = conf.bindMode === 'NodeIP'
    ? { addresses: [...own].sort((a, b) => a.family - b.family).map((c) => c.address), port: conf.listenPort }
    : { address: '::', port: conf.listenPort };
  const speaker: SpeakerIdentity = {
    routerId,
    asn: nodeAsNumber(me, res.configs),
    listen,
    ...(clusterId ? { clusterId } : {}),
  };
  const policy = exportPolicy(res.pools, res.configs, name, res.blocks);
  const peers = desiredPeers({ nodeName: name, nodes: res.nodes, peers: res.peers, configs: res.configs }).map((p) => plannedPeer(p, policy, res.filters));
  const routes = new RouteContext({ nodeCidrs: facts.cidrs, pools: res.pools, localBlocks: localBlocks(name, res), vteps: remoteVteps(name, res) });
  const plan: NodePlan = {
    node: name,
    speaker,
    peers,
    originations: originations(name, res),
    ipam: ipamNeeds(me, res),
    routes,
    tunnelSources: tunnelSources(name, res),
    natPools: res.pools.map((p) => ({ cidr: p.spec.cidr, natOutgoing: p.spec.natOutgoing, disabled: p.spec.disabled })),
  };
  if (conf.spec.logSeverityScreen) plan.bgpLogSeverity = conf.logSeverity;
  if (me.spec.ipv4VXLANTunnelAddr && me.spec.vxlanTunnelMACAddr) plan.localVtep = { tunnelIP: me.spec.ipv4VXLANTunnelAddr, mac: me.spec.vxlanTunnelMACAddr };
  if (me.spec.ipv6VXLANTunnelAddr && me.spec.vxlanTunnelMACAddrV6) plan.localVtepV6 = { tunnelIP: me.spec.ipv6VXLANTunnelAddr, mac: me.spec.vxlanTunnelMACAddrV6 };
  return plan;
}
