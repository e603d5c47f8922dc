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

/** `IPv4`, `IPv4:port`, `IPv6`, `[IPv6]:port` as Calico's BGPPeer.peerIP accepts. */
export function parsePeerIP(text: string): ParsedPeerIP | undefined {
  if (typeof text !== 'string') return undefined;
  let host = text;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
    if (!Address6.isValid(host) || host.includes('/')) return undefined;
  } else {
    const v4port = /^([0-9.]+):(\d+)$/.exec(text);
    if (v4port) [host, portText] = [v4port[1]!, v4port[2]];
  }
  const ip = parseIP(host);
  if (!ip) return undefined;
  if (portText === undefined) return ip;
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { ...ip, port };
}

/** Does `inner` (a CIDR) lie within `outer` (a CIDR)? */
export function cidrContains(outer: string, inner: string): boolean {
  const o = parseAddress(outer);
  const i = parseAddress(inner);
  if (!o || !i || (o instanceof Address4) !== (i instanceof Address4)) return false;
  return i.isInSubnet(o as never);
}
