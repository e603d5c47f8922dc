import { ValidationError } from '../../errors.js';
import { bgpConfiguration } from './bgp-configuration.js';
import { bgpFilter } from './bgp-filter.js';
import { bgpPeer } from './bgp-peer.js';
import { calicoNodeStatus } from './calico-node-status.js';
import { ipPool } from './ip-pool.js';
import type { KindDef } from './kind.js';
import { node } from './node.js';
import { workloadEndpoint } from './workload-endpoint.js';

export type { KindDef } from './kind.js';

export const KINDS: readonly KindDef[] = [bgpConfiguration, bgpPeer, node, ipPool, bgpFilter, calicoNodeStatus, workloadEndpoint];

const byAlias = new Map<string, KindDef>();
for (const def of KINDS) {
  byAlias.set(def.kind.toLowerCase(), def);
  for (const a of def.aliases) byAlias.set(a, def);
}

/** The kind for a CLI word or a `kind:` field (case-insensitive), or undefined. */
export function findKind(word: string): KindDef | undefined {
  return byAlias.get(word.toLowerCase());
}

export function requireKind(word: string, path = 'kind'): KindDef {
  const def = findKind(word);
  if (!def) throw new ValidationError(path, `unknown resource kind ${JSON.stringify(word)} (known: ${KINDS.map((k) => k.kind).join(', ')})`);
  return def;
}
