// The kernel route that goes with an eBPF tunnel entry. The eBPF encap step keeps the
// Ethernet header the kernel built and only inserts tunnel headers after it, so the
// route must send the inner packet out of the host interface towards the remote
// node: then the neighbour entry the kernel resolves is the remote node's (or, for
// a node behind a router, the router's, which forwards on the outer address), and
// rp_filter accepts the decapsulated replies, which arrive on the same interface.

import { ValidationError } from '../../errors.js';
import { parseCidr, parseIP } from '../../api/net.js';
import { tunnelMtu } from './encap-mtu.js';
import type { EncapKind } from './encap-map-codec.js';

export interface TunnelRoute {
  /** The remote block. */
  dst: string;
  /** Next hop: the remote node itself, or `via` when it is not on-link. */
  gateway: string;
  dev: string;
  /** The gateway need not be inside a connected subnet of `dev`. */
  onlink: boolean;
  /** Host MTU minus the tunnel overhead, so encapsulated packets still fit. */
  mtu: number;
}

export interface TunnelRouteInput {
  block: string;
  remoteIP: string;
  kind: EncapKind;
  /** The host interface the eBPF host programs are attached to. */
  dev: string;
  hostMtu: number;
  /** L2 next hop towards remoteIP when it is not directly reachable (a router); default remoteIP. */
  via?: string;
}

/** `BLOCK via REMOTE dev DEV onlink mtu HOST-OVERHEAD`. */
export function tunnelRoute(input: TunnelRouteInput): TunnelRoute {
  const c = parseCidr(input.block);
  if (!c || c.family !== 4 || !c.masked) throw new ValidationError('block', 'must be an IPv4 CIDR with no host bits');
  const gw = parseIP(input.via ?? input.remoteIP);
  if (!gw || gw.family !== 4) throw new ValidationError(input.via === undefined ? 'remoteIP' : 'via', 'must be an IPv4 address');
  if (typeof input.dev !== 'string' || input.dev.length === 0) throw new ValidationError('dev', 'must be an interface name');
  return { dst: c.network, gateway: gw.address, dev: input.dev, onlink: true, mtu: tunnelMtu(input.hostMtu, input.kind) };
}
