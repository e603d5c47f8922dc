// Checks on import, before any policy. A path that fails one is treated as withdrawn
// (RFC 7606 treat-as-withdraw; loops are ignored the same way).

import { AsPathSegmentType } from '../wire/index.js';
import type { PeerDescriptor, RibAttributes, RibOptions } from './types.js';

export type ImportLoop = 'as-path' | 'originator-id' | 'cluster-list';

/** Why a received path is not usable: a loop, or a semantic error in its attributes. */
export type ImportRejection = ImportLoop | 'first-as' | 'confed-segment' | 'next-hop';

/** Why the attributes form a loop, or undefined when they do not. */
export function importLoop(attrs: RibAttributes, peer: PeerDescriptor, self: RibOptions): ImportLoop | undefined {
  // RFC 4271 §9.1.2: our AS in the path, beyond what numAllowedLocalASNumbers tolerates.
  let seen = 0;
  for (const seg of attrs.asPath ?? []) {
    if (seg.type !== AsPathSegmentType.AS_SEQUENCE && seg.type !== AsPathSegmentType.AS_SET) continue;
    for (const asn of seg.asns) if (asn === peer.localAsn) seen++;
  }
  if (seen > (peer.allowLocalAs ?? 0)) return 'as-path';
  // RFC 4456 §8: our own route reflected back, or a route that passed our cluster.
  if (attrs.originatorId !== undefined && attrs.originatorId === self.routerId) return 'originator-id';
  if (self.clusterId !== undefined && attrs.clusterList?.includes(self.clusterId)) return 'cluster-list';
  return undefined;
}

/**
 * An eBGP peer's AS_PATH, as RFC 4271 §6.3 and RFC 5065 §5 want it: it starts with the
 * peer's own AS ("leftmost AS" check) and holds no confederation segment, since the peer
 * is outside any confederation of ours. Either failure is a malformed AS_PATH, which
 * RFC 7606 §7.2 handles as treat-as-withdraw.
 */
export function ebgpAsPathError(attrs: RibAttributes, peer: PeerDescriptor): 'first-as' | 'confed-segment' | undefined {
  const path = attrs.asPath ?? [];
  for (const seg of path) {
    if (seg.type === AsPathSegmentType.AS_CONFED_SEQUENCE || seg.type === AsPathSegmentType.AS_CONFED_SET) return 'confed-segment';
  }
  const first = path[0];
  if (first === undefined || first.type !== AsPathSegmentType.AS_SEQUENCE || first.asns[0] !== peer.asn) return 'first-as';
  return undefined;
}

function ipv4FirstOctet(a: string): number {
  const dot = a.indexOf('.');
  return dot > 0 ? Number(a.slice(0, dot)) : Number.NaN;
}

/**
 * A next hop that cannot be a neighbouring router (RFC 4271 §6.3 "not a valid IP host
 * address", RFC 7606 §7.3): IPv4 0/8, 127/8 and 224/3 (multicast, reserved, broadcast),
 * as FRR's ipv4_unicast_valid(); IPv6 ::, ::1 and ff00::/8. Text is the codec's canonical form.
 */
export function martianNextHop(nextHop: string): boolean {
  if (!nextHop.includes(':')) {
    const o = ipv4FirstOctet(nextHop);
    return !(o > 0 && o < 224 && o !== 127);
  }
  return nextHop === '::' || nextHop === '::1' || /^ff[0-9a-f]{2}:/.test(nextHop);
}

/** The next hop is martian, or one of our own addresses on this session (RFC 4271 §6.3). */
export function badNextHop(attrs: RibAttributes, peer: PeerDescriptor): boolean {
  const nh = attrs.nextHop;
  if (nh === undefined) return false; // nothing to check (a route without one is not usable anyway)
  if (martianNextHop(nh)) return true;
  return nh === peer.localAddress4 || nh === peer.localAddress6;
}

/** Why a received path must be treated as withdrawn, or undefined when it may be used. */
export function importRejection(attrs: RibAttributes, peer: PeerDescriptor, self: RibOptions): ImportRejection | undefined {
  const loop = importLoop(attrs, peer, self);
  if (loop !== undefined) return loop;
  if (peer.type === 'ebgp') {
    const asPath = ebgpAsPathError(attrs, peer);
    if (asPath !== undefined) return asPath;
  }
  if (badNextHop(attrs, peer)) return 'next-hop';
  return undefined;
}
