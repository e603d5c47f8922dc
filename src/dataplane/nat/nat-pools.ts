// The natOutgoing decision both dataplanes implement: translate when the source is
// in a pool with natOutgoing and the destination is in no pool at all. This file
// turns the declared pools into the two address sets per family that the iptables
// ipsets and the eBPF LPM tries hold. Pure, so it is unit-tested on its own.

import { ValidationError } from '../../errors.js';
import { cidrContains, parseCidr, parseIP, type Family } from '../../api/net.js';

/** What the NAT dataplanes need of an IPPool. */
export interface NatPool {
  /** The pool's CIDR; host bits are ignored. */
  cidr: string;
  natOutgoing: boolean;
  /**
   * Ignored: a disabled pool takes no new allocations, but its workloads still exist
   * and still need masquerading (Calico's Felix does the same).
   */
  disabled?: boolean;
}

export interface NatFamilySets {
  /** Networks of natOutgoing pools, canonical, sorted, unique. */
  masq: string[];
  /** Networks of every pool. */
  all: string[];
}

export type NatSets = Record<Family, NatFamilySets>;

export const NAT_FAMILIES: readonly Family[] = [4, 6];

/** Validates the pools and returns the address sets per family. */
export function natSets(pools: readonly NatPool[]): NatSets {
  if (!Array.isArray(pools)) throw new ValidationError('pools', 'must be an array');
  const masq: Record<Family, Set<string>> = { 4: new Set(), 6: new Set() };
  const all: Record<Family, Set<string>> = { 4: new Set(), 6: new Set() };
  pools.forEach((p, i) => {
    if (typeof p !== 'object' || p === null) throw new ValidationError(`pools[${i}]`, 'must be an object');
    const c = typeof p.cidr === 'string' ? parseCidr(p.cidr) : undefined;
    if (!c) throw new ValidationError(`pools[${i}].cidr`, `must be a CIDR, got ${JSON.stringify(p.cidr)}`);
    if (typeof p.natOutgoing !== 'boolean') throw new ValidationError(`pools[${i}].natOutgoing`, 'must be a boolean');
    if (p.disabled !== undefined && typeof p.disabled !== 'boolean') {
      throw new ValidationError(`pools[${i}].disabled`, 'must be a boolean');
    }
    all[c.family].add(c.network);
    if (p.natOutgoing) masq[c.family].add(c.network);
  });
  const sorted = (s: Set<string>) => [...s].sort(compareCidr);
  return {
    4: { masq: sorted(masq[4]), all: sorted(all[4]) },
    6: { masq: sorted(masq[6]), all: sorted(all[6]) },
  };
}

/** The decision itself, as a reference model for tests: would src → dst be translated? */
export function natApplies(sets: NatSets, src: string, dst: string): boolean {
  const s = parseIP(src);
  const d = parseIP(dst);
  if (!s || !d) throw new ValidationError('address', `must be IP addresses, got ${src} and ${dst}`);
  if (s.family !== d.family) return false;
  const host = (a: string, f: Family) => `${a}/${f === 4 ? 32 : 128}`;
  const f = sets[s.family];
  const inAny = (nets: string[], a: string) => nets.some((n) => cidrContains(n, host(a, s.family)));
  return inAny(f.masq, s.address) && !inAny(f.all, d.address);
}

/** Address bytes of a canonical address (IPv4: 4, IPv6: 16). */
export function addressBytes(address: string): Buffer {
  const p = parseIP(address);
  if (!p) throw new ValidationError('address', `must be an IP address, got ${JSON.stringify(address)}`);
  if (p.family === 4) return Buffer.from(p.address.split('.').map(Number));
  return ipv6Bytes(p.address);
}

function ipv6Bytes(text: string): Buffer {
  // Expand "::" and any embedded dotted quad, then write the eight groups.
  let t = text;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (dotted) {
    const b = dotted[1]!.split('.').map(Number);
    t = `${t.slice(0, -dotted[1]!.length)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = t.includes('::') ? t.split('::') as [string, string] : [t, undefined];
  const h = head ? head.split(':') : [];
  const tl = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** The network part of a CIDR as bytes, and its prefix length. */
export function cidrBytes(cidr: string): { family: Family; prefixLength: number; network: Buffer } {
  const c = parseCidr(cidr);
  if (!c) throw new ValidationError('cidr', `must be a CIDR, got ${JSON.stringify(cidr)}`);
  return { family: c.family, prefixLength: c.prefixLength, network: addressBytes(c.network.split('/')[0]!) };
}

function compareCidr(a: string, b: string): number {
  const x = cidrBytes(a);
  const y = cidrBytes(b);
  return Buffer.compare(x.network, y.network) || x.prefixLength - y.prefixLength;
}
