// Fields Calico accepts that Tabby has no effect for. They pass validation (so a resource is
// judged as Calico judges it) and are then refused when written, with one line naming the
// field, so nothing is ever accepted and silently ignored. Paths use `[]` for every element.
import { ValidationError } from '../errors.js';
import { cidrContains, parseCidr } from './net.js';
import { isPlainObject } from './schema.js';
import type { Resource } from './types.js';

/** A write refused because Tabby does not support a field (or one of its values). */
export class UnsupportedFieldError extends ValidationError {
  constructor(path: string, readonly why: string, document?: string) {
    super(path, `is not supported by Tabby: ${why}`, document);
    this.message = `${document ? `${document}: ` : ''}${path} is not supported by Tabby: ${why}`;
  }
}

export interface Refusal {
  kind: string;
  /** Schema path, `[]` standing for every list element. */
  path: string;
  why: string;
  /** Refuse only these values (the others take effect); absent: any value is refused. */
  when?: (value: unknown, resource: Resource) => boolean;
}

const UNREADABLE_SECRET = 'a secret that cannot be read is always reported on the peer; Tabby never falls back to no password';
const isDefaultUses = (v: unknown) => Array.isArray(v) && v.length === 2 && v.includes('Workload') && v.includes('Tunnel');

export const REFUSALS: readonly Refusal[] = [
  // BGPConfiguration
  {
    kind: 'BGPConfiguration',
    path: 'spec.serviceLoadBalancerAggregation',
    when: (v) => v === 'Disabled',
    why: 'Tabby advertises serviceLoadBalancerIPs CIDRs whole; per-Service /32 routes need Kubernetes Service watching, which Tabby does not do',
  },
  { kind: 'BGPConfiguration', path: 'spec.programClusterRoutes', why: "Tabby's agent always programs the routes to other nodes itself; there is no separate Felix to leave them to" },
  { kind: 'BGPConfiguration', path: 'spec.localWorkloadPeeringIPV4', why: 'Tabby has no BGP peering with local workloads' },
  { kind: 'BGPConfiguration', path: 'spec.localWorkloadPeeringIPV6', why: 'Tabby has no BGP peering with local workloads' },
  { kind: 'BGPConfiguration', path: 'spec.nodeMeshPassword.secretKeyRef.optional', why: UNREADABLE_SECRET },
  {
    kind: 'BGPConfiguration',
    path: 'spec.ignoredInterfaces',
    why: "Tabby takes no interface routes into BGP (calico-node's BIRD protocol direct), so there is no interface to leave out",
  },
  // BGPPeer
  { kind: 'BGPPeer', path: 'spec.password.secretKeyRef.optional', why: UNREADABLE_SECRET },
  { kind: 'BGPPeer', path: 'spec.reachableBy', why: 'Tabby installs no static route towards a peer; the host must already reach it' },
  { kind: 'BGPPeer', path: 'spec.localWorkloadSelector', why: 'Tabby has no BGP peering with local workloads' },
  {
    kind: 'BGPPeer',
    path: 'spec.birdGatewayMode',
    why: "Tabby installs each learned route via its BGP next hop on the node's interface; there is no BIRD gateway resolution to choose",
  },
  // BGPFilter: Tabby's export decision is a yes or no, so nothing is matched on attributes or changed.
  ...(['exportV4', 'importV4', 'exportV6', 'importV6'] as const).flatMap((list) =>
    (
      [
        ['communities', "Tabby's BGPFilter does not match on communities"],
        ['asPathPrefix', "Tabby's BGPFilter does not match on the AS path"],
        ['priority', "Tabby's BGPFilter does not match on route priority"],
        ['operations', "Tabby's BGPFilter does not change routes (addCommunity, prependASPath, setPriority)"],
      ] as const
    ).map(([field, why]): Refusal => ({ kind: 'BGPFilter', path: `spec.${list}[].${field}`, why })),
  ),
  // IPPool
  { kind: 'IPPool', path: 'spec.namespaceSelector', why: "Tabby's IPAM has no namespaces; pools are chosen by nodeSelector" },
  {
    kind: 'IPPool',
    path: 'spec.allowedUses',
    when: (v) => !isDefaultUses(v),
    why: "Tabby's IPAM takes workload and tunnel addresses from every pool; only [Workload, Tunnel] is supported (no LoadBalancer Service IPs)",
  },
  { kind: 'IPPool', path: 'spec.assignmentMode', when: (v) => v !== 'Automatic', why: "Tabby's IPAM assigns from every enabled pool automatically" },
  { kind: 'IPPool', path: 'spec.cidr', when: (v) => typeof v === 'string' && cidrContains('127.0.0.0/8', v), why: 'loopback addresses never leave a host' },
  { kind: 'IPPool', path: 'spec.nat-outgoing', why: 'it is the APIv1 spelling; Tabby reads natOutgoing' },
  // Node
  { kind: 'Node', path: 'spec.bgp.ipv4IPIPTunnelAddr', why: "Tabby encapsulates IPIP in eBPF from the node address and has no tunl0 address" },
  { kind: 'Node', path: 'spec.addresses', why: 'Tabby uses spec.bgp.ipv4Address and ipv6Address as the node addresses' },
  { kind: 'Node', path: 'spec.orchRefs', why: 'Tabby has no orchestrator integration' },
  { kind: 'Node', path: 'spec.interfaces', why: 'Tabby does not track node interfaces in the datastore' },
  { kind: 'Node', path: 'spec.wireguard', why: 'Tabby has no WireGuard encryption' },
  { kind: 'Node', path: 'status.wireguardPublicKey', why: 'Tabby has no WireGuard encryption' },
  { kind: 'Node', path: 'status.wireguardPublicKeyV6', why: 'Tabby has no WireGuard encryption' },
  { kind: 'Node', path: 'status.podCIDRs', why: 'Tabby allocates from IPAM blocks, not Kubernetes pod CIDRs' },
  // WorkloadEndpoint (written by tabby-cni; policy and 1:1 NAT are not Tabby's)
  { kind: 'WorkloadEndpoint', path: 'spec.serviceAccountName', why: 'Tabby has no network policy to select service accounts' },
  { kind: 'WorkloadEndpoint', path: 'spec.ipNATs', why: 'Tabby has no 1:1 NAT (floating IPs) for workloads' },
  { kind: 'WorkloadEndpoint', path: 'spec.ipv4Gateway', why: "tabby-cni's IPv4 gateway is always 169.254.1.1, answered by proxy ARP" },
  { kind: 'WorkloadEndpoint', path: 'spec.ipv6Gateway', why: "tabby-cni's IPv6 gateway is always the host side's link-local address" },
  { kind: 'WorkloadEndpoint', path: 'spec.ports', why: 'Tabby has no network policy to refer to named ports' },
  { kind: 'WorkloadEndpoint', path: 'spec.allowSpoofedSourcePrefixes', why: 'Tabby does not filter workload source addresses' },
];

/** Every concrete occurrence of a schema path in a value: [concrete path, value]. */
function occurrences(root: unknown, path: string): [string, unknown][] {
  let found: [string, unknown][] = [['', root]];
  for (const part of path.split('.')) {
    const [name, ...lists] = part.split('[]');
    const next: [string, unknown][] = [];
    for (const [at, v] of found) {
      if (!isPlainObject(v) || v[name!] === undefined) continue;
      let items: [string, unknown][] = [[at ? `${at}.${name}` : name!, v[name!]]];
      for (let i = 0; i < lists.length; i++) {
        items = items.flatMap(([p, x]) => (Array.isArray(x) ? x.map((e, j): [string, unknown] => [`${p}[${j}]`, e]) : []));
      }
      next.push(...items);
    }
    found = next;
  }
  return found;
}

/** The value at a concrete path such as `spec.exportV4[2].cidr`. */
function valueAt(root: unknown, path: string): unknown {
  let v = root;
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (m[1] !== undefined) v = isPlainObject(v) ? v[m[1]] : undefined;
    else v = Array.isArray(v) ? v[Number(m[2])] : undefined;
  }
  return v;
}

/** The refused fields a resource sets: [concrete path, reason]. */
export function refusalsOf(r: Resource): [string, string][] {
  return REFUSALS.filter((f) => f.kind === r.kind).flatMap((f) =>
    occurrences(r, f.path)
      .filter(([, v]) => f.when === undefined || f.when(v, r))
      .map(([p]): [string, string] => [p, f.why]),
  );
}

/**
 * Throw UnsupportedFieldError for the first refused field. With `stored`, a field whose value
 * is unchanged from the stored version is let through, so a read-modify-write of an existing
 * resource (an agent updating its Node) is not blocked by what was already there.
 */
export function refuseUnsupported(r: Resource, stored?: Resource): void {
  for (const [path, why] of refusalsOf(r)) {
    if (stored && JSON.stringify(valueAt(stored, path)) === JSON.stringify(valueAt(r, path))) continue;
    throw new UnsupportedFieldError(path, why, `${r.kind} ${JSON.stringify(r.metadata.name)}`);
  }
}
