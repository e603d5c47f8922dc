// `tabby node run`'s settings resolved from flags, then the environment (env-table.ts),
// then the defaults; every value is checked here, so a bad one stops the start with its name.
import { hostname } from 'node:os';
import { ValidationError } from '../errors.js';
import { parseLogLevel } from '../util/log.js';
import { poolSettings, type PoolSettings } from './default-pools.js';
import { parseIP } from '../api/net.js';
import { parseMethod, type AddressSetting } from './autodetect.js';
import { ENV_TABLE, type EnvSetting } from './env-table.js';

export interface Endpoint {
  address: string;
  port: number;
}

export interface NodeConfig {
  nodeName: string;
  datastore: string | undefined;
  /** IP with IP_AUTODETECTION_METHOD (autodetect.ts AddressSetting). */
  ip: AddressSetting;
  /** IP6 with IP6_AUTODETECTION_METHOD. */
  ip6: AddressSetting;
  /** CALICO_ROUTER_ID: an IPv4 address, `hash`, or undefined (the node's IPv4 address). */
  routerId?: string;
  pools: PoolSettings;
  dataplane: 'bpf' | 'iptables' | 'none';
  /** bpffs directory for the eBPF maps and programs. */
  bpfPinRoot: string;
  stateDir: string;
  secretsDir: string;
  logLevel: string;
  health: Endpoint | false;
  metrics: Endpoint | false;
}

/** Flag values as yargs gives them (strings, undefined when not given). */
export type Flags = Record<string, string | boolean | undefined>;

/** The value of a setting: its flag, else the first of its variables that is set (non-empty). */
export function settingValue(s: EnvSetting, flags: Flags, env: NodeJS.ProcessEnv): { value?: string; source: string } {
  const flag = s.flag ? flags[s.flag] : undefined;
  if (flag !== undefined && flag !== '') return { value: String(flag), source: `--${s.flag}` };
  for (const name of s.env) {
    const v = env[name]?.trim();
    if (v) return { value: v, source: name };
  }
  return { source: s.flag ? `--${s.flag}` : s.env[0]! };
}

const setting = (flag: string) => ENV_TABLE.find((s) => s.flag === flag)!;

function port(text: string, source: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < -1 || n > 65535) throw new ValidationError(source, `must be -1 (off) or a port 0-65535, got ${JSON.stringify(text)}`);
  return n;
}

/** IP / IP6 with their autodetection method, as calico-node reads them (startup.go configureIPsAndSubnets). */
function address(family: 4 | 6, flags: Flags, env: NodeJS.ProcessEnv): AddressSetting {
  const suffix = family === 4 ? '' : '6';
  const main = settingValue(setting(`ip${suffix}`), flags, env);
  const m = settingValue(setting(`ip${suffix}-autodetection-method`), flags, env);
  const method = m.value ?? 'first-found';
  parseMethod(method, m.source); // fail at start, naming the setting
  if (main.value === undefined) return { mode: 'unset', method };
  if (main.value === 'none') return { mode: 'none', method };
  if (main.value === 'autodetect') return { mode: 'autodetect', method };
  const parsed = parseMethod(main.value, main.source);
  if (parsed.kind !== 'address') return { mode: 'autodetect', method: main.value }; // --ip METHOD, kept for compatibility
  if (parseIP(parsed.address)?.family !== family) throw new ValidationError(main.source, `not an IPv${family} address: ${JSON.stringify(main.value)}`);
  return { mode: 'explicit', method: main.value };
}

/** CALICO_ROUTER_ID: `hash` or an IPv4 address (confd's bird.cfg template takes either). */
function routerId(flags: Flags, env: NodeJS.ProcessEnv): string | undefined {
  const r = settingValue(setting('router-id'), flags, env);
  if (r.value === undefined || r.value === 'hash') return r.value;
  if (parseIP(r.value)?.family !== 4) throw new ValidationError(r.source, `must be hash or an IPv4 address, got ${JSON.stringify(r.value)}`);
  return r.value;
}

function bpfPinRoot(v: string, source: string): string {
  if (!v.startsWith('/')) throw new ValidationError(source, `must be an absolute path, got ${JSON.stringify(v)}`);
  return v;
}

/** Flags over environment over defaults; every value checked, errors name their source. */
export function resolveNodeConfig(flags: Flags, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  const get = (flag: string) => settingValue(setting(flag), flags, env);
  const val = (flag: string) => get(flag).value ?? setting(flag).default;
  const name = get('name');
  const nodeName = name.value === undefined ? hostname().toLowerCase() : name.source === 'HOSTNAME' ? name.value.toLowerCase() : name.value;
  const dataplane = val('dataplane');
  if (!['bpf', 'iptables', 'none'].includes(dataplane)) throw new ValidationError(get('dataplane').source, `must be bpf, iptables or none, got ${JSON.stringify(dataplane)}`);
  const logLevel = val('log-level');
  parseLogLevel(logLevel, get('log-level').source);
  const endpoint = (which: 'health' | 'metrics'): Endpoint | false => {
    const p = port(val(`${which}-port`), get(`${which}-port`).source);
    return p === -1 ? false : { address: val(`${which}-address`), port: p };
  };
  return {
    nodeName,
    // The global --datastore; resolveDatastoreUri reads TABBY_DATASTORE and ETCD_ENDPOINTS.
    datastore: typeof flags.datastore === 'string' ? flags.datastore : undefined,
    ip: address(4, flags, env),
    ip6: address(6, flags, env),
    routerId: routerId(flags, env),
    pools: poolSettings((key) => {
      // yargs reads --no-default-pools as default-pools=false (boolean negation).
      if (key === 'NO_DEFAULT_POOLS' && flags['default-pools'] === false) return { value: 'true', source: '--no-default-pools' };
      return settingValue(ENV_TABLE.find((s) => s.env.includes(key) || s.env.includes(`TABBY_${key}`))!, flags, env);
    }),
    dataplane: dataplane as NodeConfig['dataplane'],
    bpfPinRoot: bpfPinRoot(val('bpf-pin-root'), get('bpf-pin-root').source),
    stateDir: val('state-dir'),
    secretsDir: val('secrets-dir'),
    logLevel,
    health: endpoint('health'),
    metrics: endpoint('metrics'),
  };
}
