import { ValidationError } from '../../errors.js';
import { arrayOf, asn, bool, duration, int, ip, object, oneOf, peerIP, resourceName, secretKeyRef, selector, str } from '../schema.js';
import type { KindDef } from './kind.js';

export const bgpPeer: KindDef = {
  kind: 'BGPPeer',
  aliases: ['bgppeer', 'bgppeers', 'bgpp', 'bgpps', 'bp', 'bps'],
  spec: object({
    node: str,
    nodeSelector: selector,
    peerIP,
    asNumber: asn,
    peerSelector: selector,
    keepOriginalNextHop: bool,
    nextHopMode: oneOf('Auto', 'Self', 'Keep'),
    password: secretKeyRef,
    sourceAddress: oneOf('UseNodeIP', 'None'),
    failureDetectionMode: oneOf('None', 'BFDIfDirectlyConnected'),
    restartMode: oneOf('GracefulRestart', 'LongLivedGracefulRestart'),
    maxRestartTime: duration,
    birdGatewayMode: oneOf('Recursive', 'DirectIfDirectlyConnected'),
    keepaliveTime: duration,
    numAllowedLocalASNumbers: int(0, 10),
    ttlSecurity: int(0, 255),
    reachableBy: ip(),
    filters: arrayOf(resourceName),
    localASNumber: asn,
    localWorkloadSelector: selector,
  }),
  rules(spec) {
    const reject = (path: string, reason: string) => {
      throw new ValidationError(`spec.${path}`, reason);
    };
    if (spec.node !== undefined && spec.nodeSelector !== undefined) reject('nodeSelector', 'cannot be set together with spec.node');
    if (spec.peerSelector !== undefined) {
      if (spec.peerIP !== undefined) reject('peerIP', 'cannot be set together with spec.peerSelector');
      if (spec.asNumber !== undefined) reject('asNumber', 'must be empty with spec.peerSelector (the AS of each selected node is used)');
    } else {
      if (spec.peerIP === undefined) reject('peerIP', 'is required (or set spec.peerSelector)');
      if (spec.asNumber === undefined) reject('asNumber', 'is required when spec.peerIP is set');
    }
    if (spec.keepOriginalNextHop === true && spec.nextHopMode !== undefined && spec.nextHopMode !== 'Keep') {
      reject('nextHopMode', 'conflicts with keepOriginalNextHop: true');
    }
  },
};
