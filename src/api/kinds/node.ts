import { ValidationError } from '../../errors.js';
import { arrayOf, asn, cidr, ip, mac, object, str } from '../schema.js';
import type { KindDef } from './kind.js';

export const node: KindDef = {
  kind: 'Node',
  aliases: ['node', 'nodes', 'no'],
  spec: object({
    bgp: object({
      // Host address with its subnet length: the length defines "same subnet" for CrossSubnet.
      ipv4Address: cidr({ family: 4, masked: false }),
      ipv6Address: cidr({ family: 6, masked: false }),
      asNumber: asn,
      routeReflectorClusterID: ip(4),
      ipv4IPIPTunnelAddr: ip(4),
    }),
    ipv4VXLANTunnelAddr: ip(4),
    vxlanTunnelMACAddr: mac,
    ipv6VXLANTunnelAddr: ip(6),
    vxlanTunnelMACAddrV6: mac,
    addresses: arrayOf(object({ address: str, type: str }, ['address'])),
    orchRefs: arrayOf(object({ nodeName: str, orchestrator: str }, ['orchestrator'])),
  }),
  rules(spec) {
    const bgp = spec.bgp as Record<string, unknown> | undefined;
    if (bgp && Object.keys(bgp).length > 0 && !bgp.ipv4Address && !bgp.ipv6Address) {
      throw new ValidationError('spec.bgp', 'needs ipv4Address or ipv6Address');
    }
  },
};
