// Addresses as numbers, for tie-breaks (lowest router id, lowest peer address) and for
// BGPFilter CIDR matching. An address is four 32-bit words; IPv4 uses the last one.

export type Words = readonly [number, number, number, number];

function ipv4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    v = v * 256 + Number(p);
  }
  return v;
}

function ipv6(s: string): Words | undefined {
  // A dotted IPv4 tail ("::ffff:10.0.0.1") becomes two hex groups.
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = ipv4(last);
    if (v4 === undefined) return undefined;
    s = s.slice(0, lastColon + 1) + Math.floor(v4 / 65536).toString(16) + ':' + (v4 & 0xffff).toString(16);
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const group = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = group(halves[0]!);
  const rest = halves.length === 2 ? group(halves[1]!) : [];
  if (!head || !rest) return undefined;
  const known = head.length + rest.length;
  let groups: number[];
  if (halves.length === 2) {
    if (known > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - known).fill(0), ...rest];
  } else {
    groups = head;
    if (groups.length !== 8) return undefined;
  }
  const w = (i: number): number => groups[2 * i]! * 65536 + groups[2 * i + 1]!;
  return [w(0), w(1), w(2), w(3)];
}

/** The address as four words, or undefined. IPv4 is [0, 0, 0, v]. */
export function addressWords(s: string): { v6: boolean; words: Words } | undefined {
  if (s.includes(':')) {
    const words = ipv6(s);
    return words && { v6: true, words };
  }
  const v = ipv4(s);
  return v === undefined ? undefined : { v6: false, words: [0, 0, 0, v] };
}

/** Numeric order; IPv4 before IPv6; unparsable text last, by string. */
export function compareAddresses(a: string, b: string): number {
  if (a === b) return 0;
  const x = addressWords(a);
  const y = addressWords(b);
  if (!x || !y) return x ? -1 : y ? 1 : a < b ? -1 : 1;
  if (x.v6 !== y.v6) return x.v6 ? 1 : -1;
  for (let i = 0; i < 4; i++) if (x.words[i] !== y.words[i]) return x.words[i]! - y.words[i]!;
  return 0;
}

export interface ParsedPrefix {
  readonly v6: boolean;
  readonly words: Words;
  readonly length: number;
}

export function parsePrefix(s: string): ParsedPrefix | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const a = addressWords(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (!a || !/^\d{1,3}$/.test(lenText)) return undefined;
  const length = Number(lenText);
  if (length > (a.v6 ? 128 : 32)) return undefined;
  return { v6: a.v6, words: a.words, length };
}

/** True when `inner` lies inside `outer` (equal counts). */
export function prefixWithin(inner: ParsedPrefix, outer: ParsedPrefix): boolean {
  if (inner.v6 !== outer.v6 || inner.length < outer.length) return false;
  // IPv4 lives in the last word, so count its bits from bit 96.
  let bits = outer.length + (outer.v6 ? 0 : 96);
  for (let i = 0; i < 4 && bits > 0; i++, bits -= 32) {
    const mask = bits >= 32 ? 0xffffffff : ~(0xffffffff >>> bits) >>> 0;
    if (((inner.words[i]! & mask) >>> 0) !== ((outer.words[i]! & mask) >>> 0)) return false;
  }
  return true;
}

export function samePrefix(a: ParsedPrefix, b: ParsedPrefix): boolean {
  return a.length === b.length && prefixWithin(a, b);
}
