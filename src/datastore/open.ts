// Datastore URIs: `file:DIR` and `etcd:http://HOST:PORT[,http://HOST:PORT...]`. Each
// backend is imported when it is used: the etcd client (gRPC, protobuf) costs a `file:`
// command most of its start-up time.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DatastoreError } from '../errors.js';
import type { Datastore } from './datastore.js';
import type { EtcdDatastoreOptions } from './etcd-options.js';

export const DEFAULT_DATASTORE_URI = 'file:/var/lib/tabby';
export const DATASTORE_ENV = 'TABBY_DATASTORE';

export type DatastoreUri = { type: 'file'; dir: string } | { type: 'etcd'; endpoints: string[] };

const EXPECTED = 'expected file:DIR or etcd:http://HOST:PORT[,http://HOST:PORT...]';

/**
 * The explicit URI, else $TABBY_DATASTORE (if non-empty), else calico-node's
 * $ETCD_ENDPOINTS (libcalico-go apiconfig: comma-separated URLs), else the default.
 */
export function resolveDatastoreUri(uri?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (uri !== undefined) return uri;
  if (env[DATASTORE_ENV]) return env[DATASTORE_ENV]!;
  if (env.ETCD_ENDPOINTS?.trim()) return `etcd:${env.ETCD_ENDPOINTS.trim()}`;
  return DEFAULT_DATASTORE_URI;
}

export function parseDatastoreUri(uri: string): DatastoreUri {
  const bad = (why: string) => new DatastoreError(`invalid datastore URI ${JSON.stringify(uri)}: ${why}`);
  const colon = uri.indexOf(':');
  if (colon <= 0) throw bad(`no scheme; ${EXPECTED}`);
  const scheme = uri.slice(0, colon);
  const rest = uri.slice(colon + 1);
  switch (scheme) {
    case 'file': {
      if (rest === '') throw bad('empty directory');
      // file:///abs is accepted as a URL; file://host/... would silently drop the host.
      if (rest.startsWith('//') && !rest.startsWith('///')) throw bad('a host is not supported; use file:/ABSOLUTE/DIR');
      if (rest.includes('\0')) throw bad('NUL in directory');
      return { type: 'file', dir: resolve(rest) };
    }
    case 'etcd': {
      const endpoints = rest.split(',').map((e, i) => parseEndpoint(e.trim(), i, bad));
      return { type: 'etcd', endpoints };
    }
    default:
      throw bad(`unknown scheme "${scheme}"; ${EXPECTED}`);
  }
}

function parseEndpoint(text: string, index: number, bad: (why: string) => DatastoreError): string {
  const where = `etcd endpoint ${index + 1} (${JSON.stringify(text)})`;
  if (text === '') throw bad(`${where} is empty`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad(`${where} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad(`${where} must be http:// or https://`);
  if (url.username || url.password) throw bad(`${where} must not carry credentials`);
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) throw bad(`${where} must be just scheme://HOST:PORT`);
  // URL drops default ports, so read the explicit one from the text.
  const port = /:(\d+)\/?$/.exec(text)?.[1];
  if (!port || Number(port) < 1 || Number(port) > 65535) throw bad(`${where} needs a port 1-65535`);
  return `${url.protocol}//${url.hostname}:${Number(port)}`;
}

export interface OpenOptions {
  /**
   * For reads: a `file:` directory that does not exist is an error, so a mistyped URI
   * does not look like an empty cluster. Writes create the directory.
   */
  mustExist?: boolean;
  /** Extra etcd options (timeouts); TLS and auth still come from the environment. */
  etcd?: Partial<EtcdDatastoreOptions>;
}

/**
 * Opens the datastore named by `uri`, $TABBY_DATASTORE, $ETCD_ENDPOINTS or the default
 * file store. etcd TLS and auth come from TABBY_ETCD_* or ETCD_* (see etcd-options.ts).
 */
export async function openDatastore(uri?: string, opts: OpenOptions = {}): Promise<Datastore> {
  const text = resolveDatastoreUri(uri);
  const parsed = parseDatastoreUri(text);
  if (parsed.type === 'file') {
    if (opts.mustExist) await requireDirectory(parsed.dir, text);
    const { FileDatastore } = await import('./file-datastore.js');
    return FileDatastore.open(parsed.dir);
  }
  const [{ EtcdDatastore }, { etcdOptionsFromEnv }] = await Promise.all([import('./etcd-datastore.js'), import('./etcd-options.js')]);
  return EtcdDatastore.open({ ...opts.etcd, endpoints: parsed.endpoints, ...etcdOptionsFromEnv() });
}

async function requireDirectory(dir: string, uri: string): Promise<void> {
  let isDir = false;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new DatastoreError(`datastore ${uri}: cannot read ${dir}: ${code ?? (err as Error).message}`, { cause: err });
  }
  if (!isDir) throw new DatastoreError(`datastore ${uri}: directory ${dir} does not exist (check --datastore or TABBY_DATASTORE)`);
}
