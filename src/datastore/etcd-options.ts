// Options of the etcd backend and where they come from.
//
// From the environment (read by openDatastore for `etcd:` URIs); each TABBY_ name also
// answers to calico-node's name (libcalico-go lib/apiconfig EtcdConfig), TABBY_ first:
//   TABBY_ETCD_CA        ETCD_CA_CERT_FILE  PEM file of the CA that signed the etcd server certificates
//   TABBY_ETCD_CERT      ETCD_CERT_FILE     PEM client certificate (with the key) for client-cert auth
//   TABBY_ETCD_KEY       ETCD_KEY_FILE      PEM private key of that certificate
//   TABBY_ETCD_USERNAME  ETCD_USERNAME      etcd user (role-based auth); needs the password
//   TABBY_ETCD_PASSWORD  ETCD_PASSWORD
// The TLS files need https:// endpoints; https:// without a CA trusts the system CAs.
import { readFileSync } from 'node:fs';
import { DatastoreError } from '../errors.js';

export const DEFAULT_ETCD_PREFIX = '/tabby/v3/';

export interface EtcdTlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface EtcdDatastoreOptions {
  /** http://HOST:PORT or https://HOST:PORT, as parseDatastoreUri returns them. */
  endpoints: string[];
  /** Key prefix, ending in "/"; keys are PREFIX<Kind>/<name> (default /tabby/v3/). */
  prefix?: string;
  tls?: EtcdTlsOptions;
  auth?: { username: string; password: string };
  /** Deadline of one unary call (default 5000 ms). */
  requestTimeoutMs?: number;
  /** How long reads and writes keep retrying transient failures, e.g. a dead member (default 10000 ms). */
  retryWindowMs?: number;
  /** How long open() waits for etcd to answer (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Longest pause between watch reconnect attempts (default 1000 ms). */
  watchRetryMaxMs?: number;
  /**
   * What a watcher does when it resumes after a disconnect and etcd has compacted the
   * revisions it missed: 'resync' (default) lists again and delivers the difference;
   * 'error' stops with CompactedError like the file backend.
   */
  onCompacted?: 'resync' | 'error';
  /** Range page size for list and resync (default 500). */
  pageSize?: number;
}

export interface ResolvedEtcdOptions {
  endpoints: string[];
  prefix: string;
  tls?: EtcdTlsOptions;
  auth?: { username: string; password: string };
  requestTimeoutMs: number;
  retryWindowMs: number;
  connectTimeoutMs: number;
  watchRetryMaxMs: number;
  onCompacted: 'resync' | 'error';
  pageSize: number;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v <= 0) throw new DatastoreError(`etcd option ${name} must be a positive integer, got ${value}`);
  return v;
}

export function resolveEtcdOptions(o: EtcdDatastoreOptions): ResolvedEtcdOptions {
  if (!Array.isArray(o.endpoints) || o.endpoints.length === 0) throw new DatastoreError('etcd: no endpoints given');
  const secure = o.endpoints.filter((e) => e.startsWith('https://')).length;
  if (secure !== 0 && secure !== o.endpoints.length) throw new DatastoreError('etcd: endpoints mix http:// and https://');
  const hasTlsFiles = !!(o.tls?.ca || o.tls?.cert || o.tls?.key);
  // grpc would otherwise speak TLS to an http:// endpoint, or silently skip the files.
  if (hasTlsFiles && secure === 0) throw new DatastoreError('etcd: TLS files (CA, cert, key) need https:// endpoints');
  if (!!o.tls?.cert !== !!o.tls?.key) throw new DatastoreError('etcd: a client certificate needs its key and the other way round');
  if (o.auth && (!o.auth.username || typeof o.auth.password !== 'string')) throw new DatastoreError('etcd: username and password go together');
  const prefix = o.prefix ?? DEFAULT_ETCD_PREFIX;
  if (!prefix.startsWith('/') || !prefix.endsWith('/')) throw new DatastoreError(`etcd: prefix must start and end with "/", got ${JSON.stringify(prefix)}`);
  const onCompacted = o.onCompacted ?? 'resync';
  if (onCompacted !== 'resync' && onCompacted !== 'error') throw new DatastoreError(`etcd: onCompacted must be resync or error`);
  const r: ResolvedEtcdOptions = {
    endpoints: [...o.endpoints],
    prefix,
    requestTimeoutMs: positive('requestTimeoutMs', o.requestTimeoutMs, 5000),
    retryWindowMs: positive('retryWindowMs', o.retryWindowMs, 10_000),
    connectTimeoutMs: positive('connectTimeoutMs', o.connectTimeoutMs, 5000),
    watchRetryMaxMs: positive('watchRetryMaxMs', o.watchRetryMaxMs, 1000),
    onCompacted,
    pageSize: positive('pageSize', o.pageSize, 500),
  };
  if (hasTlsFiles) r.tls = { ...o.tls };
  if (o.auth) r.auth = { ...o.auth };
  return r;
}

/** TLS and auth settings from TABBY_ETCD_* (see the top of this file). */
export const ETCD_ENV_ALIASES: Readonly<Record<string, string>> = {
  TABBY_ETCD_CA: 'ETCD_CA_CERT_FILE',
  TABBY_ETCD_CERT: 'ETCD_CERT_FILE',
  TABBY_ETCD_KEY: 'ETCD_KEY_FILE',
  TABBY_ETCD_USERNAME: 'ETCD_USERNAME',
  TABBY_ETCD_PASSWORD: 'ETCD_PASSWORD',
};

export function etcdOptionsFromEnv(rawEnv: NodeJS.ProcessEnv = process.env): Pick<EtcdDatastoreOptions, 'tls' | 'auth'> {
  const out: Pick<EtcdDatastoreOptions, 'tls' | 'auth'> = {};
  // The name actually set, so errors quote what the operator wrote.
  const named = (name: string): [string, string | undefined] => {
    const alias = ETCD_ENV_ALIASES[name]!;
    return rawEnv[name] !== undefined || rawEnv[alias] === undefined ? [name, rawEnv[name]] : [alias, rawEnv[alias]];
  };
  const env = Object.fromEntries(Object.keys(ETCD_ENV_ALIASES).map((k) => [k, named(k)[1]]));
  const file = (key: string): Buffer | undefined => {
    const [name, path] = named(key);
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new DatastoreError(`${name}=${path}: cannot read: ${(err as Error).message}`, { cause: err });
    }
  };
  const tls: EtcdTlsOptions = {};
  const ca = file('TABBY_ETCD_CA');
  const cert = file('TABBY_ETCD_CERT');
  const key = file('TABBY_ETCD_KEY');
  if (ca) tls.ca = ca;
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  if (ca || cert || key) out.tls = tls;
  const username = env.TABBY_ETCD_USERNAME;
  const password = env.TABBY_ETCD_PASSWORD;
  if (username || password) {
    if (!username || password === undefined) throw new DatastoreError('TABBY_ETCD_USERNAME and TABBY_ETCD_PASSWORD (or ETCD_USERNAME and ETCD_PASSWORD) must be set together');
    out.auth = { username, password };
  }
  return out;
}
