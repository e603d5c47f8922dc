// Datastore URIs: `file:DIR` and `etcd:http://HOST:PORT[,http://HOST:PORT...]`.
import { resolve } from 'node:path';
import { DatastoreError } from '../errors.js';
import type { Datastore } from './datastore.js';
import { FileDatastore } from './file-datastore.js';
import { etcdOptionsFromEnv } from './etcd-options.js';

export const DEFAULT_DATASTORE_URI = 'file:/var/lib/tabby';
export const DATASTORE_ENV = 'TABBY_DATASTORE';

export type DatastoreUri = { type: 'file'; dir: string } | { type: 'etcd'; endpoints: string[] };

const EXPECTED = 'expected file:DIR or etcd:http://HOST:PORT[,http://HOST:PORT...]';

/** The explicit URI, else $TABBY_DATASTORE (if non-empty), else the default. */
export function resolveDatastoreUri(uri?: string, env: NodeJS.ProcessEnv = process.env): string {
  return uri ?? (env[DATASTORE_ENV] || DEFAULT_DATASTORE_URI);
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

/**
 * Opens the datastore named by `uri`, $TABBY_DATASTORE, or the default file store.
 * etcd TLS and auth come from TABBY_ETCD_* (see etcd-options.ts).
 */
export async function openDatastore(uri?: string): Promise<Datastore> {
  const parsed = parseDatastoreUri(resolveDatastoreUri(uri));
  if (parsed.type === 'file') return FileDatastore.open(parsed.dir);
  // Loaded only when used: the etcd client and gRPC cost a file-store agent ~20 MiB.
  const { EtcdDatastore } = await import('./etcd-datastore.js');
  return EtcdDatastore.open({ endpoints: parsed.endpoints, ...etcdOptionsFromEnv() });
}
