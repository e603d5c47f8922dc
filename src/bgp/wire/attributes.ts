// Path attributes: one descriptor row per attribute type (name, expected flags, the
// RFC 7606 action when it is malformed, decode, encode). The loop around the table does
// framing, flag checks, duplicates and unknown attributes; rows only see their value.

import { as4PathOf, hasConfedSegments, mergeAs4Path, needsAs4Path, readAsPath, writeAsPath, type AsPathSegment } from './as-path.js';
import type { LargeCommunity } from './communities.js';
import { AS_TRANS, AttrFlag, AttrType, ErrorCode, Origin, type OriginValue, UpdateMessageError } from './constants.js';
import { BgpMessageError, type ErrorAction } from './errors.js';
import { FAMILIES, familyOf, writePrefixes, type Family } from './family.js';
import type { CodecOptions } from './options.js';
import { formatIpv4At, formatIpv6At, writeIpv4Address, writeIpv6Address } from './prefix.js';
import type { Writer } from './writer.js';

export interface Aggregator {
  asn: number;
  address: string;
}

export interface MpReach {
  family: Family;
  /** IPv4 or IPv6 address (an IPv6 next hop for IPv4 NLRI is RFC 8950). */
  nextHop: string;
  /** The second address of a 32-octet IPv6 next hop. */
  linkLocalNextHop?: string;
  nlri: string[];
  /** Path identifiers, parallel to nlri, when add-path is negotiated for the family. */
  pathIds?: number[];
}

export interface MpUnreach {
  family: Family;
  withdrawn: string[];
  pathIds?: number[];
}

/** An attribute this codec does not interpret, kept to pass it on. */
export interface RawAttribute {
  flags: number;
  type: number;
  value: Buffer;
}

export interface PathAttributes {
  origin?: OriginValue;
  /** With a 2-octet session this is already merged with AS4_PATH (RFC 6793 §4.2.3). */
  asPath?: AsPathSegment[];
  nextHop?: string;
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: Aggregator;
  /** 32-bit values; see formatCommunity and WellKnownCommunity. */
  communities?: number[];
  originatorId?: string;
  clusterList?: string[];
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  /** Raw 8-octet values. */
  extendedCommunities?: Buffer[];
  largeCommunities?: LargeCommunity[];
  /** Unrecognised optional transitive attributes; re-encoded with the Partial bit. */
  unknown?: RawAttribute[];
  /**
   * Type codes of recognised optional transitive attributes that arrived with the
   * Partial bit set, ascending: it stays set when they are passed on (RFC 4271 §5).
   */
  partial?: number[];
}

export interface AttributeDecodeResult {
  attributes: PathAttributes;
  /** The first error whose RFC 7606 action is treat-as-withdraw. */
  treatAsWithdraw?: BgpMessageError;
  /**
   * The attribute list could not be walked to its end (RFC 7606 §4): attributes after
   * the fault, an MP_REACH_NLRI among them, were never seen.
   */
  framingError?: boolean;
  /** Attributes dropped (attribute-discard), for logging; at most one per attribute type. */
  discarded: BgpMessageError[];
}

interface Fault {
  subcode: number;
  reason: string;
  /** Overrides the row's action for this fault. */
  action?: ErrorAction;
}

interface DecodeContext {
  readonly buf: Buffer;
  readonly opts: CodecOptions;
  readonly attrs: PathAttributes;
  as4Path?: AsPathSegment[];
  as4Aggregator?: Aggregator;
}

export interface AttributeRow {
  readonly type: number;
  readonly name: string;
  /** Expected Optional and Transitive bits (Partial and Extended Length are not checked). */
  readonly flags: number;
  /** RFC 7606 handling when the attribute is malformed. */
  readonly action: ErrorAction;
  decode(ctx: DecodeContext, start: number, end: number): Fault | undefined;
  present(attrs: PathAttributes, opts: CodecOptions): boolean;
  encode(w: Writer, attrs: PathAttributes, opts: CodecOptions): void;
}

const WELL_KNOWN = AttrFlag.TRANSITIVE;
const OPTIONAL = AttrFlag.OPTIONAL;
const OPTIONAL_TRANSITIVE = AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE;
const { ATTRIBUTE_LENGTH_ERROR, OPTIONAL_ATTRIBUTE_ERROR, MALFORMED_ATTRIBUTE_LIST } = UpdateMessageError;

function badLength(expected: string): Fault {
  return { subcode: ATTRIBUTE_LENGTH_ERROR, reason: `length must be ${expected}` };
}

/** Rows for attributes whose value is one 32-bit number. */
function u32Row(type: number, name: string, flags: number, field: 'med' | 'localPref'): AttributeRow {
  return {
    type,
    name,
    flags,
    action: 'treat-as-withdraw',
    decode: (ctx, s, e) => {
      if (e - s !== 4) return badLength('4');
      ctx.attrs[field] = ctx.buf.readUInt32BE(s);
      return undefined;
    },
    present: (a) => a[field] !== undefined,
    encode: (w, a) => w.u32(a[field]!),
  };
}

/** Rows for lists of fixed-size items (communities, cluster list, ...). */
function listRow<K extends 'communities' | 'clusterList' | 'extendedCommunities' | 'largeCommunities'>(
  type: number,
  name: string,
  flags: number,
  field: K,
  size: number,
  read: (buf: Buffer, pos: number) => NonNullable<PathAttributes[K]>[number],
  write: (w: Writer, item: NonNullable<PathAttributes[K]>[number]) => void,
): AttributeRow {
  return {
    type,
    name,
    flags,
    action: 'treat-as-withdraw',
    decode: (ctx, s, e) => {
      if (e === s || (e - s) % size !== 0) return badLength(`a non-zero multiple of ${size}`);
      const out: NonNullable<PathAttributes[K]>[number][] = [];
      for (let p = s; p < e; p += size) out.push(read(ctx.buf, p));
      ctx.attrs[field] = out as PathAttributes[K];
      return undefined;
    },
    present: (a) => (a[field]?.length ?? 0) > 0,
    encode: (w, a) => {
      for (const item of a[field]! as NonNullable<PathAttributes[K]>[number][]) write(w, item);
    },
  };
}

function readAggregator(ctx: DecodeContext, s: number, e: number, size: 2 | 4): Aggregator | Fault {
  if (e - s !== size + 4) return badLength(String(size + 4));
  const asn = size === 4 ? ctx.buf.readUInt32BE(s) : ctx.buf.readUInt16BE(s);
  if (asn === 0) return { subcode: OPTIONAL_ATTRIBUTE_ERROR, reason: 'AS 0' }; // RFC 7607
  return { asn, address: formatIpv4At(ctx.buf, s + size) };
}

function readNextHop(buf: Buffer, pos: number, len: number, family: Family): { nextHop: string; linkLocalNextHop?: string } | undefined {
  if (len === 4 && family === 'ipv4') return { nextHop: formatIpv4At(buf, pos) };
  if (len === 16) return { nextHop: formatIpv6At(buf, pos) };
  if (len === 32) return { nextHop: formatIpv6At(buf, pos), linkLocalNextHop: formatIpv6At(buf, pos + 16) };
  return undefined;
}

const MP_FAULT = OPTIONAL_ATTRIBUTE_ERROR;

/**
 * The AFI/SAFI that opens MP_REACH_NLRI and MP_UNREACH_NLRI: the family, or the fault
 * (a family we cannot decode is discarded, not a reason to reset).
 */
function readMpFamily(buf: Buffer, s: number, e: number, min: number): Family | Fault {
  if (e - s < min) return { subcode: MP_FAULT, reason: `shorter than ${min} octets` };
  const afi = buf.readUInt16BE(s);
  const safi = buf[s + 2]!;
  const family = familyOf(afi, safi);
  if (family === undefined) return { subcode: MP_FAULT, reason: `unsupported AFI ${afi} SAFI ${safi}`, action: 'attribute-discard' };
  return family;
}

function writeMpFamily(w: Writer, family: Family): (typeof FAMILIES)[Family] {
  const row = FAMILIES[family];
  w.u16(row.afi);
  w.u8(row.safi);
  return row;
}

const ROWS: readonly AttributeRow[] = [
  {
    type: AttrType.MP_REACH_NLRI,
    name: 'MP_REACH_NLRI',
    flags: OPTIONAL,
    // RFC 7606 §7.11: the NLRI cannot be trusted, so the whole session goes.
    action: 'session-reset',
    decode: (ctx, s, e) => {
      const { buf } = ctx;
      const family = readMpFamily(buf, s, e, 5);
      if (typeof family !== 'string') return family;
      const nhLen = buf[s + 3]!;
      let p = s + 4;
      if (p + nhLen + 1 > e) return { subcode: MP_FAULT, reason: 'next hop overruns the attribute' };
      const nh = readNextHop(buf, p, nhLen, family);
      if (nh === undefined) return { subcode: MP_FAULT, reason: `next hop length ${nhLen} for ${family}` };
      p += nhLen + 1; // the reserved octet (once the SNPA count) is ignored
      const nlri: string[] = [];
      const pathIds = ctx.opts.addPath.receive.has(family) ? ([] as number[]) : undefined;
      const bad = FAMILIES[family].readPrefixes(buf, p, e, nlri, pathIds);
      if (bad !== undefined) return { subcode: MP_FAULT, reason: bad };
      const reach: MpReach = { family, ...nh, nlri };
      if (pathIds) reach.pathIds = pathIds;
      ctx.attrs.mpReach = reach;
      return undefined;
    },
    present: (a) => a.mpReach !== undefined,
    encode: (w, a, opts) => {
      const r = a.mpReach!;
      const row = writeMpFamily(w, r.family);
      if (r.nextHop.includes(':')) {
        w.u8(r.linkLocalNextHop ? 32 : 16);
        writeIpv6Address(w, r.nextHop);
        if (r.linkLocalNextHop) writeIpv6Address(w, r.linkLocalNextHop);
      } else {
        w.u8(4);
        writeIpv4Address(w, r.nextHop);
      }
      w.u8(0);
      writePrefixes(w, row, r.nlri, r.pathIds, opts.addPath.send.has(r.family));
    },
  },
  {
    type: AttrType.MP_UNREACH_NLRI,
    name: 'MP_UNREACH_NLRI',
    flags: OPTIONAL,
    action: 'session-reset',
    decode: (ctx, s, e) => {
      const { buf } = ctx;
      const family = readMpFamily(buf, s, e, 3);
      if (typeof family !== 'string') return family;
      const withdrawn: string[] = [];
      const pathIds = ctx.opts.addPath.receive.has(family) ? ([] as number[]) : undefined;
      const bad = FAMILIES[family].readPrefixes(buf, s + 3, e, withdrawn, pathIds);
      if (bad !== undefined) return { subcode: MP_FAULT, reason: bad };
      const unreach: MpUnreach = { family, withdrawn };
      if (pathIds) unreach.pathIds = pathIds;
      ctx.attrs.mpUnreach = unreach;
      return undefined;
    },
    present: (a) => a.mpUnreach !== undefined,
    encode: (w, a, opts) => {
      const u = a.mpUnreach!;
      const row = writeMpFamily(w, u.family);
      writePrefixes(w, row, u.withdrawn, u.pathIds, opts.addPath.send.has(u.family));
    },
  },
  {
    type: AttrType.ORIGIN,
    name: 'ORIGIN',
    flags: WELL_KNOWN,
    action: 'treat-as-withdraw',
    decode: (ctx, s, e) => {
      if (e - s !== 1) return badLength('1');
      const v = ctx.buf[s]!;
      if (v > Origin.INCOMPLETE) return { subcode: UpdateMessageError.INVALID_ORIGIN_ATTRIBUTE, reason: `value ${v}` };
      ctx.attrs.origin = v as OriginValue;
      return undefined;
    },
    present: (a) => a.origin !== undefined,
    encode: (w, a) => w.u8(a.origin!),
  },
  {
    type: AttrType.AS_PATH,
    name: 'AS_PATH',
    flags: WELL_KNOWN,
    action: 'treat-as-withdraw',
    decode: (ctx, s, e) => {
      const path: AsPathSegment[] = [];
      const bad = readAsPath(ctx.buf, s, e, ctx.opts.fourOctetAs ? 4 : 2, path);
      if (bad !== undefined) return { subcode: UpdateMessageError.MALFORMED_AS_PATH, reason: bad };
      ctx.attrs.asPath = path;
      return undefined;
    },
    present: (a) => a.asPath !== undefined,
    encode: (w, a, opts) => writeAsPath(w, a.asPath!, opts.fourOctetAs ? 4 : 2),
  },
  {
    type: AttrType.NEXT_HOP,
    name: 'NEXT_HOP',
    flags: WELL_KNOWN,
    action: 'treat-as-withdraw',
    decode: (ctx, s, e) => {
      if (e - s !== 4) return badLength('4');
      ctx.attrs.nextHop = formatIpv4At(ctx.buf, s);
      return undefined;
    },
    present: (a) => a.nextHop !== undefined,
    encode: (w, a) => writeIpv4Address(w, a.nextHop!),
  },
  u32Row(AttrType.MULTI_EXIT_DISC, 'MULTI_EXIT_DISC', OPTIONAL, 'med'),
  u32Row(AttrType.LOCAL_PREF, 'LOCAL_PREF', WELL_KNOWN, 'localPref'),
  {
    type: AttrType.ATOMIC_AGGREGATE,
    name: 'ATOMIC_AGGREGATE',
    flags: WELL_KNOWN,
    action: 'attribute-discard',
    decode: (ctx, s, e) => {
      if (e !== s) return badLength('0');
      ctx.attrs.atomicAggregate = true;
      return undefined;
    },
    present: (a) => a.atomicAggregate === true,
    encode: () => {},
  },
  {
    type: AttrType.AGGREGATOR,
    name: 'AGGREGATOR',
    flags: OPTIONAL_TRANSITIVE,
    action: 'attribute-discard',
    decode: (ctx, s, e) => {
      const agg = readAggregator(ctx, s, e, ctx.opts.fourOctetAs ? 4 : 2);
      if ('reason' in agg) return agg;
      ctx.attrs.aggregator = agg;
      return undefined;
    },
    present: (a) => a.aggregator !== undefined,
    encode: (w, a, opts) => {
      const { asn, address } = a.aggregator!;
      if (opts.fourOctetAs) w.u32(asn);
      else w.u16(asn > 0xffff ? AS_TRANS : asn);
      writeIpv4Address(w, address);
    },
  },
  listRow(
    AttrType.COMMUNITIES,
    'COMMUNITIES',
    OPTIONAL_TRANSITIVE,
    'communities',
    4,
    (b, p) => b.readUInt32BE(p),
    (w, c) => w.u32(c),
  ),
  {
    type: AttrType.ORIGINATOR_ID,
    name: 'ORIGINATOR_ID',
    flags: OPTIONAL,
    action: 'treat-as-withdraw',
    decode: (ctx, s, e) => {
      if (e - s !== 4) return badLength('4');
      ctx.attrs.originatorId = formatIpv4At(ctx.buf, s);
      return undefined;
    },
    present: (a) => a.originatorId !== undefined,
    encode: (w, a) => writeIpv4Address(w, a.originatorId!),
  },
  listRow(AttrType.CLUSTER_LIST, 'CLUSTER_LIST', OPTIONAL, 'clusterList', 4, formatIpv4At, writeIpv4Address),
  listRow(
    AttrType.EXTENDED_COMMUNITIES,
    'EXTENDED_COMMUNITIES',
    OPTIONAL_TRANSITIVE,
    'extendedCommunities',
    8,
    (b, p) => Buffer.from(b.subarray(p, p + 8)),
    (w, c) => {
      if (c.length !== 8) throw new RangeError('an extended community is 8 octets');
      w.bytes(c);
    },
  ),
  {
    type: AttrType.AS4_PATH,
    name: 'AS4_PATH',
    flags: OPTIONAL_TRANSITIVE,
    // RFC 6793 §6: a malformed AS4_PATH is discarded, the route kept.
    action: 'attribute-discard',
    decode: (ctx, s, e) => {
      if (ctx.opts.fourOctetAs) return { subcode: UpdateMessageError.MALFORMED_AS_PATH, reason: 'sent by a 4-octet AS speaker' };
      const path: AsPathSegment[] = [];
      const bad = readAsPath(ctx.buf, s, e, 4, path);
      if (bad !== undefined) return { subcode: UpdateMessageError.MALFORMED_AS_PATH, reason: bad };
      if (hasConfedSegments(path)) return { subcode: UpdateMessageError.MALFORMED_AS_PATH, reason: 'confederation segment' };
      ctx.as4Path = path;
      return undefined;
    },
    present: (a, opts) => !opts.fourOctetAs && a.asPath !== undefined && needsAs4Path(a.asPath),
    encode: (w, a) => writeAsPath(w, as4PathOf(a.asPath!), 4),
  },
  {
    type: AttrType.AS4_AGGREGATOR,
    name: 'AS4_AGGREGATOR',
    flags: OPTIONAL_TRANSITIVE,
    action: 'attribute-discard',
    decode: (ctx, s, e) => {
      if (ctx.opts.fourOctetAs) return { subcode: OPTIONAL_ATTRIBUTE_ERROR, reason: 'sent by a 4-octet AS speaker' };
      const agg = readAggregator(ctx, s, e, 4);
      if ('reason' in agg) return agg;
      ctx.as4Aggregator = agg;
      return undefined;
    },
    present: (a, opts) => !opts.fourOctetAs && a.aggregator !== undefined && a.aggregator.asn > 0xffff,
    encode: (w, a) => {
      w.u32(a.aggregator!.asn);
      writeIpv4Address(w, a.aggregator!.address);
    },
  },
  listRow(
    AttrType.LARGE_COMMUNITY,
    'LARGE_COMMUNITY',
    OPTIONAL_TRANSITIVE,
    'largeCommunities',
    12,
    (b, p) => [b.readUInt32BE(p), b.readUInt32BE(p + 4), b.readUInt32BE(p + 8)] as const,
    (w, c) => {
      w.u32(c[0]);
      w.u32(c[1]);
      w.u32(c[2]);
    },
  ),
];

/** Rows in encoding order: MP_* first (RFC 7606 §5.1), then by type code. */
export const ATTRIBUTE_ROWS: readonly AttributeRow[] = ROWS;

const BY_TYPE: (AttributeRow | undefined)[] = new Array(256).fill(undefined);
for (const row of ROWS) BY_TYPE[row.type] = row;

export function attributeRow(type: number): AttributeRow | undefined {
  return BY_TYPE[type];
}

export function attributeName(type: number): string {
  return BY_TYPE[type]?.name ?? `attribute ${type}`;
}

function updateError(message: string, subcode: number, action: ErrorAction, data?: Buffer): BgpMessageError {
  return new BgpMessageError(message, ErrorCode.UPDATE_MESSAGE_ERROR, subcode, action, data);
}

/**
 * Decodes the path attributes in buf[start, end). Throws BgpMessageError only for
 * session-reset errors; treat-as-withdraw and attribute-discard are reported in the result.
 */
export function decodeAttributes(buf: Buffer, start: number, end: number, opts: CodecOptions): AttributeDecodeResult {
  const attrs: PathAttributes = {};
  const res: AttributeDecodeResult = { attributes: attrs, discarded: [] };
  const ctx: DecodeContext = { buf, opts, attrs };
  const seen = new Uint32Array(8);
  /** Types already reported as repeated: a message of repeats costs no more than one error per type. */
  const repeated = new Uint32Array(8);
  const report = (err: BgpMessageError): void => {
    if (err.action === 'session-reset') throw err;
    if (err.action === 'treat-as-withdraw') res.treatAsWithdraw ??= err;
    else res.discarded.push(err);
  };
  const framing = (type: number | undefined, message: string): void => {
    // RFC 7606 §3(j), §7.11: MP_REACH/MP_UNREACH whose NLRI cannot be parsed leave
    // nothing to treat as withdrawn, so the session goes (we have no AFI/SAFI disable).
    const mp = type === AttrType.MP_REACH_NLRI || type === AttrType.MP_UNREACH_NLRI;
    res.framingError = true;
    report(updateError(message, MALFORMED_ATTRIBUTE_LIST, mp ? 'session-reset' : 'treat-as-withdraw'));
  };
  let p = start;
  while (p < end) {
    const flags = buf[p]!;
    const headerLen = flags & AttrFlag.EXTENDED_LENGTH ? 4 : 3;
    if (end - p < headerLen) {
      // RFC 7606 §4: the attribute list is unusable but Total Attribute Length still finds the NLRI.
      framing(end - p >= 2 ? buf[p + 1] : undefined, 'truncated attribute header');
      break;
    }
    const type = buf[p + 1]!;
    const len = headerLen === 4 ? buf.readUInt16BE(p + 2) : buf[p + 2]!;
    const vs = p + headerLen;
    const ve = vs + len;
    if (ve > end) {
      framing(type, `${attributeName(type)} overruns the path attributes`);
      break;
    }
    const attrStart = p;
    p = ve;
    const row = BY_TYPE[type];
    const word = type >>> 5;
    const bit = 1 << (type & 31);
    if (seen[word]! & bit) {
      // RFC 7606 §3(g): MP_* twice resets the session; other repeats are dropped.
      const mp = type === AttrType.MP_REACH_NLRI || type === AttrType.MP_UNREACH_NLRI;
      if (!mp && repeated[word]! & bit) continue;
      repeated[word] = repeated[word]! | bit;
      report(updateError(`duplicate ${attributeName(type)}`, MALFORMED_ATTRIBUTE_LIST, mp ? 'session-reset' : 'attribute-discard', Buffer.from(buf.subarray(attrStart, ve))));
      continue;
    }
    seen[word] = seen[word]! | bit;
    if (row === undefined) {
      if ((flags & AttrFlag.OPTIONAL) === 0) {
        report(
          updateError(`unrecognized well-known attribute ${type}`, UpdateMessageError.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, 'session-reset', Buffer.from(buf.subarray(attrStart, ve))),
        );
      } else if (flags & AttrFlag.TRANSITIVE) {
        (attrs.unknown ??= []).push({ flags, type, value: Buffer.from(buf.subarray(vs, ve)) });
      }
      // Unknown optional non-transitive attributes are quietly ignored (RFC 4271 §5).
      continue;
    }
    if ((flags & OPTIONAL_TRANSITIVE) !== row.flags) {
      report(
        updateError(`${row.name}: flags 0x${flags.toString(16)}`, UpdateMessageError.ATTRIBUTE_FLAGS_ERROR, row.action, Buffer.from(buf.subarray(attrStart, ve))),
      );
      continue;
    }
    const fault = row.decode(ctx, vs, ve);
    if (fault !== undefined) {
      report(updateError(`${row.name}: ${fault.reason}`, fault.subcode, fault.action ?? row.action, Buffer.from(buf.subarray(attrStart, ve))));
    } else if (flags & AttrFlag.PARTIAL && row.flags === OPTIONAL_TRANSITIVE) {
      (attrs.partial ??= []).push(type);
    }
  }
  if (attrs.partial && attrs.partial.length > 1) attrs.partial.sort((a, b) => a - b);
  if (!opts.fourOctetAs) reconcileAs4(ctx);
  return res;
}

/** RFC 6793 §4.2.3, for a session without 4-octet AS numbers. */
function reconcileAs4(ctx: DecodeContext): void {
  const { attrs } = ctx;
  let as4Path = ctx.as4Path;
  if (ctx.as4Aggregator && attrs.aggregator) {
    // Aggregated by a 2-octet-only speaker after the AS4_* were added: they are stale.
    if (attrs.aggregator.asn !== AS_TRANS) as4Path = undefined;
    else attrs.aggregator = ctx.as4Aggregator;
  }
  if (as4Path && attrs.asPath) attrs.asPath = mergeAs4Path(attrs.asPath, as4Path);
}

function beginAttribute(w: Writer, flags: number, type: number): number {
  const start = w.pos;
  w.ensure(3);
  w.buf[w.pos++] = flags;
  w.buf[w.pos++] = type;
  w.pos++;
  return start;
}

/** Patches the length, switching to a 2-octet length (Extended Length bit) past 255. */
function endAttribute(w: Writer, start: number): void {
  const len = w.pos - start - 3;
  if (len <= 255) {
    w.buf[start + 2] = len;
    return;
  }
  if (len > 0xffff) throw new RangeError(`attribute ${w.buf[start + 1]} of ${len} octets does not fit`);
  w.ensure(1);
  w.buf.copyWithin(start + 4, start + 3, w.pos);
  w.pos++;
  w.buf[start] = w.buf[start]! | AttrFlag.EXTENDED_LENGTH;
  w.buf[start + 2] = len >>> 8;
  w.buf[start + 3] = len & 0xff;
}

function writeRaw(w: Writer, raw: RawAttribute): void {
  let flags = raw.flags & (AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE | AttrFlag.PARTIAL);
  // We did not recognise it, so a transitive one passes on as "partial" (RFC 4271 §5).
  if ((flags & OPTIONAL_TRANSITIVE) === OPTIONAL_TRANSITIVE) flags |= AttrFlag.PARTIAL;
  const start = beginAttribute(w, flags, raw.type);
  w.bytes(raw.value);
  endAttribute(w, start);
}

/** Writes the path attributes in canonical order: MP_* first, then ascending type code. */
export function encodeAttributes(w: Writer, attrs: PathAttributes, opts: CodecOptions): void {
  const unknown = attrs.unknown ? [...attrs.unknown].sort((a, b) => a.type - b.type) : [];
  const partial = attrs.partial;
  let u = 0;
  for (const row of ROWS) {
    if (row.type !== AttrType.MP_REACH_NLRI && row.type !== AttrType.MP_UNREACH_NLRI) {
      while (u < unknown.length && unknown[u]!.type < row.type) writeRaw(w, unknown[u++]!);
    }
    if (!row.present(attrs, opts)) continue;
    const start = beginAttribute(w, partial?.includes(row.type) ? row.flags | AttrFlag.PARTIAL : row.flags, row.type);
    row.encode(w, attrs, opts);
    endAttribute(w, start);
  }
  while (u < unknown.length) writeRaw(w, unknown[u++]!);
}
