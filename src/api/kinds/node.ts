// Node as Calico's validator decides (libcalico-go internalapi NodeSpec/NodeStatus validate
// tags and validateNodeSpec). Addresses accept a bare IP as a full-length prefix (cidrv4/cidrv6
// use ParseCIDROrIP), stored as address/32 or address/128.
import { ValidationError } from '../../errors.js';
import { arrayOf, asn, cidr, ip, mac, object, resourceName, str, wireguardKey } from '../schema.js';
import type { KindDef } from './kind.js';

export const nodeStatus = object({
  wireguardPublicKey: wireguardKey,
  wireguardPublicKeyV6: wireguardKey,
  podCIDRs: arrayOf(cidr({ masked: false, bareIP: true })),
});

export const node: KindDef = {
  kind: 'Node',
  aliases: ['node', 'nodes', 'no'],
  spec: object({
    bgp: object({
      // Host address with its subnet length: the length defines "same subnet" for CrossSubnet.
      ipv4Address: cidr({ family: 4, masked: false, bareIP: true }),
      ipv6Address: cidr({ family: 6, masked: false, bareIP: true }),
      asNumber: asn,
      routeReflectorClusterID: ip(4),
      ipv4IPIPTunnelAddr: ip(4),
    }),
    ipv4VXLANTunnelAddr: ip(4),
    vxlanTunnelMACAddr: mac,
    ipv6VXLANTunnelAddr: ip(6),
    vxlanTunnelMACAddrV6: mac,
    // NodeAddress.address is validated as "net": an address or a masked network.
    addresses: arrayOf(object({ address: cidr({ masked: true, bareIP: true }), type: str }, ['address'])),
    orchRefs: arrayOf(object({ nodeName: str, orchestrator: str })),
    wireguard: object({ interfaceIPv4Address: ip(4), interfaceIPv6Address: ip(6) }),
    interfaces: arrayOf(object({ name: resourceName, addresses: arrayOf(str) })),
  }),
  rules(spec) {
    // validateNodeSpec: "Spec.BGP should not be empty".
    const bgp = spec.bgp as Record<string, unknown> | undefined;
    if (bgp && Object.keys(bgp).length === 0) throw new ValidationError('spec.bgp', 'should not be empty (omit it, or set ipv4Address or ipv6Address)');
  },
  status: nodeStatus,
};
