// Shared bits for the RIB tests: peers, attributes, paths.

import { AsPathSegmentType, Origin, type AsPathSegment, type Family, type PathAttributes } from '../../../../src/bgp/wire/index.js';
import { Rib, type LocalSource, type Path, type PathSource, type PeerDescriptor, type RibOptions } from '../../../../src/bgp/rib/index.js';

export const SEQ = AsPathSegmentType.AS_SEQUENCE;
export const SET = AsPathSegmentType.AS_SET;
export const CONFED_SEQ = AsPathSegmentType.AS_CONFED_SEQUENCE;

export const LOCAL_AS = 64512;
export const SELF: RibOptions = { localAsn: LOCAL_AS, routerId: '10.0.0.1' };
export const RR_SELF: RibOptions = { ...SELF, clusterId: '1.1.1.1' };

/** An iBGP mesh peer 10.0.0.N unless overridden. */
export function peer(n: number, o: Partial<PeerDescriptor> = {}): PeerDescriptor {
  const ebgp = o.type === 'ebgp';
  return {
    id: `peer${n}`,
    address: `10.0.0.${n}`,
    asn: ebgp ? 65000 + n : LOCAL_AS,
    localAsn: LOCAL_AS,
    routerId: `10.0.0.${n}`,
    type: 'ibgp',
    rrClient: false,
    localAddress4: '10.0.0.1',
    localAddress6: 'fd00::1',
    ...o,
  };
}

export function ebgpPeer(n: number, o: Partial<PeerDescriptor> = {}): PeerDescriptor {
  return peer(n, { type: 'ebgp', ...o });
}

export const LOCAL: LocalSource = {
  id: 'local',
  address: '',
  asn: LOCAL_AS,
  localAsn: LOCAL_AS,
  routerId: SELF.routerId,
  type: 'local',
  rrClient: false,
};

export function seq(...asns: number[]): AsPathSegment[] {
  return asns.length === 0 ? [] : [{ type: SEQ, asns }];
}

/** ORIGIN IGP, empty AS_PATH, the given next hop, plus `o`. */
export function attrs(nextHop: string, o: PathAttributes = {}): PathAttributes {
  return { origin: Origin.IGP, asPath: [], nextHop, ...o };
}

/** A literal path, for tests of the pure selection functions. */
export function path(source: PathSource, attributes: PathAttributes, pathId = 0, family: Family = 'ipv4'): Path {
  return { family, peer: source, attributes, pathId, stale: false };
}

/** A Rib with these peers set up. */
export function ribWith(peers: readonly PeerDescriptor[], options: RibOptions = SELF): Rib {
  const rib = new Rib(options);
  for (const p of peers) rib.setPeer(p);
  return rib;
}

/** Announces `prefixes` from the peer with these attributes (IPv4 or MP_REACH for IPv6). */
export function announce(rib: Rib, peerId: string, prefixes: string[], a: PathAttributes, pathIds?: number[], family: Family = 'ipv4') {
  return rib.update(peerId, { family, announced: prefixes, withdrawn: [], attributes: a, ...(pathIds ? { announcedPathIds: pathIds } : {}) });
}

export function withdraw(rib: Rib, peerId: string, prefixes: string[], pathIds?: number[], family: Family = 'ipv4') {
  return rib.update(peerId, { family, announced: [], withdrawn: prefixes, attributes: {}, ...(pathIds ? { withdrawnPathIds: pathIds } : {}) });
}

export const nextHops = (paths: readonly Path[]): string[] => paths.map((p) => p.attributes.nextHop ?? '').sort();
