// Read resource documents from text: multi-document YAML or JSON, `*List` wrappers
// expanded, v1 bgpPeers and crd.projectcalico.org/v1 documents converted. Each document is
// validated; errors name the document.
import { parseAllDocuments } from 'yaml';
import { TabbyError, ValidationError } from '../errors.js';
import { convertCrdV1, isCrdV1 } from './crd-v1.js';
import { isPlainObject } from './schema.js';
import type { Resource } from './types.js';
import { convertV1BgpPeer, isV1BgpPeer } from './v1.js';
import { validateResource } from './validate.js';

/**
 * YAML's core schema without floats: no Tabby field is a float, and `asNumber: 1.10`
 * must stay the dotted AS "1.10" instead of becoming the number 1.1.
 */
const yamlOptions = {
  customTags: (tags: unknown[]) => tags.filter((t) => (t as { tag?: string }).tag !== 'tag:yaml.org,2002:float'),
} as const;

/** Parse text into raw documents; throws ValidationError on a syntax error. */
export function parseDocuments(text: string, source = 'input'): unknown[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      const value: unknown = JSON.parse(text);
      return Array.isArray(value) ? value : [value];
    } catch {
      // Not JSON after all (YAML flow style is a superset); fall through to YAML.
    }
  }
  const docs = parseAllDocuments(text, yamlOptions as never);
  const list = Array.isArray(docs) ? docs : [docs];
  const out: unknown[] = [];
  for (const doc of list) {
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!;
      const line = e.linePos?.[0];
      throw new ValidationError('', `${source}${line ? ` line ${line.line} column ${line.col}` : ''}: YAML syntax error: ${e.message.split('\n')[0]}`);
    }
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

/** A short human name for a raw document, for error messages. */
function describe(raw: unknown, index: number): string {
  const meta = isPlainObject(raw) && isPlainObject(raw.metadata) ? raw.metadata : {};
  const kind = isPlainObject(raw) && typeof raw.kind === 'string' ? raw.kind : 'resource';
  const name = typeof meta.name === 'string' ? ` ${JSON.stringify(meta.name)}` : typeof meta.peerIP === 'string' ? ` ${meta.peerIP}` : '';
  return `document ${index + 1} (${kind}${name})`;
}

function expandLists(docs: unknown[]): unknown[] {
  return docs.flatMap((d) =>
    isPlainObject(d) && typeof d.kind === 'string' && d.kind.endsWith('List') && Array.isArray(d.items) ? d.items : [d],
  );
}

function convert(raw: unknown): unknown {
  if (isV1BgpPeer(raw)) return convertV1BgpPeer(raw as Record<string, unknown>);
  if (isCrdV1(raw)) return convertCrdV1(raw as Record<string, unknown>);
  return raw;
}

/** Parse and validate every document; the first invalid one throws (nothing is returned). */
export function readResources(text: string, source = 'input'): Resource[] {
  const docs = expandLists(parseDocuments(text, source));
  if (docs.length === 0) throw new ValidationError('', `${source}: no resources found`);
  return docs.map((raw, i) => {
    try {
      return validateResource(convert(raw));
    } catch (err) {
      if (err instanceof ValidationError) throw new ValidationError(err.path, err.reason, `${source}: ${describe(raw, i)}`);
      throw err instanceof TabbyError ? err : new ValidationError('', String(err), `${source}: ${describe(raw, i)}`);
    }
  });
}
