// IPPool as Calico's validator (validateIPPoolSpec) and the CRD's enums and CEL rules
// (projectcalico.org_ippools.yaml) decide. Overlap with other pools needs the datastore, so
// the client checks it when writing (poolOverlaps below is the pure half).
import { ValidationError } from '../../errors.js';
import { cidrsOverlap, parseCidr } from '../net.js';
import { parseSelector } from '../selector.js';
import { DEFAULTS, type IPPool } from '../types.js';
import { arrayOf, bool, cidr, int, object, oneOf, selector } from '../schema.js';
import type { KindDef } from './kind.js';

const encap = oneOf('Always', 'CrossSubnet', 'Never');

const fail = (path: string, reason: string): never => {
  throw new ValidationError(`spec.${path}`, reason);
};

/** A selector that is only global(): Calico's CEL refuses it for pools. */
const isGlobal = (text: unknown) => typeof text === 'string' && parseSelector(text).ast.kind === 'global';

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
      namespaceSelector: selector,
      allowedUses: arrayOf(oneOf('Workload', 'Tunnel', 'LoadBalancer')),
      assignmentMode: oneOf('Automatic', 'Manual'),
      // APIv1 leftovers Calico refuses when set (validate tags mustBeNil / mustBeFalse).
      ipip: (v, p) => fail(p.slice('spec.'.length), 'is an APIv1 field; use ipipMode'),
      'nat-outgoing': (v, p) => (v === false ? false : fail(p.slice('spec.'.length), 'is an APIv1 field; use natOutgoing')),
    },
    ['cidr'],
  ),
  rules(spec) {
    const pool = parseCidr(spec.cidr as string)!;
    const v6 = pool.family === 6;
    if (spec.blockSize !== undefined) {
      // Calico IPAM's block sizes; a size outside the family cannot be allocated.
      const [min, max] = v6 ? [116, 128] : [20, 32];
      const size = spec.blockSize as number;
      if (size < min || size > max) fail('blockSize', `must be between ${min} and ${max} for an IPv${pool.family} pool, got ${size}`);
    }
    // validateIPPoolSpec: an enabled pool must hold at least one block.
    const blockSize = (spec.blockSize as number | undefined) ?? (v6 ? DEFAULTS.blockSizeV6 : DEFAULTS.blockSizeV4);
    if (spec.disabled !== true && pool.prefixLength > blockSize) {
      fail('cidr', `the /${pool.prefixLength} pool is smaller than one /${blockSize} block (Calico IPAM needs the pool at least as large as the block size)`);
    }
    if (v6 ? cidrsOverlap(pool.network, 'fe80::/10') : cidrsOverlap(pool.network, '169.254.0.0/16')) {
      fail('cidr', `${pool.network} overlaps the link-local range ${v6 ? 'fe80::/10' : '169.254.0.0/16'}`);
    }
    const on = (m: unknown) => m !== undefined && m !== 'Never';
    if (on(spec.ipipMode) && on(spec.vxlanMode)) fail('vxlanMode', 'ipipMode and vxlanMode cannot both be enabled');
    if (v6 && on(spec.ipipMode)) fail('ipipMode', 'IPIP is not supported on IPv6 pools');
    const uses = (spec.allowedUses ?? []) as string[];
    if (uses.includes('LoadBalancer')) {
      if (uses.some((u) => u !== 'LoadBalancer')) fail('allowedUses', 'LoadBalancer cannot be combined with Workload or Tunnel allowed uses');
      if (on(spec.ipipMode) || on(spec.vxlanMode)) fail('allowedUses', 'a LoadBalancer IP pool cannot have IPIP or VXLAN enabled');
      if (spec.disableBGPExport === true) fail('disableBGPExport', 'LoadBalancer IP pools cannot disable BGP export');
      if (spec.nodeSelector !== undefined && spec.nodeSelector !== 'all()') fail('nodeSelector', 'an IP pool with allowed use LoadBalancer must have nodeSelector all()');
    }
    if (uses.includes('Tunnel') && spec.namespaceSelector !== undefined) fail('namespaceSelector', 'an IP pool with allowed use Tunnel cannot have a namespaceSelector');
    if (isGlobal(spec.nodeSelector)) fail('nodeSelector', 'global() is not valid for an IPPool nodeSelector');
    if (isGlobal(spec.namespaceSelector)) fail('namespaceSelector', 'global() is not valid for an IPPool namespaceSelector');
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

/**
 * The first other pool whose CIDR overlaps this one (Calico refuses an overlapping pool when
 * it is created: libcalico-go clientv3 ippool.go). Pools of the same name are the same pool.
 */
export function poolOverlaps(pool: IPPool, others: readonly IPPool[]): IPPool | undefined {
  return others.find((o) => o.metadata.name !== pool.metadata.name && cidrsOverlap(o.spec.cidr, pool.spec.cidr));
}
