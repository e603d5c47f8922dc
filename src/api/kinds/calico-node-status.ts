import { arrayOf, int, object, oneOf, str } from '../schema.js';
import type { KindDef } from './kind.js';

export const calicoNodeStatus: KindDef = {
  kind: 'CalicoNodeStatus',
  aliases: ['caliconodestatus', 'caliconodestatuses', 'cns'],
  spec: object({ node: str, classes: arrayOf(oneOf('Agent', 'BGP', 'Routes')), updatePeriodSeconds: int(0, 86400) }, ['node']),
  defaults(spec) {
    spec.classes ??= ['Agent', 'BGP', 'Routes'];
    spec.updatePeriodSeconds ??= 10;
    return spec;
  },
  // Written by the agent, kept as given.
  status: true,
};
