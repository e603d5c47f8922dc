// From route intents (src/calc/routes.ts) to what each dataplane mode programs: kernel
// routes, eBPF route realms, kernel VXLAN peers. Pure: the kernel facts it needs (how
// the underlay reaches a node, whether tunl0 exists) and the realm numbering come in
// as arguments, so every mode's translation is tested with plain data.

import { Address6 } from 'ip-address';
import { isLinkLocal6, parseIP } from '../api/net.js';
import type { RouteIntent } from '../calc/routes.js';
import { ipv4ToU32 } from '../native/route-records.js';
import type { Route } from '../native/routes.js';
import type { EncapEntry, RealmEntry, RealmKind } from './encap/encap-map-codec.js';
import { ENCAP_OVERHEAD } from './encap/encap-mtu.js';
import type { DesiredNexthop, DesiredRoute } from './routes/desired-route.js';

export type DataplaneMode = 'bpf' | 'iptables' | 'none';

/** Calico's names, with Tabby's in place of `calico`. */
export const VXLAN_DEVICE = 'vxlan.tabby';
/** IPv6 VXLAN over an IPv6 underlay: Calico's vxlan-v6.calico (felix dataplanedefs VXLANIfaceNameV6). */
export const VXLAN_DEVICE_V6 = 'vxlan-v6.tabby';
export const IPIP_DEVICE = 'tunl0';

export interface VxlanPeer {
  node: string;
  nodeIP: string;
  tunnelIP: string;
  mac: string;
}

export interface PlanInput {
  mode: DataplaneMode;
  intents: readonly RouteIntent[];
  hostIfname: string;
  hostMtu: number;
  localVtep?: { tunnelIP: string; mac: string };
  /** This node's IPv6 VTEP (ipv6VXLANTunnelAddr, vxlanTunnelMACAddrV6). */
  localVtepV6?: { tunnelIP: string; mac: string };
  /** The on-link next hop on the host interface towards an underlay address (itself, or a router), if any. */
  underlayVia: (address: string) => string | undefined;
  /** bpf mode: the realm of (kind, remote node). */
  realmFor?: (kind: RealmKind, nodeIP: string) => number;
  /** iptables mode: the kernel has an IPIP fallback device. */
  haveTunl0?: boolean;
}

export interface PlanIssue {
  dst: string;
  message: string;
}

export interface Plan {
  routes: DesiredRoute[];
  /** bpf mode: one per realm the routes use. */
  realms: RealmEntry[];
  /** iptables mode: remote VTEPs for vxlan.tabby's neighbour and FDB entries. */
  vxlanPeers: VxlanPeer[];
  /** iptables mode: remote IPv6 VTEPs for vxlan-v6.tabby. */
  vxlanPeersV6: VxlanPeer[];
  /** bpf mode: IPv6 VXLAN blocks, by destination (IPv6 routes have no realm). */
  encapEntries: EncapEntry[];
  /** Intents (or next hops) left out. */
  errors: PlanIssue[];
  /** Programmed, but not as asked (mode none drops encapsulation). */
  warnings: PlanIssue[];
}

export const IPIP_UNSUPPORTED =
  'IPIP needs the kernel\'s tunl0 device (ipip module), which this kernel does not have: use --dataplane bpf';

interface Hop {
  address: string;
  kind: RealmKind;
  mac?: string;
}

export function planDataplane(input: PlanInput): Plan {
  const plan: Plan = { routes: [], realms: [], vxlanPeers: [], vxlanPeersV6: [], encapEntries: [], errors: [], warnings: [] };
  const realms = new Map<number, RealmEntry>();
  const peersByFamily = { 4: new Map<string, VxlanPeer>(), 6: new Map<string, VxlanPeer>() };
  const { mode, hostIfname } = input;

  const hopOut = (dst: string, h: Hop, anyTunnel: boolean): DesiredNexthop | undefined => {
    if (mode === 'iptables' && h.kind === 'ipip') return { gateway: h.address, device: IPIP_DEVICE, onlink: true };
    const via = input.underlayVia(h.address);
    if (via === undefined) {
      plan.errors.push({ dst, message: `next hop ${h.address} is not reachable through ${hostIfname}` });
      return undefined;
    }
    const out: DesiredNexthop = { gateway: via, device: hostIfname, onlink: true };
    // A plain next hop only needs a realm beside tunnelled ones (realm 0 falls back to the LPM map).
    if (mode === 'bpf' && (h.kind !== 'none' || anyTunnel)) {
      const realm = input.realmFor!(h.kind, h.address);
      out.realm = realm;
      const entry: RealmEntry = { realm, remoteIP: h.address, kind: h.kind, ...(h.mac ? { vtepMac: h.mac } : {}) };
      const prev = realms.get(realm);
      if (prev && prev.vtepMac !== entry.vtepMac) {
        plan.errors.push({ dst, message: `node ${h.address} has two VTEP MACs (${prev.vtepMac}, ${entry.vtepMac})` });
        return undefined;
      }
      realms.set(realm, entry);
    }
    return out;
  };

  const addRoute = (dst: string, hops: Hop[]): void => {
    const anyTunnel = hops.some((h) => h.kind !== 'none');
    const out = hops.map((h) => hopOut(dst, h, anyTunnel)).filter((h): h is DesiredNexthop => h !== undefined);
    if (out.length === 0) return;
    const route: DesiredRoute = { dst };
    if (out.length === 1) Object.assign(route, { gateway: out[0]!.gateway, device: out[0]!.device, onlink: true },
      out[0]!.realm ? { realm: out[0]!.realm } : {});
    else route.nexthops = out;
    // One MTU per route: the largest overhead among its next hops.
    const overhead = Math.max(0, ...hops.map((h) => (h.kind === 'none' ? 0 : ENCAP_OVERHEAD[h.kind])));
    if (overhead > 0) route.mtu = input.hostMtu - overhead;
    plan.routes.push(route);
  };

  for (const intent of input.intents) {
    switch (intent.kind) {
      case 'blackhole':
        plan.routes.push({ dst: intent.dst, type: 'blackhole' });
        break;
      case 'learned': {
        const seen = new Set<string>();
        const hops: Hop[] = [];
        for (const nh of intent.nexthops) {
          if (seen.has(nh.address)) continue;
          seen.add(nh.address);
          hops.push({ address: nh.address, kind: nh.encap });
        }
        if (hops.length === 0) {
          plan.errors.push({ dst: intent.dst, message: 'no next hops' });
          break;
        }
        if (hops.some((h) => h.kind === 'ipip')) {
          if (mode === 'none') {
            plan.warnings.push({ dst: intent.dst, message: 'IPIP next hop programmed without encapsulation (dataplane none)' });
            for (const h of hops) h.kind = 'none';
          } else if (mode === 'iptables' && !input.haveTunl0) {
            plan.errors.push({ dst: intent.dst, message: IPIP_UNSUPPORTED });
            break;
          }
        }
        addRoute(intent.dst, hops);
        break;
      }
      case 'vxlan': {
        const v = intent.vtep;
        // IPv6 VXLAN rides an IPv6 underlay, as Calico's (the VTEP's address family is the route's).
        const v6 = v.nodeIP.includes(':');
        if (mode === 'none') {
          plan.warnings.push({ dst: intent.dst, message: 'VXLAN route programmed without encapsulation (dataplane none)' });
          addRoute(intent.dst, [{ address: v.nodeIP, kind: 'none' }]);
          break;
        }
        if (!(v6 ? input.localVtepV6 : input.localVtep)) {
          plan.errors.push({ dst: intent.dst, message: `a VXLAN route needs this node's ${v6 ? 'IPv6 VTEP (localVtepV6)' : 'VTEP (localVtep)'}` });
          break;
        }
        if (mode === 'bpf' && v6) {
          // IPv6 routes carry no realm: the block's own entry says how (encap_routes6), and
          // the route goes out of the host interface towards the remote node.
          const via = input.underlayVia(v.nodeIP);
          if (via === undefined) {
            plan.errors.push({ dst: intent.dst, message: `next hop ${v.nodeIP} is not reachable through ${hostIfname}` });
            break;
          }
          plan.encapEntries.push({ block: intent.dst, remoteIP: v.nodeIP, kind: 'vxlan', vtepMac: v.mac.toLowerCase() });
          plan.routes.push({ dst: intent.dst, gateway: via, device: hostIfname, onlink: true, mtu: input.hostMtu - ENCAP_OVERHEAD.vxlanV6 });
          break;
        }
        if (mode === 'bpf') {
          addRoute(intent.dst, [{ address: v.nodeIP, kind: 'vxlan', mac: v.mac }]);
          break;
        }
        const peers = peersByFamily[v6 ? 6 : 4];
        const prev = peers.get(v.tunnelIP);
        if (prev && (prev.mac !== v.mac.toLowerCase() || prev.nodeIP !== v.nodeIP)) {
          plan.errors.push({ dst: intent.dst, message: `tunnel address ${v.tunnelIP} is claimed by ${prev.node} and ${v.node}` });
          break;
        }
        peers.set(v.tunnelIP, { node: v.node, nodeIP: v.nodeIP, tunnelIP: v.tunnelIP, mac: v.mac.toLowerCase() });
        plan.routes.push({
          dst: intent.dst, gateway: v.tunnelIP, device: v6 ? VXLAN_DEVICE_V6 : VXLAN_DEVICE, onlink: true,
          mtu: input.hostMtu - (v6 ? ENCAP_OVERHEAD.vxlanV6 : ENCAP_OVERHEAD.vxlan),
        });
        break;
      }
      default:
        plan.errors.push({ dst: (intent as { dst?: string }).dst ?? '?', message: 'unknown route intent' });
    }
  }
  plan.realms = [...realms.values()].sort((a, b) => a.realm - b.realm);
  plan.vxlanPeers = [...peersByFamily[4].values()];
  plan.vxlanPeersV6 = [...peersByFamily[6].values()];
  return plan;
}

/**
 * How the host interface reaches underlay addresses, from the main table (both families):
 * the longest match among routes not of `ownProtocol`. A connected route means the
 * address itself is the next hop; a gateway route, its gateway. Undefined when the best
 * route leaves through another interface, or there is none. An IPv6 link-local address
 * is on-link on the host interface by definition (fe80::/64 exists on every link, so the
 * table cannot say which), as BIRD resolves a link-local BGP next hop on the session's
 * interface (proto/bgp/packets.c bgp_apply_next_hop).
 */
export function underlayResolver(routes: readonly Route[], hostIfname: string, ownProtocol: number): (address: string) => string | undefined {
  return underlayTable(routes, hostIfname, ownProtocol).via;
}

interface UnderlayEntry {
  family: 4 | 6;
  net: bigint;
  bits: number;
  gateway: string | undefined;
  dev: string | undefined;
  metric: number;
}

/** An address as a number of its family's width, or undefined. */
function addressNumber(text: string): { family: 4 | 6; n: bigint } | undefined {
  if (!text.includes(':')) {
    const v = ipv4ToU32(text);
    return v < 0 ? undefined : { family: 4, n: BigInt(v) };
  }
  const ip = parseIP(text);
  return ip?.family === 6 ? { family: 6, n: new Address6(ip.address).bigInt() } : undefined;
}

const width = (family: 4 | 6) => (family === 4 ? 32 : 128);
const maskOf = (family: 4 | 6, bits: number) => (bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(width(family) - bits));

/** underlayResolver with a key that is equal for equal underlay tables (no re-planning when nothing changed). */
export function underlayTable(routes: readonly Route[], hostIfname: string, ownProtocol: number): { via: (address: string) => string | undefined; key: string } {
  const table: UnderlayEntry[] = [];
  for (const r of routes) {
    if (r.type !== 'unicast' || r.protocol === ownProtocol) continue;
    const [net, len] = r.dst.split('/');
    const a = addressNumber(net!);
    if (!a || a.family !== r.family) continue;
    const hop = r.nexthops?.[0];
    table.push({ family: a.family, net: a.n, bits: Number(len), gateway: hop ? hop.gateway : r.gateway, dev: hop ? hop.dev : r.dev, metric: r.metric ?? 0 });
  }
  table.sort((a, b) => b.bits - a.bits || a.metric - b.metric);
  const key = table.map((r) => `${r.family}:${r.net}/${r.bits} ${r.gateway ?? ''} ${r.dev ?? ''} ${r.metric}`).join(',');
  const via = (address: string) => {
    if (isLinkLocal6(address)) return address;
    const a = addressNumber(address);
    if (!a) return undefined;
    for (const r of table) {
      if (r.family !== a.family) continue;
      const mask = maskOf(r.family, r.bits);
      if ((a.n & mask) !== (r.net & mask)) continue;
      if (r.dev !== hostIfname) return undefined;
      return r.gateway ?? address;
    }
    return undefined;
  };
  return { via, key };
}
