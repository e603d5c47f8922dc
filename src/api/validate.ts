// Validation and defaulting of one resource, as Calico's validator decides it: the metadata
// (validateObjectMeta: name, label keys and values, annotation keys and total size), then the
// kind's schema, cross-field rules and CRD defaults. Pure: nothing here reads the datastore.
import { ValidationError } from '../errors.js';
import { requireKind, type KindDef } from './kinds/index.js';
import { isPlainObject, labelValueProblem, object, qualifiedNameProblem, resourceName, str, stringMap, type Check } from './schema.js';
import { API_VERSION, type Resource } from './types.js';

/** validator.go totalAnnotationSizeLimitB: keys and values together, 256 KiB. */
export const ANNOTATION_SIZE_LIMIT = 256 * 1024;

const labels: Check<Record<string, string>> = (v, p) => {
  const map = stringMap(v, p);
  for (const [k, value] of Object.entries(map)) {
    const key = qualifiedNameProblem(k);
    if (key) throw new ValidationError(`${p}.${k}`, `label key ${key}`);
    const val = labelValueProblem(value);
    if (val) throw new ValidationError(`${p}.${k}`, `label value ${val}`);
  }
  return map;
};

const annotations: Check<Record<string, string>> = (v, p) => {
  const map = stringMap(v, p);
  let size = 0;
  for (const [k, value] of Object.entries(map)) {
    // Calico checks annotation keys in lower case, so upper-case prefixes are fine.
    const key = qualifiedNameProblem(k.toLowerCase());
    if (key) throw new ValidationError(`${p}.${k}`, `annotation key ${key}`);
    size += Buffer.byteLength(k) + Buffer.byteLength(value);
  }
  if (size > ANNOTATION_SIZE_LIMIT) throw new ValidationError(p, `total size of annotations is ${size} bytes, ${size - ANNOTATION_SIZE_LIMIT} over the ${ANNOTATION_SIZE_LIMIT}-byte limit`);
  return map;
};

const metadata = object(
  {
    name: resourceName,
    namespace: resourceName,
    labels,
    annotations,
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
  if (meta.namespace !== undefined && !def.namespaced) {
    throw new ValidationError('metadata.namespace', `${def.kind} is cluster-scoped; remove metadata.namespace`);
  }
  if (def.namespaced) meta.namespace ??= 'default';
  def.name?.(meta.name);
  const spec = checkSpec(def, raw.spec, meta.name);
  def.metadata?.(meta, spec);
  const out: Resource = { apiVersion: API_VERSION, kind: def.kind, metadata: meta, spec };
  const status = checkStatus(def, raw.status);
  if (status !== undefined) out.status = status;
  return out;
}

function checkSpec(def: KindDef, raw: unknown, name: string): Record<string, unknown> {
  const spec = def.spec(raw, 'spec');
  def.rules?.(spec, name);
  return def.defaults ? def.defaults(spec, name) : spec;
}

function checkStatus(def: KindDef, raw: unknown): unknown {
  if (raw === undefined || raw === null || def.status === undefined) return undefined;
  if (def.status === true) return raw;
  const status = def.status(raw, 'status');
  return Object.keys(status).length > 0 ? status : undefined;
}

/** Checks that apply between the stored version and its replacement (immutable fields). */
export function validateUpdate(stored: Resource, next: Resource): void {
  requireKind(next.kind).update?.(stored.spec as Record<string, unknown>, next.spec as Record<string, unknown>);
}
