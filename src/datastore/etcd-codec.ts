// Keys and values of the etcd backend: one key PREFIX<Kind>/<name> per resource, the
// value its JSON without metadata.resourceVersion (etcd's mod_revision is the version).
import type { IKeyValue } from 'etcd3';
import { DatastoreError } from '../errors.js';
import type { StoredResource } from './datastore.js';

export { checkIdentity, jsonClone } from './txn-ops.js';

export class KeyCodec {
  constructor(readonly prefix: string) {}

  key(kind: string, name: string): string {
    return `${this.prefix}${kind}/${name}`;
  }

  /** Prefix of one kind, or of all resources. */
  scope(kind?: string): Buffer {
    return Buffer.from(kind === undefined ? this.prefix : `${this.prefix}${kind}/`);
  }

  parse(key: Buffer | string): { kind: string; name: string } {
    const s = key.toString();
    const rest = s.startsWith(this.prefix) ? s.slice(this.prefix.length) : s;
    const slash = rest.indexOf('/');
    return slash < 0 ? { kind: rest, name: '' } : { kind: rest.slice(0, slash), name: rest.slice(slash + 1) };
  }
}

/** The stored value: JSON of the resource without its resourceVersion. */
export function encodeValue(resource: StoredResource): string {
  const { resourceVersion: _drop, ...metadata } = resource.metadata;
  return JSON.stringify({ ...resource, metadata });
}

/** Parses a stored value and sets resourceVersion from the key's mod_revision. */
export function decodeValue(kv: IKeyValue): StoredResource {
  const key = kv.key.toString();
  let r: StoredResource;
  try {
    r = JSON.parse(kv.value.toString('utf8')) as StoredResource;
  } catch (err) {
    throw new DatastoreError(`etcd key ${key}: corrupted value (invalid JSON: ${(err as Error).message})`, { cause: err });
  }
  if (typeof r !== 'object' || r === null || typeof r.kind !== 'string' || typeof r.metadata?.name !== 'string') {
    throw new DatastoreError(`etcd key ${key}: corrupted value (not a resource with kind and metadata.name)`);
  }
  r.metadata.resourceVersion = String(kv.mod_revision);
  return r;
}
