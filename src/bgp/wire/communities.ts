// Text forms of communities (RFC 1997), large communities (RFC 8092) and extended
// communities (RFC 4360). On the wire and in PathAttributes a community is one 32-bit
// number; these helpers are for configuration, logs and tests.

import { WellKnownCommunity } from './constants.js';

export type LargeCommunity = readonly [globalAdmin: number, localData1: number, localData2: number];

const NAME_OF = new Map<number, string>(Object.entries(WellKnownCommunity).map(([name, value]) => [value, name]));

export function community(asn: number, value: number): number {
  return ((asn & 0xffff) * 0x10000 + (value & 0xffff)) >>> 0;
}

/** "NO_EXPORT" for well-known values, "65001:100" otherwise. */
export function formatCommunity(c: number): string {
  return NAME_OF.get(c) ?? `${c >>> 16}:${c & 0xffff}`;
}

/** Inverse of formatCommunity; undefined when the text is neither form. */
export function parseCommunity(s: string): number | undefined {
  const known = (WellKnownCommunity as Record<string, number>)[s.toUpperCase().replace(/-/g, '_')];
  if (known !== undefined) return known;
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const hi = Number(m[1]);
  const lo = Number(m[2]);
  return hi <= 0xffff && lo <= 0xffff ? community(hi, lo) : undefined;
}

export function formatLargeCommunity(c: LargeCommunity): string {
  return `${c[0]}:${c[1]}:${c[2]}`;
}

export function parseLargeCommunity(s: string): LargeCommunity | undefined {
  const m = /^(\d{1,10}):(\d{1,10}):(\d{1,10})$/.exec(s);
  if (!m) return undefined;
  const parts = [Number(m[1]), Number(m[2]), Number(m[3])] as const;
  return parts.every((n) => n <= 0xffffffff) ? parts : undefined;
}

/** Extended communities stay raw 8-octet values; shown as hex. */
export function formatExtendedCommunity(c: Uint8Array): string {
  return Buffer.from(c).toString('hex');
}
