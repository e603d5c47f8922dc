// Address parsing shared by validation and the CLI. ip-address does the maths; these
// helpers only turn its answers into the canonical strings Tabby stores.
import { Address4, Address6 } from 'ip-address';

export type Family = 4 | 6;

export interface ParsedCidr {
  family: Family;
  /** Canonical address part as written after correction (not masked). */
  address: string;
  prefixLength: number;
  /** Canonical `network/len`. */
  network: string;
  /** True when no host bits are set. */
  masked: boolean;
}

export interface ParsedPeerIP {
  family: Family;
  address: string;
  port?: number;
}

function parseAddress(text: string): Address4 | Address6 | undefined {
  if (Address4.isValid(text)) return new Address4(text);
  if (Address6.isValid(text)) return new Address6(text);
  return undefined;
}

/** In fe80::/10 (RFC 4291 §2.5.6), for a canonical (lower-case, compressed) IPv6 address. */
export const isLinkLocal6 = (address: string): boolean => address.indexOf(':') === 4 && /^fe[89ab]/i.test(address);

/** A bare IP address in canonical form, or undefined. */
export function parseIP(text: string): { family: Family; address: string } | undefined {
  if (typeof text !== 'string' || text.includes('/')) return undefined;
  const a = parseAddress(text);
  if (!a) return undefined;
  return { family: a instanceof Address4 ? 4 : 6, address: a.correctForm() };
}

/** `addr/len` with an explicit prefix length; undefined when malformed. */
export function parseCidr(text: string): ParsedCidr | undefined {
  if (typeof text !== 'string' || !/^[^/]+\/\d{1,3}$/.test(text)) return undefined;
  const a = parseAddress(text);
  if (!a) return undefined;
  const family: Family = a instanceof Address4 ? 4 : 6;
  const address = a.correctForm();
  const start = a.startAddress().correctForm();
  return { family, address, prefixLength: a.subnetMask, network: `${start}/${a.subnetMask}`, masked: start === address };
}

/**
 * A BGPPeer peerIP as Calico's validator reads it (validator.go processIPPort and the CRD's
 * CEL rule): `IP`, `IPv4:port` or `[IP]:port` with port 1-65535. A bracketed address needs a
 * port, and an IPv4 address in brackets is accepted as Calico accepts it.
 */
export function parsePeerIP(text: string): ParsedPeerIP | undefined {
  if (typeof text !== 'string') return undefined;
  const withPort = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(text) ?? /^([0-9.]+):(\d{1,5})$/.exec(text);
  const ip = parseIP(withPort ? withPort[1]! : text);
  if (!ip) return undefined;
  if (!withPort) return ip;
  const port = Number(withPort[2]);
  return port >= 1 && port <= 65535 ? { ...ip, port } : undefined;
}

/** `IPv4:port` or `[IPv6]:port`, the canonical peerIP text (just the address without a port). */
export function formatPeerIP(p: ParsedPeerIP): string {
  if (p.port === undefined) return p.address;
  return p.family === 4 ? `${p.address}:${p.port}` : `[${p.address}]:${p.port}`;
}

/** Do two CIDRs share any address? */
export function cidrsOverlap(a: string, b: string): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

/** Does `inner` (a CIDR) lie within `outer` (a CIDR)? */
export function cidrContains(outer: string, inner: string): boolean {
  const o = parseAddress(outer);
  const i = parseAddress(inner);
  if (!o || !i || (o instanceof Address4) !== (i instanceof Address4)) return false;
  return i.isInSubnet(o as never);
}
