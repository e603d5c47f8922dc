// One row per address family the codec understands. Adding a family is adding a row.

import { Afi, Safi } from './constants.js';
import {
  formatIpv4At,
  formatIpv6At,
  readIpv4Prefixes,
  readIpv6Prefixes,
  writeIpv4Address,
  writeIpv4Prefix,
  writeIpv6Address,
  writeIpv6Prefix,
} from './prefix.js';
import type { Writer } from './writer.js';

export type Family = 'ipv4' | 'ipv6';

export interface FamilyRow {
  readonly name: Family;
  readonly afi: number;
  readonly safi: number;
  readonly addressLength: number;
  readonly maxPrefixLength: number;
  readPrefixes(buf: Buffer, pos: number, end: number, out: string[], ids: number[] | undefined): string | undefined;
  writePrefix(w: Writer, prefix: string): void;
  formatAddress(buf: Uint8Array, pos: number): string;
  writeAddress(w: Writer, address: string): void;
}

export const FAMILIES: Readonly<Record<Family, FamilyRow>> = {
  ipv4: {
    name: 'ipv4',
    afi: Afi.IPV4,
    safi: Safi.UNICAST,
    addressLength: 4,
    maxPrefixLength: 32,
    readPrefixes: readIpv4Prefixes,
    writePrefix: writeIpv4Prefix,
    formatAddress: formatIpv4At,
    writeAddress: writeIpv4Address,
  },
  ipv6: {
    name: 'ipv6',
    afi: Afi.IPV6,
    safi: Safi.UNICAST,
    addressLength: 16,
    maxPrefixLength: 128,
    readPrefixes: readIpv6Prefixes,
    writePrefix: writeIpv6Prefix,
    formatAddress: formatIpv6At,
    writeAddress: writeIpv6Address,
  },
};

export const FAMILY_LIST: readonly FamilyRow[] = Object.values(FAMILIES);

export function familyOf(afi: number, safi: number): Family | undefined {
  for (const row of FAMILY_LIST) if (row.afi === afi && row.safi === safi) return row.name;
  return undefined;
}

/** Writes NLRI entries, each preceded by its path identifier when add-path is on (0 if none given). */
export function writePrefixes(w: Writer, row: FamilyRow, prefixes: readonly string[], pathIds: readonly number[] | undefined, addPath: boolean): void {
  for (let i = 0; i < prefixes.length; i++) {
    if (addPath) w.u32(pathIds?.[i] ?? 0);
    row.writePrefix(w, prefixes[i]!);
  }
}
