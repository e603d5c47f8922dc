import { ValidationError } from '../../errors.js';
import { arrayOf, asn, bool, cidr, communityValue, duration, int, object, oneOf, secretKeyRef, str } from '../schema.js';
import type { KindDef } from './kind.js';

const serviceCidrs = arrayOf(object({ cidr: cidr({ masked: true }) }, ['cidr']));

/** Fields a per-node `node.<name>` configuration may set (the rest are cluster-wide). */
const PER_NODE_FIELDS = new Set(['listenPort', 'logSeverityScreen', 'prefixAdvertisements', 'bindMode', 'ignoredInterfaces']);

export const bgpConfiguration: KindDef = {
  kind: 'BGPConfiguration',
  aliases: ['bgpconfiguration', 'bgpconfigurations', 'bgpconfig', 'bgpconfigs'],
  spec: object({
    asNumber: asn,
    nodeToNodeMeshEnabled: bool,
    listenPort: int(1, 65535),
    bindMode: oneOf('None', 'NodeIP'),
    logSeverityScreen: oneOf('Trace', 'Debug', 'Info', 'Warning', 'Error', 'Fatal'),
    nodeMeshPassword: secretKeyRef,
    nodeMeshMaxRestartTime: duration,
    communities: arrayOf(object({ name: str, value: communityValue }, ['name', 'value'])),
    prefixAdvertisements: arrayOf(object({ cidr: cidr({ masked: true }), communities: arrayOf(str) }, ['cidr'])),
    serviceClusterIPs: serviceCidrs,
    serviceExternalIPs: serviceCidrs,
    serviceLoadBalancerIPs: serviceCidrs,
    ignoredInterfaces: arrayOf(str),
  }),
  name(name) {
    if (name !== 'default' && !/^node\..+/.test(name)) {
      throw new ValidationError('metadata.name', `must be "default" or "node.<nodename>", got ${JSON.stringify(name)}`);
    }
  },
  rules(spec, name) {
    if (name.startsWith('node.')) {
      for (const field of Object.keys(spec)) {
        if (!PER_NODE_FIELDS.has(field)) {
          throw new ValidationError(`spec.${field}`, `can only be set in the "default" BGPConfiguration, not per node`);
        }
      }
    }
    const named = new Set(((spec.communities ?? []) as { name: string }[]).map((c) => c.name));
    const ads = (spec.prefixAdvertisements ?? []) as { communities?: string[] }[];
    ads.forEach((ad, i) =>
      (ad.communities ?? []).forEach((c, j) => {
        if (named.has(c)) return;
        try {
          communityValue(c, '');
        } catch {
          throw new ValidationError(`spec.prefixAdvertisements[${i}].communities[${j}]`, `${JSON.stringify(c)} is neither a community defined in spec.communities nor aa:nn / aa:nn:mm`);
        }
      }),
    );
  },
};
