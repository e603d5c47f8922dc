// The resource verbs behind `tabby apply|create|replace|get|delete|patch|label`, with
// calicoctl's behaviour where a user would notice (calicoctl/calicoctl/commands/*.go).
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { ResourceClient, WriteMode } from '../client/resource-client.js';
import { requireKind } from '../api/kinds/index.js';
import { DEFAULTS, type Resource } from '../api/types.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { out, readInput, withClient, type GlobalArgs } from './context.js';
import { render, type OutputFormat } from './output.js';

const PAST: Record<WriteMode, string> = { apply: 'applied', create: 'created', replace: 'replaced' };

function summary(verb: string, resources: { kind: string }[]): string {
  const counts = new Map<string, number>();
  for (const r of resources) counts.set(r.kind, (counts.get(r.kind) ?? 0) + 1);
  return [...counts].map(([kind, n]) => `Successfully ${verb} ${n} '${kind}' resource(s)`).join('\n');
}

export interface FileSource {
  file: string;
  recursive?: boolean;
  skipEmpty?: boolean;
}

const MANIFEST = new Set(['.yaml', '.yml', '.json']);

/** The manifests of a directory as calicoctl walks it (file/iter.go): .yaml, .yml, .json; subdirectories with -R. */
async function manifests(dir: string, recursive: boolean): Promise<string[]> {
  const found: string[] = [];
  for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (recursive) found.push(...(await manifests(path, true)));
    } else if (MANIFEST.has(extname(e.name).toLowerCase())) {
      found.push(path);
    }
  }
  return found;
}

async function readOne(file: string, skipEmpty: boolean): Promise<Resource[]> {
  const text = await readInput(file);
  if (skipEmpty && text.trim() === '') return [];
  const { readResources } = await import('../api/documents.js');
  return readResources(text, file === '-' ? 'stdin' : file);
}

/**
 * Every resource in a file, stdin or a directory. Unlike calicoctl, which applies a
 * directory file by file and stops at the first failure, all of it is validated first
 * and written as one transaction: a bad file changes nothing.
 */
export async function readSource(src: FileSource): Promise<Resource[]> {
  const skipEmpty = src.skipEmpty === true;
  if (src.file !== '-' && (await stat(src.file).catch(() => undefined))?.isDirectory()) {
    const files = await manifests(src.file, src.recursive === true);
    const resources = (await Promise.all(files.map((f) => readOne(f, skipEmpty)))).flat();
    if (resources.length === 0 && !skipEmpty) throw new ValidationError('', `${src.file}: no resources in its .yaml, .yml or .json files`);
    return resources;
  }
  return readOne(src.file, skipEmpty);
}

export async function write(args: GlobalArgs, mode: WriteMode, src: FileSource): Promise<void> {
  const resources = await readSource(src);
  if (resources.length > 0) await withClient(args, (c) => c.write(mode, resources));
  out(summary(PAST[mode], resources) || `No resources to ${mode}`);
}

async function tableContext(c: ResourceClient) {
  const defaultAs = (await c.get('BGPConfiguration', 'default'))?.spec as { asNumber?: number } | undefined;
  return { defaultAsNumber: defaultAs?.asNumber ?? DEFAULTS.asNumber };
}

/** All of a kind, one resource (shown bare in yaml/json, as calicoctl does) or several. */
export async function get(args: GlobalArgs, kindWord: string, names: string[], format: OutputFormat): Promise<void> {
  const def = requireKind(kindWord);
  await withClient(
    args,
    async (c) => {
      const ctx = await tableContext(c);
      if (names.length === 0) {
        const { items, revision } = await c.list(def.kind);
        process.stdout.write(await render(def.kind, items, format, { revision, ctx }));
        return;
      }
      const found: Resource[] = [];
      const missing: string[] = [];
      for (const name of names) {
        const r = await c.get(def.kind, name);
        if (r) found.push(r);
        else missing.push(name);
      }
      // The ones found are printed, then the missing ones fail the command (as calicoctl).
      if (found.length > 0) process.stdout.write(await render(def.kind, found, format, { single: names.length === 1, ctx }));
      if (missing.length > 0) throw new NotFoundError(def.kind, missing.join(', '));
    },
    { read: true },
  );
}

export async function remove(args: GlobalArgs, what: FileSource | { kind: string; names: string[] }): Promise<void> {
  const targets = 'file' in what ? await readSource(what) : what.names.map((name) => ({ kind: requireKind(what.kind).kind, metadata: { name } }));
  const nodes = targets.filter((t) => t.kind === 'Node').map((t) => t.metadata.name);
  const others = targets.filter((t) => t.kind !== 'Node');
  await withClient(args, async (c) => {
    // A Node goes with what calicoctl removes with it (libcalico-go clientv3 node.go Delete).
    if (nodes.length > 0) {
      const { removeNode } = await import('../ipam/remove-node.js');
      for (const name of nodes) await removeNode(c.store, name);
    }
    if (others.length > 0) await c.deleteAll(others);
  });
  out(summary('deleted', targets));
}

const PATCH_TYPES = ['merge', 'json'] as const;

/** Merge patch (RFC 7386), or JSON Patch (RFC 6902) through fast-json-patch. */
export async function patch(args: GlobalArgs, kindWord: string, name: string, text: string, type: string): Promise<void> {
  const def = requireKind(kindWord);
  if (type === 'strategic') {
    throw new ValidationError('--type', 'strategic merge patch needs Kubernetes type schemas Tabby does not have; use --type merge (RFC 7386) or --type json (RFC 6902)');
  }
  if (!(PATCH_TYPES as readonly string[]).includes(type)) throw new ValidationError('--type', `unknown patch type ${JSON.stringify(type)}; use merge or json`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new ValidationError('--patch', `not valid JSON: ${(err as Error).message}`);
  }
  const apply = type === 'json' ? await jsonPatcher(body) : await mergePatcher(body);
  // The global BGPConfiguration always exists conceptually (defaults), so patching it creates it.
  const create = def.kind === 'BGPConfiguration' && name === 'default';
  await withClient(args, (c) =>
    c.modify(def.kind, name, (stored) => {
      if (!stored && !create) throw new NotFoundError(def.kind, name);
      const base = stored ?? { apiVersion: 'projectcalico.org/v3', kind: def.kind, metadata: { name }, spec: {} };
      const next = apply(base) as Resource;
      if (next?.kind !== def.kind || next.metadata?.name !== name) throw new ValidationError('--patch', 'a patch cannot change kind or metadata.name');
      return next;
    }),
  );
  out(`Successfully patched 1 '${def.kind}' resource`);
}

async function mergePatcher(body: unknown): Promise<(doc: unknown) => unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationError('--patch', 'a merge patch is a JSON object (for a list of operations use --type json)');
  const { mergePatch } = await import('../client/resource-client.js');
  return (doc) => mergePatch(doc, body);
}

async function jsonPatcher(body: unknown): Promise<(doc: unknown) => unknown> {
  if (!Array.isArray(body)) throw new ValidationError('--patch', 'a JSON Patch is a list of operations, e.g. [{"op":"replace","path":"/spec/asNumber","value":64513}]');
  const { default: jsonpatch } = await import('fast-json-patch');
  const ops = body as import('fast-json-patch').Operation[];
  const invalid = jsonpatch.validate(ops);
  if (invalid) throw new ValidationError('--patch', `operation ${(invalid.index ?? 0) + 1}: ${invalid.message.split('\n')[0]}`);
  return (doc) => {
    try {
      return jsonpatch.applyPatch(structuredClone(doc), ops, true, true).newDocument;
    } catch (err) {
      const e = err as { index?: number; message: string };
      throw new ValidationError('--patch', `${e.index !== undefined ? `operation ${e.index + 1}: ` : ''}${e.message.split('\n')[0]}`);
    }
  };
}

/** calicoctl label (commands/label.go): key=value [--overwrite] | key --remove; kubectl's key- also removes. */
export async function label(args: GlobalArgs, kindWord: string, name: string, text: string, opts: { overwrite: boolean; remove: boolean }): Promise<void> {
  const def = requireKind(kindWord);
  const remove = opts.remove || (!text.includes('=') && text.endsWith('-') && text.length > 1);
  let key: string;
  let value = '';
  if (remove) {
    key = opts.remove ? text : text.slice(0, -1);
    if (key.includes('=')) throw new ValidationError('LABEL', `to remove a label give its key alone, not ${JSON.stringify(text)}`);
  } else {
    const kv = text.split('=');
    if (kv.length !== 2 || kv[0] === '') throw new ValidationError('LABEL', `invalid label ${JSON.stringify(text)}: give key=value, key --remove or key-`);
    [key, value] = kv as [string, string];
  }
  let verb = 'set';
  await withClient(args, (c) =>
    c.modify(def.kind, name, (stored) => {
      if (!stored) throw new NotFoundError(def.kind, name);
      const labels = { ...(stored.metadata.labels ?? {}) };
      if (remove) {
        if (!(key in labels)) throw new ValidationError('LABEL', `cannot remove label of ${def.kind} ${name}, key ${key} does not exist`);
        delete labels[key];
        verb = 'removed';
      } else {
        if (key in labels && labels[key] !== value && !opts.overwrite) {
          throw new ValidationError('LABEL', `failed to update label of ${def.kind} ${name}, key ${key} is already present. please use '--overwrite' to set a new value.`);
        }
        if (key in labels) verb = 'updated';
        labels[key] = value;
      }
      const { labels: _old, ...meta } = stored.metadata;
      return { ...stored, metadata: Object.keys(labels).length > 0 ? { ...meta, labels } : meta };
    }),
  );
  const where = `${def.kind} ${name}`;
  out(verb === 'removed' ? `Successfully removed label ${key} from ${where}` : `Successfully ${verb} label ${key} on ${where}`);
}
