// Capabilities (RFC 5492) carried in OPEN: one table row per known capability code;
// anything else is kept as raw {code, value} so it can be logged and re-sent unchanged.

import { AddPathMode, CapabilityCode, GracefulRestartFlag } from './constants.js';
import { familyOf, type Family } from './family.js';
import type { CodecOptions } from './options.js';
import type { Writer } from './writer.js';

export interface AfiSafi {
  afi: number;
  safi: number;
}

export interface GracefulRestartFamily extends AfiSafi {
  /** Forwarding state was preserved across the restart. */
  forwarding: boolean;
}

/** One family of the long-lived graceful restart capability (RFC 9494 §3.1). */
export interface LongLivedFamily extends AfiSafi {
  /** F bit: forwarding state was preserved across the restart. */
  forwarding: boolean;
  /** Long-lived stale time in seconds (24 bits). */
  staleTime: number;
}

export interface AddPathFamily extends AfiSafi {
  send: boolean;
  receive: boolean;
}

export type Capability =
  | { kind: 'multiprotocol'; afi: number; safi: number }
  | { kind: 'route-refresh' }
  | { kind: 'enhanced-route-refresh' }
  | { kind: 'extended-message' }
  | { kind: 'four-octet-as'; asn: number }
  | {
      kind: 'graceful-restart';
      /** R bit: the sender has just restarted. */
      restarting: boolean;
      /** N bit (RFC 8538): graceful restart also applies to NOTIFICATION. */
      notification: boolean;
      /** Restart time in seconds (12 bits). */
      time: number;
      families: GracefulRestartFamily[];
    }
  | { kind: 'add-path'; families: AddPathFamily[] }
  | { kind: 'long-lived-graceful-restart'; families: LongLivedFamily[] }
  | { kind: 'unknown'; code: number; value: Buffer };

export type CapabilityKind = Capability['kind'];
type Known = Exclude<Capability, { kind: 'unknown' }>;
type Of<K extends CapabilityKind> = Extract<Capability, { kind: K }>;

interface CapabilityRow<K extends Known['kind']> {
  code: number;
  /** Decodes a value; a string is the reason it is malformed. */
  decode(value: Buffer): Of<K> | Of<'unknown'> | string;
  encode(w: Writer, cap: Of<K>): void;
}

function empty<K extends 'route-refresh' | 'enhanced-route-refresh' | 'extended-message'>(kind: K, code: number): CapabilityRow<K> {
  return {
    code,
    decode: (v) => (v.length === 0 ? ({ kind } as Of<K>) : `${kind} capability must be empty`),
    encode: () => {},
  };
}

/** RFC 9494 §3.1: AFI (2), SAFI (1), flags (1), Long-lived Stale Time (3). */
const LLGR_TUPLE = 7;
const LLGR_FORWARDING = 0x80;
const LLGR_MAX_STALE = 0xffffff;

const LONG_LIVED_ROW: CapabilityRow<'long-lived-graceful-restart'> = {
  code: CapabilityCode.LONG_LIVED_GRACEFUL_RESTART,
  decode: (v) => {
    // A value that is not whole tuples is malformed: an OPEN Message Error, as for the
    // graceful restart capability (BIRD's bgp_read_capabilities does the same).
    if (v.length % LLGR_TUPLE !== 0) return 'long-lived graceful restart capability length must be a multiple of 7';
    const families: LongLivedFamily[] = [];
    for (let p = 0; p < v.length; p += LLGR_TUPLE) {
      // Reserved flag bits are ignored on receipt (RFC 9494 §3.1).
      families.push({ afi: v.readUInt16BE(p), safi: v[p + 2]!, forwarding: (v[p + 3]! & LLGR_FORWARDING) !== 0, staleTime: v.readUIntBE(p + 4, 3) });
    }
    return { kind: 'long-lived-graceful-restart', families };
  },
  encode: (w, c) => {
    for (const f of c.families) {
      if (!Number.isInteger(f.staleTime) || f.staleTime < 0 || f.staleTime > LLGR_MAX_STALE) throw new RangeError(`long-lived stale time ${f.staleTime} does not fit in 24 bits`);
      w.u16(f.afi);
      w.u8(f.safi);
      w.u8(f.forwarding ? LLGR_FORWARDING : 0);
      w.u8(f.staleTime >>> 16);
      w.u16(f.staleTime & 0xffff);
    }
  },
};
const CAPABILITY_TABLE: { [K in Known['kind']]: CapabilityRow<K> } = {
  multiprotocol: {
    code: CapabilityCode.MULTIPROTOCOL,
    decode: (v) =>
      v.length === 4 ? { kind: 'multiprotocol', afi: v.readUInt16BE(0), safi: v[3]! } : 'multiprotocol capability length must be 4',
    encode: (w, c) => {
      w.u16(c.afi);
      w.u8(0);
      w.u8(c.safi);
    },
  },
  'route-refresh': empty('route-refresh', CapabilityCode.ROUTE_REFRESH),
  'enhanced-route-refresh': empty('enhanced-route-refresh', CapabilityCode.ENHANCED_ROUTE_REFRESH),
  'extended-message': empty('extended-message', CapabilityCode.EXTENDED_MESSAGE),
  'four-octet-as': {
    code: CapabilityCode.FOUR_OCTET_AS_NUMBER,
    decode: (v) => (v.length === 4 ? { kind: 'four-octet-as', asn: v.readUInt32BE(0) } : '4-octet AS capability length must be 4'),
    encode: (w, c) => w.u32(c.asn),
  },
  'graceful-restart': {
    code: CapabilityCode.GRACEFUL_RESTART,
    decode: (v) => {
      if (v.length < 2 || (v.length - 2) % 4 !== 0) return 'graceful restart capability length must be 2 + 4n';
      const flags = v.readUInt16BE(0);
      const families: GracefulRestartFamily[] = [];
      for (let p = 2; p < v.length; p += 4) {
        families.push({ afi: v.readUInt16BE(p), safi: v[p + 2]!, forwarding: (v[p + 3]! & GracefulRestartFlag.FORWARDING_STATE) !== 0 });
      }
      return {
        kind: 'graceful-restart',
        restarting: (flags & GracefulRestartFlag.RESTART_STATE) !== 0,
        notification: (flags & GracefulRestartFlag.NOTIFICATION) !== 0,
        time: flags & GracefulRestartFlag.TIME_MASK,
        families,
      };
    },
    encode: (w, c) => {
      w.u16(
        (c.restarting ? GracefulRestartFlag.RESTART_STATE : 0) |
          (c.notification ? GracefulRestartFlag.NOTIFICATION : 0) |
          (c.time & GracefulRestartFlag.TIME_MASK),
      );
      for (const f of c.families) {
        w.u16(f.afi);
        w.u8(f.safi);
        w.u8(f.forwarding ? GracefulRestartFlag.FORWARDING_STATE : 0);
      }
    },
  },
  'add-path': {
    code: CapabilityCode.ADD_PATH,
    decode: (v) => {
      if (v.length % 4 !== 0) return 'add-path capability length must be a multiple of 4';
      const families: AddPathFamily[] = [];
      for (let p = 0; p < v.length; p += 4) {
        const mode = v[p + 3]!;
        // RFC 7911 §4: other values make the capability "not understood", not an error.
        if (mode < AddPathMode.RECEIVE || mode > AddPathMode.BOTH) {
          return { kind: 'unknown', code: CapabilityCode.ADD_PATH, value: Buffer.from(v) };
        }
        families.push({
          afi: v.readUInt16BE(p),
          safi: v[p + 2]!,
          send: (mode & AddPathMode.SEND) !== 0,
          receive: (mode & AddPathMode.RECEIVE) !== 0,
        });
      }
      return { kind: 'add-path', families };
    },
    encode: (w, c) => {
      for (const f of c.families) {
        w.u16(f.afi);
        w.u8(f.safi);
        w.u8((f.send ? AddPathMode.SEND : 0) | (f.receive ? AddPathMode.RECEIVE : 0));
      }
    },
  },
  'long-lived-graceful-restart': LONG_LIVED_ROW,
};

const BY_CODE = new Map<number, CapabilityRow<Known['kind']>>(
  Object.values(CAPABILITY_TABLE).map((row) => [row.code, row as CapabilityRow<Known['kind']>]),
);

/** Decodes one capability value; a string is why it is malformed. */
export function decodeCapability(code: number, value: Buffer): Capability | string {
  const row = BY_CODE.get(code);
  if (row === undefined) return { kind: 'unknown', code, value: Buffer.from(value) };
  return row.decode(value);
}

/** Writes code, length and value of one capability. */
export function writeCapability(w: Writer, cap: Capability): void {
  const start = w.pos;
  if (cap.kind === 'unknown') {
    w.u8(cap.code);
    w.u8(0);
    w.bytes(cap.value);
  } else {
    const row = CAPABILITY_TABLE[cap.kind] as CapabilityRow<Known['kind']>;
    w.u8(row.code);
    w.u8(0);
    row.encode(w, cap);
  }
  const len = w.pos - start - 2;
  if (len > 255) throw new RangeError(`capability ${cap.kind} value of ${len} octets does not fit`);
  w.buf[start + 1] = len;
}

export function capabilityCode(cap: Capability): number {
  return cap.kind === 'unknown' ? cap.code : CAPABILITY_TABLE[cap.kind].code;
}

export function findCapability<K extends CapabilityKind>(caps: readonly Capability[], kind: K): Of<K> | undefined {
  for (const c of caps) if (c.kind === kind) return c as Of<K>;
  return undefined;
}

/**
 * Families both sides can exchange: the intersection of their multiprotocol
 * capabilities, or IPv4 unicast alone when a side sent none (RFC 4760 §8).
 */
export function commonFamilies(local: readonly Capability[], remote: readonly Capability[]): Set<Family> {
  const families = (caps: readonly Capability[]): Set<Family> => {
    const out = new Set<Family>();
    let any = false;
    for (const c of caps) {
      if (c.kind !== 'multiprotocol') continue;
      any = true;
      const f = familyOf(c.afi, c.safi);
      if (f) out.add(f);
    }
    if (!any) out.add('ipv4');
    return out;
  };
  const a = families(local);
  const b = families(remote);
  return new Set([...a].filter((f) => b.has(f)));
}

function addPathModes(caps: readonly Capability[]): Map<Family, AddPathFamily> {
  const out = new Map<Family, AddPathFamily>();
  for (const c of caps) {
    if (c.kind !== 'add-path') continue;
    for (const f of c.families) {
      const fam = familyOf(f.afi, f.safi);
      if (fam) out.set(fam, f);
    }
  }
  return out;
}

/** The codec options that follow from the two OPENs' capabilities. */
export function negotiateOptions(local: readonly Capability[], remote: readonly Capability[]): CodecOptions {
  const both = (kind: CapabilityKind): boolean => findCapability(local, kind) !== undefined && findCapability(remote, kind) !== undefined;
  const mine = addPathModes(local);
  const theirs = addPathModes(remote);
  const receive = new Set<Family>();
  const send = new Set<Family>();
  for (const [fam, m] of mine) {
    const t = theirs.get(fam);
    if (!t) continue;
    if (m.receive && t.send) receive.add(fam);
    if (m.send && t.receive) send.add(fam);
  }
  return {
    fourOctetAs: both('four-octet-as'),
    addPath: { receive, send },
    extendedMessage: both('extended-message'),
  };
}
