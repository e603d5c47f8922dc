// The default IP pools calico-node creates on start when none of a family exists
// (node/pkg/lifecycle/startup/startup.go configureIPPools and createIPPool): named
// default-ipv4-ippool / default-ipv6-ippool, from CALICO_IPV4POOL_* (Tabby also reads
// TABBY_IPV4POOL_*), skipped for a family whose CIDR is "none", or altogether with
// NO_DEFAULT_POOLS=true (an error together with a CIDR). Values parse as calico-node
// parses them: evaluateENVBool for booleans, "", off, never / crosssubnet, cross-subnet /
// always for the encapsulation modes, block sizes 20-32 and 116-128.
import type { ResourceClient } from '../client/resource-client.js';
import type { IPPool } from '../api/types.js';
import { parseCidr } from '../api/net.js';
import { validateResource } from '../api/validate.js';
import { AlreadyExistsError, ValidationError } from '../errors.js';
import type { Logger } from '../util/log.js';

export interface DefaultPool {
  name: string;
  cidr: string;
  ipipMode: 'Always' | 'CrossSubnet' | 'Never';
  vxlanMode: 'Always' | 'CrossSubnet' | 'Never';
  natOutgoing: boolean;
  blockSize: number;
  nodeSelector?: string;
  disableBGPExport: boolean;
}

/** One pool per family, or none for that family. */
export interface PoolSettings {
  ipv4?: DefaultPool;
  ipv6?: DefaultPool;
}

/** Reads a setting by its calico-node name without the CALICO_ prefix (IPV4POOL_CIDR, NO_DEFAULT_POOLS). */
export type SettingReader = (key: string) => { value?: string; source: string };

export const DEFAULT_IPV4_POOL_CIDR = '192.168.0.0/16';

/** calico-node's evaluateENVBool: false, 0, no, n, f (any case) are false; anything else set is true. */
export function envBool(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  return !['false', '0', 'no', 'n', 'f'].includes(value.toLowerCase());
}

function mode(value: string | undefined, source: string): DefaultPool['ipipMode'] {
  switch ((value ?? '').toLowerCase()) {
    case '':
    case 'off':
    case 'never':
      return 'Never';
    case 'crosssubnet':
    case 'cross-subnet':
      return 'CrossSubnet';
    case 'always':
      return 'Always';
    default:
      throw new ValidationError(source, `unrecognized mode ${JSON.stringify(value)}; use Always, CrossSubnet or Never`);
  }
}

function family(v: 4 | 6, read: SettingReader): DefaultPool | undefined {
  const key = (k: string) => read(`IPV${v}POOL_${k}`);
  const cidrSetting = key('CIDR');
  if (cidrSetting.value === 'none') return undefined;
  const cidrText = cidrSetting.value ?? (v === 4 ? DEFAULT_IPV4_POOL_CIDR : undefined);
  // Calico would invent a random ULA /48 for IPv6; Tabby only creates a named one.
  if (cidrText === undefined) return undefined;
  const parsed = parseCidr(cidrText);
  if (!parsed || parsed.family !== v) throw new ValidationError(cidrSetting.source, `invalid IPv${v} CIDR ${JSON.stringify(cidrText)}`);
  const size = key('BLOCK_SIZE');
  const blockSize = size.value === undefined ? (v === 4 ? 26 : 122) : Number(size.value);
  const [lo, hi] = v === 4 ? [20, 32] : [116, 128];
  if (!Number.isInteger(blockSize) || blockSize < lo || blockSize > hi) throw new ValidationError(size.source, `invalid block size ${JSON.stringify(size.value)} for IPv${v}: ${lo} to ${hi}`);
  const ipip = v === 4 ? key('IPIP') : { source: '' };
  const vxlan = key('VXLAN');
  const selector = key('NODE_SELECTOR').value;
  return {
    name: `default-ipv${v}-ippool`,
    cidr: parsed.network,
    ipipMode: mode(ipip.value, ipip.source),
    vxlanMode: mode(vxlan.value, vxlan.source),
    natOutgoing: envBool(key('NAT_OUTGOING').value, v === 4),
    blockSize,
    ...(selector ? { nodeSelector: selector } : {}),
    disableBGPExport: envBool(key('DISABLE_BGP_EXPORT').value, false),
  };
}

export function poolSettings(read: SettingReader): PoolSettings {
  const none = read('NO_DEFAULT_POOLS');
  if (envBool(none.value, false)) {
    const cidr = [read('IPV4POOL_CIDR'), read('IPV6POOL_CIDR')].find((s) => s.value !== undefined);
    if (cidr) throw new ValidationError(none.source, `conflicts with ${cidr.source}: no default pools, or a default pool, not both`);
    return {};
  }
  return { ipv4: family(4, read), ipv6: family(6, read) };
}

function resource(p: DefaultPool): IPPool {
  const { name, ...spec } = p;
  return { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name }, spec } as IPPool;
}

/** Create each configured default pool whose family has no pool yet; a pool another node created meanwhile is fine. */
export async function ensureDefaultPools(client: ResourceClient, settings: PoolSettings, log: Logger): Promise<string[]> {
  const pools = (await client.list('IPPool')).items as IPPool[];
  const created: string[] = [];
  for (const [v, pool] of [[4, settings.ipv4], [6, settings.ipv6]] as const) {
    if (!pool || pools.some((p) => parseCidr(p.spec.cidr)?.family === v)) continue;
    try {
      await client.write('create', [validateResource(resource(pool))]);
      created.push(pool.name);
      log.info({ pool: pool.name, cidr: pool.cidr, ipipMode: pool.ipipMode, vxlanMode: pool.vxlanMode, natOutgoing: pool.natOutgoing }, `created the default IPv${v} pool`);
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
    }
  }
  return created;
}
