import { ValidationError } from '../../errors.js';
import { parseCidr } from '../net.js';
import { arrayOf, cidr, int, object, oneOf, str } from '../schema.js';
import type { KindDef } from './kind.js';

function rules(family: 4 | 6) {
  const max = family === 4 ? 32 : 128;
  return arrayOf(
    object(
      {
        cidr: cidr({ family, masked: true }),
        matchOperator: oneOf('Equal', 'NotEqual', 'In', 'NotIn'),
        prefixLength: object({ min: int(0, max), max: int(0, max) }),
        source: oneOf('RemotePeers'),
        interface: str,
        action: oneOf('Accept', 'Reject'),
      },
      ['action'],
    ),
  );
}

export const bgpFilter: KindDef = {
  kind: 'BGPFilter',
  aliases: ['bgpfilter', 'bgpfilters'],
  spec: object({ exportV4: rules(4), importV4: rules(4), exportV6: rules(6), importV6: rules(6) }),
  rules(spec) {
    for (const list of ['exportV4', 'importV4', 'exportV6', 'importV6']) {
      ((spec[list] ?? []) as Record<string, unknown>[]).forEach((rule, i) => {
        const path = `spec.${list}[${i}]`;
        if ((rule.cidr === undefined) !== (rule.matchOperator === undefined)) {
          throw new ValidationError(path, 'cidr and matchOperator go together');
        }
        const len = rule.prefixLength as { min?: number; max?: number } | undefined;
        if (len?.min !== undefined && len.max !== undefined && len.min > len.max) {
          throw new ValidationError(`${path}.prefixLength`, `min ${len.min} is greater than max ${len.max}`);
        }
        if (len?.min !== undefined && rule.cidr && len.min < parseCidr(rule.cidr as string)!.prefixLength) {
          throw new ValidationError(`${path}.prefixLength.min`, `is shorter than the cidr's own length`);
        }
      });
    }
  },
};
