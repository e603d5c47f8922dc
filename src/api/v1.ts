// calicoctl v1 `bgpPeer` documents, converted to a v3 BGPPeer so old YAML keeps working.
import { ValidationError } from '../errors.js';
import { parsePeerIP } from './net.js';
import { isPlainObject } from './schema.js';
import { API_VERSION } from './types.js';

export function isV1BgpPeer(raw: unknown): boolean {
  return isPlainObject(raw) && raw.apiVersion === 'v1' && typeof raw.kind === 'string' && raw.kind.toLowerCase() === 'bgppeer';
}

/** A v3 name from the v1 identity (scope, node, IP), stable so re-applying replaces. */
export function v1PeerName(scope: 'global' | 'node', peerIP: string, node?: string): string {
  const ip = peerIP.toLowerCase().replace(/[.:]/g, '-');
  return scope === 'global' ? `global-${ip}` : `node-${node}-${ip}`;
}

export function convertV1BgpPeer(raw: Record<string, unknown>): Record<string, unknown> {
  const meta = isPlainObject(raw.metadata) ? raw.metadata : {};
  const spec = isPlainObject(raw.spec) ? raw.spec : {};
  const scope = meta.scope ?? 'global';
  if (scope !== 'global' && scope !== 'node') {
    throw new ValidationError('metadata.scope', `must be global or node, got ${JSON.stringify(scope)}`);
  }
  const peerIP = meta.peerIP;
  if (typeof peerIP !== 'string' || !parsePeerIP(peerIP)) {
    throw new ValidationError('metadata.peerIP', `${JSON.stringify(peerIP)} is not an IP address`);
  }
  const node = meta.hostname ?? meta.node;
  if (scope === 'node' && (typeof node !== 'string' || node === '')) {
    throw new ValidationError('metadata.hostname', 'is required when scope is node');
  }
  if (scope === 'global' && node !== undefined) {
    throw new ValidationError('metadata.hostname', 'must be empty when scope is global');
  }
  for (const key of Object.keys(spec)) {
    if (key !== 'asNumber') throw new ValidationError(`spec.${key}`, 'unknown field in a v1 bgpPeer (only asNumber)');
  }
  const v3spec: Record<string, unknown> = { peerIP, asNumber: spec.asNumber };
  if (scope === 'node') v3spec.node = node;
  return {
    apiVersion: API_VERSION,
    kind: 'BGPPeer',
    metadata: { name: v1PeerName(scope, peerIP, node as string | undefined) },
    spec: v3spec,
  };
}
