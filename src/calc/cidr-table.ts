// "Which of these CIDRs holds this prefix?" asked once per learned route, so it must not
// parse with ip-address every time: IPv4 (nearly every route) is matched as numbers;
// IPv6 falls back to cidrContains. The most specific CIDR wins (pools may nest).

import { cidrContains, parseCidr } from '../api/net.js';

interface V4 {
  net: number;
  len: number;
  index: number;
}

/** The dotted quad as an unsigned number, or -1. */
export function ipv4Number(text: string, end = text.length): number {
  let v = 0;
  let part = -1;
  let dots = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (part < 0 || ++dots > 3) return -1;
      v = v * 256 + part;
      part = -1;
    } else if (c >= 48 && c <= 57) {
      part = part < 0 ? c - 48 : part * 10 + c - 48;
      if (part > 255) return -1;
    } else {
      return -1;
    }
  }
  return dots === 3 && part >= 0 ? v * 256 + part : -1;
}

/** `a.b.c.d/len` as [network, len] numbers, or undefined (IPv6, malformed). */
export function ipv4Prefix(prefix: string): [number, number] | undefined {
  const slash = prefix.indexOf('/');
  if (slash < 0) return undefined;
  const net = ipv4Number(prefix, slash);
  const len = Number(prefix.slice(slash + 1));
  return net < 0 || !Number.isInteger(len) || len < 0 || len > 32 ? undefined : [net, len];
}

const mask = (len: number) => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

export class CidrTable {
  private readonly v4: V4[] = [];
  private readonly v6: { cidr: string; len: number; index: number }[] = [];

  constructor(readonly cidrs: readonly string[]) {
    cidrs.forEach((cidr, index) => {
      const p = ipv4Prefix(cidr);
      if (p) this.v4.push({ net: (p[0] & mask(p[1])) >>> 0, len: p[1], index });
      else {
        const c = parseCidr(cidr);
        if (c?.family === 6) this.v6.push({ cidr: c.network, len: c.prefixLength, index });
      }
    });
    // Most specific first, so the first hit is the answer.
    this.v4.sort((a, b) => b.len - a.len);
    this.v6.sort((a, b) => b.len - a.len);
  }

  get size(): number {
    return this.cidrs.length;
  }

  /** Index (in the constructor's list) of the most specific CIDR holding `prefix`, or -1. */
  lookup(prefix: string): number {
    if (this.v4.length + this.v6.length === 0) return -1;
    const p = ipv4Prefix(prefix);
    if (p) {
      const [net, len] = p;
      for (const c of this.v4) if (len >= c.len && (net & mask(c.len)) >>> 0 === c.net) return c.index;
      return -1;
    }
    for (const c of this.v6) if (cidrContains(c.cidr, prefix)) return c.index;
    return -1;
  }

  contains(prefix: string): boolean {
    return this.lookup(prefix) >= 0;
  }
}
