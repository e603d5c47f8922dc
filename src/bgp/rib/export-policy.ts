// What we send a given peer for a best path: the iBGP/eBGP and route-reflection rules of
// RFC 4271, RFC 4456 and RFC 1997, as one pure function.

import { AsPathSegmentType, Origin, WellKnownCommunity, type AsPathSegment, type Family } from '../wire/index.js';
import { isLongLivedStale, localPrefOf } from './best-path.js';
import type { Path, PeerDescriptor, RibAttributes, RibOptions } from './types.js';

/** Why a path is not advertised to the target, or undefined when it may be. */
export function exportBlock(path: Path, target: PeerDescriptor, self: RibOptions): string | undefined {
  const src = path.peer;
  if (src.id === target.id) return 'learned from this peer';
  const communities = path.attributes.communities;
  if (communities !== undefined && communities.length > 0) {
    if (communities.includes(WellKnownCommunity.NO_ADVERTISE)) return 'NO_ADVERTISE';
    if (target.type === 'ebgp' && (communities.includes(WellKnownCommunity.NO_EXPORT) || communities.includes(WellKnownCommunity.NO_EXPORT_SUBCONFED))) {
      return 'NO_EXPORT';
    }
    // RFC 9494 §4.3: long-lived stale paths go only to peers that sent the LLGR capability;
    // the others get a withdrawal, not a less preferred path.
    if (target.longLived !== true && isLongLivedStale(path)) return 'LLGR_STALE to a peer without LLGR';
  }
  if (src.type === 'ibgp' && target.type === 'ibgp') {
    // iBGP split horizon, relaxed by route reflection (RFC 4456 §6): client routes go
    // to everyone, non-client routes to clients only.
    if (self.clusterId === undefined) return 'iBGP to iBGP without route reflection';
    if (!src.rrClient && !target.rrClient) return 'non-client to non-client';
  }
  return undefined;
}

/** Our AS in front; confederation segments never leave the AS (we run no confederation). */
function prependAs(path: readonly AsPathSegment[], asn: number): AsPathSegment[] {
  const out = path.filter((s) => s.type !== AsPathSegmentType.AS_CONFED_SEQUENCE && s.type !== AsPathSegmentType.AS_CONFED_SET);
  const first = out[0];
  if (first !== undefined && first.type === AsPathSegmentType.AS_SEQUENCE) {
    out[0] = { type: AsPathSegmentType.AS_SEQUENCE, asns: [asn, ...first.asns] };
  } else {
    out.unshift({ type: AsPathSegmentType.AS_SEQUENCE, asns: [asn] });
  }
  return out;
}

/**
 * The attributes to send `target` for `path`, or null when it is not advertised to it
 * (the caller then withdraws it if it was advertised before).
 */
export function exportAttributes(path: Path, family: Family, target: PeerDescriptor, self: RibOptions): RibAttributes | null {
  if (exportBlock(path, target, self) !== undefined) return null;
  const src = path.peer;
  const toEbgp = target.type === 'ebgp';
  const { nextHop, linkLocalNextHop: _ll, localPref: _lp, med, originatorId, clusterList, asPath, origin, ...rest } = path.attributes;
  const out: RibAttributes = { ...rest, origin: origin ?? Origin.IGP, asPath: asPath ?? [] };

  // NEXT_HOP: self towards eBGP, unchanged towards iBGP, unless the session says otherwise.
  const mode = target.nextHopMode ?? 'Auto';
  const useSelf = nextHop === undefined || mode === 'Self' || (mode === 'Auto' && toEbgp);
  if (useSelf) {
    const own = family === 'ipv6' ? target.localAddress6 : target.localAddress4;
    if (own === undefined) return null; // nothing usable to put there
    out.nextHop = own;
    if (family === 'ipv6' && target.localLinkLocal6 !== undefined) out.linkLocalNextHop = target.localLinkLocal6;
  } else {
    // A link-local next hop is only meaningful on the link it came from: dropped.
    out.nextHop = nextHop;
  }

  if (toEbgp) {
    out.asPath = prependAs(out.asPath!, target.localAsn);
    // MED describes entry into the AS that set it: a learned one stops at our border
    // (RFC 4271 §5.1.4). LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST never leave the AS.
    if (med !== undefined && src.type === 'local') out.med = med;
    return out;
  }

  if (med !== undefined) out.med = med;
  out.localPref = localPrefOf(path);
  if (src.type === 'ibgp') {
    // Reflecting (exportBlock allowed it, so we are a route reflector): RFC 4456 §8.
    out.originatorId = originatorId ?? src.routerId;
    out.clusterList = [self.clusterId!, ...(clusterList ?? [])];
  }
  return out;
}
