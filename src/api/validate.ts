// Turn one raw document into a validated, defaulted v3 resource, or a ValidationError
// that names the field. Nothing here touches storage.
import { ValidationError } from '../errors.js';
import { requireKind, type KindDef } from './kinds/index.js';
import { isPlainObject, object, resourceName, str, stringMap } from './schema.js';
import { API_VERSION, type Resource } from './types.js';

const metadata = object(
  {
    name: str,
    namespace: (v, p) => {
      throw new ValidationError(p, 'Calico resources handled here are cluster-scoped; remove metadata.namespace');
    },
    labels: stringMap,
    annotations: stringMap,
    resourceVersion: str,
    uid: str,
    creationTimestamp: (v) => (v instanceof Date ? v.toISOString() : String(v)),
    generation: (v) => v,
  },
  ['name'],
);

export function validateResource(raw: unknown): Resource {
  if (!isPlainObject(raw)) throw new ValidationError('', 'a resource must be a mapping with apiVersion, kind, metadata and spec');
  if (raw.apiVersion !== API_VERSION) {
    throw new ValidationError('apiVersion', `must be ${API_VERSION}, got ${JSON.stringify(raw.apiVersion)}`);
  }
  const def = requireKind(str(raw.kind, 'kind'));
  if (raw.kind !== def.kind) throw new ValidationError('kind', `must be spelled ${def.kind}, got ${JSON.stringify(raw.kind)}`);
  for (const key of Object.keys(raw)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(key)) throw new ValidationError(key, 'unknown top-level field');
  }
  const meta = metadata(raw.metadata, 'metadata') as unknown as Resource['metadata'];
  resourceName(meta.name, 'metadata.name');
  def.name?.(meta.name);
  const spec = checkSpec(def, raw.spec, meta.name);
  const out: Resource = { apiVersion: API_VERSION, kind: def.kind, metadata: meta, spec };
  if (def.hasStatus && raw.status !== undefined) out.status = raw.status;
  return out;
}

function checkSpec(def: KindDef, raw: unknown, name: string): Record<string, unknown> {
  const spec = def.spec(raw, 'spec');
  def.rules?.(spec, name);
  return def.defaults ? def.defaults(spec) : spec;
}

/** Checks that apply between the stored version and its replacement (immutable fields). */
export function validateUpdate(stored: Resource, next: Resource): void {
  requireKind(next.kind).update?.(stored.spec as Record<string, unknown>, next.spec as Record<string, unknown>);
}
