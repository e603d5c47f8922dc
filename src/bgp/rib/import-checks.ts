// Loop checks on import, before any policy: a looped route is treated as withdrawn.

import { AsPathSegmentType } from '../wire/index.js';
import type { PeerDescriptor, RibAttributes, RibOptions } from './types.js';

export type ImportLoop = 'as-path' | 'originator-id' | 'cluster-list';

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
