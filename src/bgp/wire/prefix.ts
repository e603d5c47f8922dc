// Addresses and NLRI prefixes as strings ("10.0.0.0/24", "fd00::/64"), written by hand:
// this is the hot path of UPDATE decoding, so no per-prefix allocation beyond the string,
// no regular expressions and no Node address helpers.

import type { Writer } from './writer.js';

const DEC: string[] = Array.from({ length: 256 }, (_, i) => String(i));
const SLASH: string[] = Array.from({ length: 129 }, (_, i) => `/${i}`);
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16));
const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

// Scratch space for one address at a time; every function fills it before reading it.
const GROUPS = new Uint16Array(8);

/**
 * A prefix string in one piece. Concatenation makes a rope (a cons string) of its parts,
 * which costs twice the memory of the text; reading a character flattens it, and the GC
 * then drops the rope. A RIB keeps a million of these.
 */
function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}

// Scratch for the text of one IPv4 prefix: written as bytes and read out as one flat
// string, so a prefix costs its string alone (no rope of seven parts to flatten and drop).
const TEXT = Buffer.alloc(24);

function writeDecimal(n: number, at: number): number {
  if (n >= 100) TEXT[at++] = 48 + ((n / 100) | 0);
  if (n >= 10) TEXT[at++] = 48 + (((n / 10) | 0) % 10);
  TEXT[at++] = 48 + (n % 10);
  return at;
}

/** "a.b.c.d/len" of an IPv4 prefix, one flat string. */
function ipv4PrefixText(v: number, len: number): string {
  let at = writeDecimal(v >>> 24, 0);
  TEXT[at++] = 46;
  at = writeDecimal((v >>> 16) & 255, at);
  TEXT[at++] = 46;
  at = writeDecimal((v >>> 8) & 255, at);
  TEXT[at++] = 46;
  at = writeDecimal(v & 255, at);
  TEXT[at++] = 47;
  at = writeDecimal(len, at);
  return TEXT.toString('latin1', 0, at);
}

function dotted(v: number): string {
  return DEC[v >>> 24] + '.' + DEC[(v >>> 16) & 255] + '.' + DEC[(v >>> 8) & 255] + '.' + DEC[v & 255];
}

function hexGroup(g: number): string {
  const hi = g >>> 8;
  return hi === 0 ? HEX[g & 255]! : HEX[hi]! + HEX2[g & 255]!;
}

/** RFC 5952 text form of the address in GROUPS. */
function formatGroups(): string {
  const g = GROUPS;
  // IPv4-mapped addresses keep the dotted tail (RFC 5952 §5), e.g. "::ffff:10.10.0.2".
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return '::ffff:' + dotted(((g[6]! << 16) | g[7]!) >>> 0);
  }
  let bestStart = -1;
  let bestLen = 0;
  let curStart = -1;
  for (let i = 0; i < 8; i++) {
    if (g[i] === 0) {
      if (curStart < 0) curStart = i;
      const len = i - curStart + 1;
      if (len > bestLen) {
        bestLen = len;
        bestStart = curStart;
      }
    } else {
      curStart = -1;
    }
  }
  if (bestLen < 2) bestStart = -1; // a single zero group is not compressed
  const after = bestStart + bestLen;
  let s = '';
  let i = 0;
  while (i < 8) {
    if (i === bestStart) {
      s += '::';
      i = after;
      continue;
    }
    if (i > 0 && i !== after) s += ':';
    s += hexGroup(g[i]!);
    i++;
  }
  return s;
}

export function formatIpv4At(buf: Uint8Array, pos: number): string {
  return DEC[buf[pos]!] + '.' + DEC[buf[pos + 1]!] + '.' + DEC[buf[pos + 2]!] + '.' + DEC[buf[pos + 3]!];
}

export function formatIpv6At(buf: Uint8Array, pos: number): string {
  for (let i = 0; i < 8; i++) GROUPS[i] = (buf[pos + 2 * i]! << 8) | buf[pos + 2 * i + 1]!;
  return formatGroups();
}

/** Dotted quad to an unsigned 32-bit number, or -1. */
export function parseIpv4(s: string, start = 0, end = s.length): number {
  let v = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      v = v * 256 + octet;
      octet = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return v * 256 + octet;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parses an IPv6 address into GROUPS; false when it is not one. */
function parseIpv6Groups(s: string, start: number, end: number): boolean {
  const g = GROUPS;
  let n = 0;
  let gap = -1; // index in GROUPS where "::" stood
  let i = start;
  if (end - start >= 2 && s.charCodeAt(i) === 58 && s.charCodeAt(i + 1) === 58) {
    gap = 0;
    i += 2;
  }
  while (i < end) {
    const groupStart = i;
    let value = 0;
    let digits = 0;
    while (i < end) {
      const h = hexValue(s.charCodeAt(i));
      if (h < 0) break;
      value = (value << 4) | h;
      if (++digits > 4) return false;
      i++;
    }
    if (i < end && s.charCodeAt(i) === 46) {
      // Dotted IPv4 tail, e.g. ::ffff:10.0.0.1
      if (n > 6) return false;
      const v4 = parseIpv4(s, groupStart, end);
      if (v4 < 0) return false;
      g[n++] = v4 >>> 16;
      g[n++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (digits === 0 || n >= 8) return false;
    g[n++] = value;
    if (i === end) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < end && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i++;
    } else if (i === end) {
      return false; // trailing single colon
    }
  }
  if (gap < 0) return n === 8;
  if (n > 7) return false;
  const tail = n - gap;
  for (let k = 0; k < tail; k++) g[7 - k] = g[n - 1 - k]!;
  for (let k = gap; k < 8 - tail; k++) g[k] = 0;
  return true;
}

export function isIpv4Address(s: string): boolean {
  return parseIpv4(s) >= 0;
}

export function isIpv6Address(s: string): boolean {
  return parseIpv6Groups(s, 0, s.length);
}

/** The canonical text of an IPv6 address ("FD00:0::1" → "fd00::1"), or undefined. */
export function normalizeIpv6(s: string): string | undefined {
  return parseIpv6Groups(s, 0, s.length) ? formatGroups() : undefined;
}

export function writeIpv4Address(w: Writer, s: string): void {
  const v = parseIpv4(s);
  if (v < 0) throw new TypeError(`not an IPv4 address: ${JSON.stringify(s)}`);
  w.u32(v);
}

export function writeIpv6Address(w: Writer, s: string): void {
  if (!parseIpv6Groups(s, 0, s.length)) throw new TypeError(`not an IPv6 address: ${JSON.stringify(s)}`);
  w.ensure(16);
  for (let i = 0; i < 8; i++) {
    w.buf[w.pos++] = GROUPS[i]! >>> 8;
    w.buf[w.pos++] = GROUPS[i]! & 0xff;
  }
}

/**
 * Reads IPv4 NLRI (RFC 4271 §4.3, RFC 7911 with path identifiers) from buf[pos, end)
 * into `out` (and `ids`). Returns an error reason, or undefined when the field is
 * well formed. Host bits past the prefix length are cleared: they are "irrelevant".
 */
export function readIpv4Prefixes(buf: Buffer, pos: number, end: number, out: string[], ids: number[] | undefined): string | undefined {
  while (pos < end) {
    if (ids !== undefined) {
      if (end - pos < 5) return 'truncated path identifier';
      ids.push(buf.readUInt32BE(pos));
      pos += 4;
    }
    const len = buf[pos++]!;
    if (len > 32) return `prefix length ${len} exceeds 32`;
    const n = (len + 7) >>> 3;
    if (pos + n > end) return 'prefix overruns the field';
    let v = 0;
    if (n > 0) v = buf[pos]! << 24;
    if (n > 1) v |= buf[pos + 1]! << 16;
    if (n > 2) v |= buf[pos + 2]! << 8;
    if (n > 3) v |= buf[pos + 3]!;
    if (len < 32) v &= len === 0 ? 0 : -1 << (32 - len);
    out.push(ipv4PrefixText(v, len));
    pos += n;
  }
  return undefined;
}

export function readIpv6Prefixes(buf: Buffer, pos: number, end: number, out: string[], ids: number[] | undefined): string | undefined {
  const g = GROUPS;
  while (pos < end) {
    if (ids !== undefined) {
      if (end - pos < 5) return 'truncated path identifier';
      ids.push(buf.readUInt32BE(pos));
      pos += 4;
    }
    const len = buf[pos++]!;
    if (len > 128) return `prefix length ${len} exceeds 128`;
    const n = (len + 7) >>> 3;
    if (pos + n > end) return 'prefix overruns the field';
    for (let i = 0; i < 8; i++) {
      const b = 2 * i;
      g[i] = (b < n ? buf[pos + b]! << 8 : 0) | (b + 1 < n ? buf[pos + b + 1]! : 0);
    }
    const rem = len & 15;
    if (len < 128) {
      const k = len >>> 4;
      g[k] = g[k]! & ((0xffff0000 >>> rem) & 0xffff);
    }
    out.push(flat(formatGroups() + SLASH[len]!));
    pos += n;
  }
  return undefined;
}

function prefixLength(s: string, slash: number, max: number): number {
  const digits = s.length - slash - 1;
  if (digits < 1 || digits > 3) return -1;
  let len = 0;
  for (let i = slash + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    len = len * 10 + (c - 48);
  }
  return len <= max ? len : -1;
}

/** Writes one IPv4 NLRI entry (length octet and the significant octets). */
export function writeIpv4Prefix(w: Writer, s: string): void {
  const slash = s.indexOf('/');
  const len = slash < 0 ? -1 : prefixLength(s, slash, 32);
  let v = len < 0 ? -1 : parseIpv4(s, 0, slash);
  if (v < 0) throw new TypeError(`not an IPv4 prefix: ${JSON.stringify(s)}`);
  if (len < 32) v = (v & (len === 0 ? 0 : -1 << (32 - len))) >>> 0;
  const n = (len + 7) >>> 3;
  w.ensure(1 + n);
  const b = w.buf;
  b[w.pos++] = len;
  if (n > 0) b[w.pos++] = v >>> 24;
  if (n > 1) b[w.pos++] = (v >>> 16) & 255;
  if (n > 2) b[w.pos++] = (v >>> 8) & 255;
  if (n > 3) b[w.pos++] = v & 255;
}

export function writeIpv6Prefix(w: Writer, s: string): void {
  const slash = s.indexOf('/');
  const len = slash < 0 ? -1 : prefixLength(s, slash, 128);
  if (len < 0 || !parseIpv6Groups(s, 0, slash)) throw new TypeError(`not an IPv6 prefix: ${JSON.stringify(s)}`);
  const n = (len + 7) >>> 3;
  if (len < 128) {
    const k = len >>> 4;
    GROUPS[k] = GROUPS[k]! & ((0xffff0000 >>> (len & 15)) & 0xffff);
  }
  w.ensure(1 + n);
  const b = w.buf;
  b[w.pos++] = len;
  for (let i = 0; i < n; i++) {
    const g = GROUPS[i >>> 1]!;
    b[w.pos++] = i & 1 ? g & 0xff : g >>> 8;
  }
}

/** "10.0.0.0/24" → 'ipv4'; anything with a colon is IPv6. Does not validate. */
export function prefixFamily(prefix: string): 'ipv4' | 'ipv6' {
  return prefix.includes(':') ? 'ipv6' : 'ipv4';
}
