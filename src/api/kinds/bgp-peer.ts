// BGPPeer as Calico's validator (validateBGPPeerSpec) and the CRD's CEL rules
// (projectcalico.org_bgppeers.yaml) decide. Neither peerIP nor asNumber is required: a peer
// without them configures no session, as in Calico.
import { ValidationError } from '../../errors.js';
import { checkBfdAnnotations } from '../bfd-annotations.js';
import { parseIP, parsePeerIP } from '../net.js';
import { arrayOf, asn, bgpPassword, bool, duration, int, INT32, ip, object, oneOf, peerIP, resourceName, selector, str } from '../schema.js';
import { peerLimits } from '../peer-annotations.js';
import type { KindDef } from './kind.js';

const fail = (path: string, reason: string): never => {
  throw new ValidationError(`spec.${path}`, reason);
};

const set = (v: unknown) => v !== undefined && v !== '';

export const bgpPeer: KindDef = {
  kind: 'BGPPeer',
  aliases: ['bgppeer', 'bgppeers', 'bgpp', 'bgpps', 'bp', 'bps'],
  spec: object({
    node: resourceName,
    nodeSelector: selector,
    peerIP,
    asNumber: asn,
    peerSelector: selector,
    keepOriginalNextHop: bool,
    nextHopMode: oneOf('Auto', 'Self', 'Keep'),
    password: bgpPassword,
    sourceAddress: oneOf('UseNodeIP', 'None'),
    failureDetectionMode: oneOf('None', 'BFDIfDirectlyConnected'),
    restartMode: oneOf('GracefulRestart', 'LongLivedGracefulRestart'),
    maxRestartTime: duration,
    birdGatewayMode: oneOf('Recursive', 'DirectIfDirectlyConnected'),
    keepaliveTime: duration,
    numAllowedLocalASNumbers: int(...INT32),
    ttlSecurity: int(0, 255),
    reachableBy: ip(),
    filters: arrayOf(str),
    localASNumber: asn,
    localWorkloadSelector: selector,
    reversePeering: oneOf('Auto', 'Manual'),
  }),
  metadata(meta, spec) {
    checkBfdAnnotations(meta.annotations, spec.failureDetectionMode);
    peerLimits(meta.annotations);
  },
  rules(spec) {
    // The CRD's x-kubernetes-validations, in its order.
    if (set(spec.node) && set(spec.nodeSelector)) fail('nodeSelector', 'node and nodeSelector cannot both be set');
    if (set(spec.peerIP) && set(spec.peerSelector)) fail('peerSelector', 'peerIP and peerSelector cannot both be set');
    // asNumber 0 counts as empty (`!has(self.asNumber) || self.asNumber == 0`).
    const as = spec.asNumber as number | undefined;
    if (set(spec.peerSelector) && as) fail('asNumber', 'must be empty when peerSelector is set (each selected node\'s own AS is used)');
    if (set(spec.localWorkloadSelector)) {
      if (set(spec.peerIP)) fail('peerIP', 'must be empty when localWorkloadSelector is set');
      if (set(spec.peerSelector)) fail('peerSelector', 'must be empty when localWorkloadSelector is set');
      if (!as) fail('asNumber', 'is required when localWorkloadSelector is set');
    }
    if (set(spec.reachableBy)) {
      if (!set(spec.peerIP)) fail('reachableBy', 'must be empty when peerIP is empty');
      // validateBGPPeerSpec: the gateway and the peer are in one address family.
      if (parseIP(spec.reachableBy as string)!.family !== parsePeerIP(spec.peerIP as string)!.family) {
        fail('reachableBy', 'is not in the address family of peerIP');
      }
    }
    if (spec.keepOriginalNextHop === true && spec.nextHopMode !== undefined) {
      fail('nextHopMode', 'keepOriginalNextHop and nextHopMode cannot both be set; keepOriginalNextHop is deprecated, use nextHopMode instead');
    }
  },
};
