// `tabby node run`'s settings resolved from flags, then the environment (env-table.ts),
// then the defaults; every value is checked here, so a bad one stops the start with its name.
import { hostname } from 'node:os';
import { ValidationError } from '../errors.js';
import { parseLogLevel } from '../util/log.js';
import { poolSettings, type PoolSettings } from './default-pools.js';
import { parseMethod } from './autodetect.js';
import { ENV_TABLE, type EnvSetting } from './env-table.js';

export interface Endpoint {
  address: string;
  port: number;
}

export interface NodeConfig {
  nodeName: string;
  datastore: string | undefined;
  /** Autodetection method or explicit address for IPv4 (autodetect.ts parseMethod). */
  ip: string;
  /** The same for IPv6; undefined = no IPv6. */
  ip6?: string;
  pools: PoolSettings;
  dataplane: 'bpf' | 'iptables' | 'none';
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

/** IP / IP6 with their autodetection method as one value for the agent; undefined = none. */
function address(family: 4 | 6, flags: Flags, env: NodeJS.ProcessEnv): string | undefined {
  const suffix = family === 4 ? '' : '6';
  const main = settingValue(setting(`ip${suffix}`), flags, env);
  const method = settingValue(setting(`ip${suffix}-autodetection-method`), flags, env);
  const value = main.value ?? (family === 4 ? 'autodetect' : 'none');
  if (value === 'none') {
    if (family === 4) throw new ValidationError(main.source, 'IP=none (a node without IPv4) is not supported by Tabby');
    return undefined;
  }
  const chosen = value === 'autodetect' ? (method.value ?? 'first-found') : value;
  parseMethod(chosen, value === 'autodetect' ? method.source : main.source); // fail at start, naming the setting
  return chosen;
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
    ip: address(4, flags, env)!,
    ip6: address(6, flags, env),
    pools: poolSettings((key) => {
      // yargs reads --no-default-pools as default-pools=false (boolean negation).
      if (key === 'NO_DEFAULT_POOLS' && flags['default-pools'] === false) return { value: 'true', source: '--no-default-pools' };
      return settingValue(ENV_TABLE.find((s) => s.env.includes(key) || s.env.includes(`TABBY_${key}`))!, flags, env);
    }),
    dataplane: dataplane as NodeConfig['dataplane'],
    stateDir: val('state-dir'),
    secretsDir: val('secrets-dir'),
    logLevel,
    health: endpoint('health'),
    metrics: endpoint('metrics'),
  };
}
