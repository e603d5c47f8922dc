import { ValidationError } from '../../errors.js';
import { DEFAULTS } from '../types.js';
import { parseCidr } from '../net.js';
import { arrayOf, bool, cidr, int, object, oneOf, selector } from '../schema.js';
import type { KindDef } from './kind.js';

const encap = oneOf('Always', 'CrossSubnet', 'Never');

export const ipPool: KindDef = {
  kind: 'IPPool',
  aliases: ['ippool', 'ippools', 'ipp', 'ipps', 'pool', 'pools'],
  spec: object(
    {
      cidr: cidr({ masked: true }),
      blockSize: int(0, 128),
      ipipMode: encap,
      vxlanMode: encap,
      natOutgoing: bool,
      disabled: bool,
      disableBGPExport: bool,
      nodeSelector: selector,
      allowedUses: arrayOf(oneOf('Workload', 'Tunnel', 'LoadBalancer')),
      assignmentMode: oneOf('Automatic', 'Manual'),
    },
    ['cidr'],
  ),
  rules(spec) {
    const pool = parseCidr(spec.cidr as string)!;
    const v6 = pool.family === 6;
    const reject = (path: string, reason: string) => {
      throw new ValidationError(`spec.${path}`, reason);
    };
    if (spec.blockSize !== undefined) {
      const [min, max] = v6 ? [116, 128] : [20, 32];
      const size = spec.blockSize as number;
      if (size < min || size > max) reject('blockSize', `must be between ${min} and ${max} for an IPv${pool.family} pool, got ${size}`);
      if (size < pool.prefixLength) reject('blockSize', `/${size} blocks do not fit in the /${pool.prefixLength} pool`);
    }
    if (v6 && spec.ipipMode !== undefined && spec.ipipMode !== 'Never') reject('ipipMode', 'IPIP is not supported on IPv6 pools');
    const on = (m: unknown) => m !== undefined && m !== 'Never';
    if (on(spec.ipipMode) && on(spec.vxlanMode)) reject('vxlanMode', 'ipipMode and vxlanMode cannot both be enabled');
    if (pool.family === 4 && (pool.network.startsWith('127.') || /^169\.254\./.test(pool.network)) ) {
      reject('cidr', `${pool.network} overlaps loopback or link-local addresses`);
    }
  },
  defaults(spec) {
    const v6 = parseCidr(spec.cidr as string)!.family === 6;
    spec.blockSize ??= v6 ? DEFAULTS.blockSizeV6 : DEFAULTS.blockSizeV4;
    spec.ipipMode ??= 'Never';
    spec.vxlanMode ??= 'Never';
    spec.natOutgoing ??= false;
    spec.disabled ??= false;
    spec.disableBGPExport ??= false;
    spec.nodeSelector ??= 'all()';
    spec.allowedUses ??= ['Workload', 'Tunnel'];
    spec.assignmentMode ??= 'Automatic';
    return spec;
  },
  update(stored, next) {
    if (stored.cidr !== next.cidr) {
      throw new ValidationError('spec.cidr', `is immutable (stored ${stored.cidr}); create a new pool and disable this one`);
    }
  },
};
