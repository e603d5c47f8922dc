// BGPConfiguration as Calico's validator (validateBGPConfigurationSpec) and CRD
// (projectcalico.org_bgpconfigurations.yaml: patterns, enums, defaults, CEL rules) decide.
import { ValidationError } from '../../errors.js';
import { arrayOf, asn, bgpPassword, bool, cidr, communityValue, duration, int, ip, matching, object, oneOf, resourceName, str } from '../schema.js';
import type { KindDef } from './kind.js';

const serviceCidrs = arrayOf(object({ cidr: cidr({ masked: true }) }, ['cidr']));

/** validator.go ignoredInterfaceRegex, and "*" alone is refused (validateIgnoredInterface). */
const ignoredInterface = matching(/^(?!\*$)[a-zA-Z0-9_.*-]{1,15}$/, 'an interface name or glob (1-15 of a-z A-Z 0-9 _ . * -, not "*" alone)');

export const LOG_SEVERITIES = ['Trace', 'Debug', 'Info', 'Warning', 'Error', 'Fatal'] as const;
/** CRD pattern `^(?i)(Trace|Debug|Info|Warning|Error|Fatal)?$`: any case. */
const logSeverity = matching(new RegExp(`^(${LOG_SEVERITIES.join('|')})?$`, 'i'), `a log severity (${LOG_SEVERITIES.join(', ')}, any case)`);

/**
 * Fields confd reads from a per-node `node.<name>` configuration (listen port, log level, bind
 * mode, ignored interfaces, prefix advertisements with their communities); Calico ignores the
 * rest there, so Tabby refuses them instead of accepting them silently.
 */
const PER_NODE_FIELDS = new Set(['listenPort', 'logSeverityScreen', 'prefixAdvertisements', 'communities', 'bindMode', 'ignoredInterfaces']);

const fail = (path: string, reason: string): never => {
  throw new ValidationError(path, reason);
};

export const bgpConfiguration: KindDef = {
  kind: 'BGPConfiguration',
  aliases: ['bgpconfiguration', 'bgpconfigurations', 'bgpconfig', 'bgpconfigs'],
  spec: object({
    asNumber: asn,
    nodeToNodeMeshEnabled: bool,
    listenPort: int(1, 65535),
    bindMode: oneOf('None', 'NodeIP'),
    logSeverityScreen: logSeverity,
    nodeMeshPassword: bgpPassword,
    nodeMeshMaxRestartTime: duration,
    communities: arrayOf(object({ name: resourceName, value: communityValue }, ['name', 'value'])),
    prefixAdvertisements: arrayOf(object({ cidr: cidr({ masked: true }), communities: arrayOf(str) }, ['cidr', 'communities'])),
    serviceClusterIPs: serviceCidrs,
    serviceExternalIPs: serviceCidrs,
    serviceLoadBalancerIPs: serviceCidrs,
    serviceLoadBalancerAggregation: oneOf('Enabled', 'Disabled'),
    ignoredInterfaces: arrayOf(ignoredInterface),
    programClusterRoutes: oneOf('Enabled', 'Disabled'),
    localWorkloadPeeringIPV4: ip(4),
    localWorkloadPeeringIPV6: ip(6),
  }),
  name(name) {
    if (name !== 'default' && !/^node\..+/.test(name)) {
      throw new ValidationError('metadata.name', `must be "default" or "node.<nodename>", got ${JSON.stringify(name)}`);
    }
  },
  rules(spec, name) {
    if (name.startsWith('node.')) {
      for (const field of Object.keys(spec)) {
        if (!PER_NODE_FIELDS.has(field)) fail(`spec.${field}`, 'only takes effect in the "default" BGPConfiguration, not per node');
      }
    }
    // CRD CEL: the mesh password and restart time need the mesh not explicitly off.
    if (spec.nodeToNodeMeshEnabled === false) {
      for (const f of ['nodeMeshPassword', 'nodeMeshMaxRestartTime']) {
        if (spec[f] !== undefined) fail(`spec.${f}`, 'cannot be set when nodeToNodeMeshEnabled is false');
      }
    }
    const communities = (spec.communities ?? []) as { name: string }[];
    const ads = (spec.prefixAdvertisements ?? []) as { communities: string[] }[];
    if (communities.length > 0 && ads.length === 0) fail('spec.communities', 'communities are defined but not used in spec.prefixAdvertisements');
    const named = new Set(communities.map((c) => c.name));
    ads.forEach((ad, i) =>
      ad.communities.forEach((c, j) => {
        if (named.has(c)) return;
        try {
          communityValue(c, '');
        } catch {
          fail(`spec.prefixAdvertisements[${i}].communities[${j}]`, `${JSON.stringify(c)} is neither a community defined in spec.communities nor aa:nn / aa:nn:mm`);
        }
      }),
    );
  },
  // CRD schema defaults (Calico's Validate applies them too: TestCRDDefaults_BGPConfiguration).
  // The load-balancer aggregation default only on "default", where it takes effect.
  defaults(spec, name) {
    spec.logSeverityScreen ??= 'Info';
    if (name === 'default') spec.serviceLoadBalancerAggregation ??= 'Enabled';
    return spec;
  },
};
