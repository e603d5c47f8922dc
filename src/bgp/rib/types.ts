// Plain data shared by the RIB pieces and the speaker. The RIB is pure: these go in,
// diffs of best paths come out.

import type { Family, PathAttributes } from '../wire/index.js';

export type PeerType = 'ibgp' | 'ebgp';

/** How a session rewrites NEXT_HOP on export (Calico's BGPPeer nextHopMode; keepOriginalNextHop is Keep). */
export type NextHopMode = 'Auto' | 'Self' | 'Keep';

/** One BGP session as the speaker describes it. */
export interface PeerDescriptor {
  /** Unique per session, e.g. "Mesh_10_0_0_2". 'local' is reserved. */
  readonly id: string;
  /** The peer's address. */
  readonly address: string;
  /** The peer's AS. */
  readonly asn: number;
  /** Our AS on this session (Calico's localASNumber, else the node's AS). */
  readonly localAsn: number;
  /** The peer's BGP identifier from its OPEN, dotted. */
  readonly routerId: string;
  readonly type: PeerType;
  /** A route-reflector client of ours. Ignored for eBGP peers and when we have no cluster id. */
  readonly rrClient: boolean;
  /** Our address on the session, the next hop we advertise for IPv4 routes. */
  readonly localAddress4?: string;
  /** Our global IPv6 address on the session, the next hop for IPv6 routes. */
  readonly localAddress6?: string;
  /** Our link-local IPv6 address, sent alongside localAddress6 when set. */
  readonly localLinkLocal6?: string;
  /** Default Auto: self towards eBGP, unchanged towards iBGP. */
  readonly nextHopMode?: NextHopMode;
  /** numAllowedLocalASNumbers: how often our AS may appear in a received AS_PATH. */
  readonly allowLocalAs?: number;
  /** The peer sent the long-lived graceful restart capability: it may get LLGR_STALE paths (RFC 9494). */
  readonly longLived?: boolean;
  /** LOCAL_PREF given to paths learned from this peer when it is eBGP (else the RIB default). */
  readonly defaultLocalPref?: number;
}

/**
 * Attributes as the RIB keeps them: one family's view of an UPDATE. MP_REACH/MP_UNREACH
 * are gone (they hold the NLRI arrays); `nextHop` is the family's next hop.
 * Interned: equal attributes are one object, so compare them with ===.
 */
export interface RibAttributes extends Omit<PathAttributes, 'mpReach' | 'mpUnreach'> {
  /** The second address of a 32-octet IPv6 next hop (RFC 2545). */
  linkLocalNextHop?: string;
}

/** The source of locally originated paths. */
export interface LocalSource extends Omit<PeerDescriptor, 'type'> {
  readonly id: 'local';
  readonly type: 'local';
}

export type PathSource = PeerDescriptor | LocalSource;

export const LOCAL_PEER_ID = 'local';

/**
 * A path as the RIB hands it out. Shared between all prefixes that have the same
 * source, attributes, path id and staleness, so compare paths with samePath().
 */
export interface Path {
  readonly family: Family;
  readonly peer: PathSource;
  readonly attributes: RibAttributes;
  /** RFC 7911 path identifier; 0 without add-path. */
  readonly pathId: number;
  /** Kept from a restarting peer (RFC 4724) until it refreshes or sweepStale drops it. */
  readonly stale: boolean;
  /** `[this]`, when the path keeps one (the single-path ECMP set without an array per change). */
  readonly alone?: readonly Path[];
}

/** One prefix whose best path or ECMP next-hop set changed. */
export interface BestPathChange {
  readonly family: Family;
  readonly prefix: string;
  readonly best: Path | null;
  readonly previous: Path | null;
  /** Best first, then equal-cost paths with distinct next hops; empty when best is null. */
  readonly multipath: readonly Path[];
}

/** One family's part of an UPDATE, the shape routeChanges() returns plus the attributes. */
export interface RibUpdate {
  readonly family: Family;
  readonly announced: readonly string[];
  readonly announcedPathIds?: readonly number[];
  readonly withdrawn: readonly string[];
  readonly withdrawnPathIds?: readonly number[];
  /** The UPDATE's attributes as decoded; not modified, not kept. */
  readonly attributes: PathAttributes;
  /** The family's next hop (MP_REACH or NEXT_HOP); looked up in `attributes` when absent. */
  readonly nextHop?: string;
  readonly linkLocalNextHop?: string;
}

/** accept, reject, or accept with these attributes instead. */
export type ImportDecision = 'accept' | 'reject' | RibAttributes;

/** Called once per announced prefix; return the same object for many prefixes when modifying, it is interned once. */
export type ImportPolicy = (prefix: string, attributes: RibAttributes, peer: PeerDescriptor, family: Family) => ImportDecision;

/** The speaker's export rule (Calico: only the node's own blocks, ...). True to advertise. */
export type ExportFilter = (prefix: string, path: Path, target: PeerDescriptor, family: Family) => boolean;

/** What this router is, for loop checks, reflection and defaults. */
export interface RibOptions {
  readonly localAsn: number;
  readonly routerId: string;
  /** Set when this node is a route reflector (Calico routeReflectorClusterID). */
  readonly clusterId?: string;
  /** LOCAL_PREF for eBGP-learned paths when the peer has no defaultLocalPref. Default 100. */
  readonly defaultLocalPref?: number;
}

export const DEFAULT_LOCAL_PREF = 100;
