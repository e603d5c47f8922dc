// Tabby's additions to BGPPeer that Calico's schema has no field for, carried as
// annotations so a Calico user's YAML still applies unchanged (docs/bgp-peer-annotations.md).
import { ValidationError } from '../errors.js';
import { BFD_ANNOTATION_PREFIX, BFD_ANNOTATIONS } from './bfd-annotations.js';

export const MAX_PREFIXES_ANNOTATION = 'tabby.io/max-prefixes';
export const MAX_PREFIXES_ACTION_ANNOTATION = 'tabby.io/max-prefixes-action';

/** Reset: Cease / Maximum Number of Prefixes Reached (RFC 4486), restart later. Reject: stay up, ignore new prefixes past the limit. */
export type MaxPrefixesAction = 'Reset' | 'Reject';
export const MAX_PREFIXES_ACTIONS: readonly MaxPrefixesAction[] = ['Reset', 'Reject'];

export interface PeerLimits {
  maxPrefixes?: number;
  maxPrefixesAction?: MaxPrefixesAction;
}

const KNOWN = [MAX_PREFIXES_ANNOTATION, MAX_PREFIXES_ACTION_ANNOTATION, ...Object.values(BFD_ANNOTATIONS)];

const path = (key: string) => `metadata.annotations["${key}"]`;

/** The limits a BGPPeer's annotations ask for; throws ValidationError naming the annotation. */
export function peerLimits(annotations: Readonly<Record<string, string>> | undefined): PeerLimits {
  const a = annotations ?? {};
  for (const key of Object.keys(a)) {
    // tabby.io/bfd-* are checked with the BFD settings (bfd-annotations.ts).
    if (key.startsWith('tabby.io/') && !key.startsWith(BFD_ANNOTATION_PREFIX) && !KNOWN.includes(key)) throw new ValidationError(path(key), `unknown Tabby annotation; known: ${KNOWN.join(', ')}`);
  }
  const out: PeerLimits = {};
  const max = a[MAX_PREFIXES_ANNOTATION];
  if (max !== undefined) {
    if (!/^[1-9]\d{0,9}$/.test(max) || Number(max) > 0xffffffff) throw new ValidationError(path(MAX_PREFIXES_ANNOTATION), `${JSON.stringify(max)} is not a whole number from 1 to 4294967295`);
    out.maxPrefixes = Number(max);
  }
  const action = a[MAX_PREFIXES_ACTION_ANNOTATION];
  if (action !== undefined) {
    if (!(MAX_PREFIXES_ACTIONS as readonly string[]).includes(action)) {
      throw new ValidationError(path(MAX_PREFIXES_ACTION_ANNOTATION), `must be one of ${MAX_PREFIXES_ACTIONS.join(', ')}`);
    }
    if (max === undefined) throw new ValidationError(path(MAX_PREFIXES_ACTION_ANNOTATION), `needs ${MAX_PREFIXES_ANNOTATION} as well`);
    out.maxPrefixesAction = action as MaxPrefixesAction;
  }
  return out;
}
