// Tunnel MTUs: what tunnel routes must carry so that inner packet plus tunnel
// headers still fit the host interface (Calico's overheads).

import { ValidationError } from '../../errors.js';

/** Bytes each tunnel adds in front of the inner packet. */
export const ENCAP_OVERHEAD = {
  /** Outer IPv4 header. */
  ipip: 20,
  /** Outer IPv4 + UDP + VXLAN + inner Ethernet. */
  vxlan: 50,
  /** Outer IPv6 + UDP + VXLAN + inner Ethernet. */
  vxlanV6: 70,
} as const;

export type EncapOverheadKind = keyof typeof ENCAP_OVERHEAD;

/** IPv4's minimum MTU (RFC 791): below this a tunnel route makes no sense. */
const MIN_TUNNEL_MTU = 576;

/** The MTU a tunnel route must carry over a host interface of `hostMtu`. */
export function tunnelMtu(hostMtu: number, kind: EncapOverheadKind): number {
  if (!Number.isInteger(hostMtu) || hostMtu < 68 || hostMtu > 65535) {
    throw new ValidationError('hostMtu', 'must be an integer from 68 to 65535');
  }
  if (!(kind in ENCAP_OVERHEAD)) throw new ValidationError('kind', `must be one of ${Object.keys(ENCAP_OVERHEAD).join(', ')}`);
  const mtu = hostMtu - ENCAP_OVERHEAD[kind];
  if (mtu < MIN_TUNNEL_MTU) throw new ValidationError('hostMtu', `${hostMtu} leaves ${mtu} for ${kind}, below ${MIN_TUNNEL_MTU}`);
  return mtu;
}

/** Calico's host MTU: the smallest MTU among the interfaces that are up. */
export function hostMtu(interfaces: ReadonlyArray<{ mtu: number; up: boolean }>): number | undefined {
  let min: number | undefined;
  for (const i of interfaces) if (i.up && (min === undefined || i.mtu < min)) min = i.mtu;
  return min;
}
