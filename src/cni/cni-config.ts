// The plugin's network configuration (what the runtime streams on stdin), checked with the
// spec's error codes: undecodable 6, incompatible version 1, unsupported field 2, invalid 7.
import { parseDatastoreUri } from '../datastore/open.js';
import { CNI_CODE, CniError } from './cni-error.js';

/** Versions whose result format this plugin writes (0.3.x and 0.4.0 add `version` to each IP). */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  /** Datastore URI; default $TABBY_DATASTORE or file:/var/lib/tabby. */
  datastore?: string;
  /** etcd TLS files (Calico's etcd_ca_cert_file, etcd_cert_file, etcd_key_file). */
  etcdTls?: { ca?: string; cert?: string; key?: string };
  /** This node's name; default $TABBY_NODENAME or the hostname. */
  nodename?: string;
  /** Veth MTU; default the host's smallest MTU less the pools' encapsulation overhead. */
  mtu?: number;
  logLevel: LogLevel;
  logFile?: string;
  /** Host-wide lock serialising IPAM writes (Calico's ipam_lock_file). */
  ipamLockFile: string;
  ipam: { pools?: string[]; assignIpv4: boolean; assignIpv6?: boolean };
  allowIpForwarding: boolean;
  prevResult?: Record<string, unknown>;
  /** GC (1.1.0): the attachments still in use. */
  validAttachments?: { containerID: string; ifname: string }[];
}

export const DEFAULT_IPAM_LOCK = '/var/run/tabby/ipam.lock';
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

const invalid = (msg: string, details = '') => new CniError(CNI_CODE.InvalidConfig, msg, details);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Calico writes its booleans as strings ("true"); both forms are accepted. */
function flag(v: unknown, key: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw invalid(`invalid ${key}`, `${key} must be true or false, got ${JSON.stringify(v)}`);
}

/** The cniVersion as given, for the error result, or undefined when there is none. */
export function versionOf(raw: string): string | undefined {
  try {
    const v = (JSON.parse(raw) as { cniVersion?: unknown }).cniVersion;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

export function parseNetConf(raw: string): NetConf {
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch (err) {
    throw new CniError(CNI_CODE.DecodingFailure, 'failed to decode the network configuration', (err as Error).message);
  }
  if (!isObject(doc)) throw new CniError(CNI_CODE.DecodingFailure, 'failed to decode the network configuration', 'not a JSON object');
  const { cniVersion, name, type } = doc;
  if (typeof cniVersion !== 'string' || cniVersion === '') throw invalid('cniVersion is required');
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(cniVersion)) {
    throw new CniError(CNI_CODE.IncompatibleVersion, 'incompatible CNI version', `cniVersion ${JSON.stringify(cniVersion)} is not supported; supported: ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw invalid('invalid network name', `name ${JSON.stringify(name)} must start with a letter or digit, then letters, digits, "_", "." or "-"`);
  }
  if (typeof type !== 'string' || type === '' || /[/\\]/.test(type)) throw invalid('invalid type', `type ${JSON.stringify(type)}`);

  const conf: NetConf = {
    cniVersion,
    name,
    type,
    logLevel: 'warn',
    ipamLockFile: DEFAULT_IPAM_LOCK,
    ipam: { assignIpv4: true },
    allowIpForwarding: false,
  };
  if (doc.datastore !== undefined) {
    if (typeof doc.datastore !== 'string') throw invalid('invalid datastore', 'datastore must be a string URI');
    try {
      parseDatastoreUri(doc.datastore);
    } catch (err) {
      throw invalid('invalid datastore', (err as Error).message);
    }
    conf.datastore = doc.datastore;
  }
  // Calico's spelling: etcd_endpoints instead of a datastore URI, and the TLS files.
  if (doc.etcd_endpoints !== undefined) {
    if (conf.datastore !== undefined) throw invalid('invalid etcd_endpoints', 'give datastore or etcd_endpoints, not both');
    if (typeof doc.etcd_endpoints !== 'string') throw invalid('invalid etcd_endpoints', 'etcd_endpoints must be a string');
    try {
      parseDatastoreUri(`etcd:${doc.etcd_endpoints}`);
    } catch (err) {
      throw invalid('invalid etcd_endpoints', (err as Error).message);
    }
    conf.datastore = `etcd:${doc.etcd_endpoints}`;
  }
  for (const [key, field] of [['etcd_ca_cert_file', 'ca'], ['etcd_cert_file', 'cert'], ['etcd_key_file', 'key']] as const) {
    const v = doc[key];
    if (v === undefined || v === '') continue;
    if (typeof v !== 'string' || !v.startsWith('/')) throw invalid(`invalid ${key}`, `${key} must be an absolute path`);
    conf.etcdTls = { ...conf.etcdTls, [field]: v };
  }
  if (doc.nodename !== undefined) {
    if (typeof doc.nodename !== 'string' || doc.nodename === '') throw invalid('invalid nodename', 'nodename must be a non-empty string');
    conf.nodename = doc.nodename;
  }
  if (doc.mtu !== undefined) {
    if (!Number.isInteger(doc.mtu) || (doc.mtu as number) < 68 || (doc.mtu as number) > 65535) throw invalid('invalid mtu', `mtu must be an integer from 68 to 65535, got ${JSON.stringify(doc.mtu)}`);
    conf.mtu = doc.mtu as number;
  }
  if (doc.log_level !== undefined) {
    const level = String(doc.log_level).toLowerCase() as LogLevel;
    if (!LEVELS.includes(level)) throw invalid('invalid log_level', `log_level must be one of ${LEVELS.join(', ')}`);
    conf.logLevel = level;
  }
  if (doc.log_file_path !== undefined) {
    if (typeof doc.log_file_path !== 'string' || !doc.log_file_path.startsWith('/')) throw invalid('invalid log_file_path', 'log_file_path must be an absolute path');
    conf.logFile = doc.log_file_path;
  }
  if (doc.ipam_lock_file !== undefined) {
    if (typeof doc.ipam_lock_file !== 'string' || !doc.ipam_lock_file.startsWith('/')) throw invalid('invalid ipam_lock_file', 'ipam_lock_file must be an absolute path');
    conf.ipamLockFile = doc.ipam_lock_file;
  }
  if (doc.ipam !== undefined) {
    const ipam = doc.ipam;
    if (!isObject(ipam)) throw invalid('invalid ipam', 'ipam must be an object');
    // IPAM is built in: another IPAM plugin here would silently not run.
    if (ipam.type !== undefined && ipam.type !== type) {
      throw new CniError(CNI_CODE.UnsupportedField, 'unsupported field in network configuration', `ipam.type=${JSON.stringify(ipam.type)}: Tabby's IPAM is built in; leave ipam.type out or set it to ${JSON.stringify(type)}`);
    }
    if (ipam.pools !== undefined) {
      if (!Array.isArray(ipam.pools) || ipam.pools.length === 0 || !ipam.pools.every((p) => typeof p === 'string' && p !== '')) {
        throw invalid('invalid ipam.pools', 'ipam.pools must be a non-empty list of IPPool names or CIDRs');
      }
      conf.ipam.pools = ipam.pools as string[];
    }
    conf.ipam.assignIpv4 = flag(ipam.assign_ipv4, 'ipam.assign_ipv4') ?? true;
    conf.ipam.assignIpv6 = flag(ipam.assign_ipv6, 'ipam.assign_ipv6');
  }
  if (doc.container_settings !== undefined) {
    if (!isObject(doc.container_settings)) throw invalid('invalid container_settings', 'container_settings must be an object');
    conf.allowIpForwarding = flag(doc.container_settings.allow_ip_forwarding, 'container_settings.allow_ip_forwarding') ?? false;
  }
  if (doc.prevResult !== undefined) {
    if (!isObject(doc.prevResult)) throw invalid('invalid prevResult', 'prevResult must be an object');
    conf.prevResult = doc.prevResult;
  }
  const valid = doc['cni.dev/valid-attachments'];
  if (valid !== undefined) {
    const ok = Array.isArray(valid) && valid.every((a) => isObject(a) && typeof a.containerID === 'string' && typeof a.ifname === 'string');
    if (!ok) throw invalid('invalid cni.dev/valid-attachments', 'must be a list of {containerID, ifname}');
    conf.validAttachments = valid as { containerID: string; ifname: string }[];
  }
  return conf;
}

/** SPEC.md: CHECK needs 0.4.0 or later; STATUS and GC came with 1.1.0. */
export function requireVersionFor(command: string, version: string): void {
  const min = command === 'CHECK' ? '0.4.0' : command === 'STATUS' || command === 'GC' ? '1.1.0' : undefined;
  if (min && compareVersions(version, min) < 0) {
    throw new CniError(CNI_CODE.IncompatibleVersion, `config version does not allow ${command}`, `${command} needs cniVersion ${min} or later, got ${version}`);
  }
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}
