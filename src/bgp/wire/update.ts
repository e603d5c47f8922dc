// UPDATE (RFC 4271 §4.3) with RFC 7606 error handling: decodeUpdate throws only for
// session-reset; treat-as-withdraw and attribute-discard come back in the result, so
// the session still learns which prefixes the broken UPDATE was about.

import { decodeAttributes, encodeAttributes, type PathAttributes } from './attributes.js';
import { AttrFlag, AttrType, ErrorCode, MessageType, UpdateMessageError } from './constants.js';
import { BgpMessageError } from './errors.js';
import { FAMILIES, familyOf, writePrefixes, type Family } from './family.js';
import { checkHeader, finishMessage, startMessage } from './header.js';
import type { CodecOptions } from './options.js';

export interface Update {
  /** IPv4 unicast prefixes withdrawn in the Withdrawn Routes field. */
  withdrawn: string[];
  withdrawnPathIds?: number[];
  attributes: PathAttributes;
  /** IPv4 unicast prefixes announced in the NLRI field. */
  nlri: string[];
  nlriPathIds?: number[];
}

export interface DecodedUpdate extends Update {
  /**
   * Set when RFC 7606 says "treat-as-withdraw": every prefix announced here (NLRI and
   * MP_REACH_NLRI) must be withdrawn instead, and `attributes` may be incomplete.
   * routeChanges() applies this.
   */
  treatAsWithdraw?: BgpMessageError;
  /** Attributes that were dropped ("attribute-discard"); the rest of the UPDATE stands. */
  discarded: BgpMessageError[];
  /** Set when the bytes are an End-of-RIB marker (RFC 4724 §2) for a family we know. */
  endOfRib?: Family;
}

const IPV4 = FAMILIES.ipv4;

function sessionReset(message: string, subcode: number): BgpMessageError {
  return new BgpMessageError(message, ErrorCode.UPDATE_MESSAGE_ERROR, subcode, 'session-reset');
}

export function encodeUpdate(update: Partial<Update>, opts: CodecOptions): Buffer {
  const w = startMessage(MessageType.UPDATE, 256);
  const addPath = opts.addPath.send.has('ipv4');
  const wStart = w.pos;
  w.u16(0);
  if (update.withdrawn) writePrefixes(w, IPV4, update.withdrawn, update.withdrawnPathIds, addPath);
  const wLen = w.pos - wStart - 2;
  w.buf[wStart] = wLen >>> 8;
  w.buf[wStart + 1] = wLen & 0xff;
  const aStart = w.pos;
  w.u16(0);
  if (update.attributes) encodeAttributes(w, update.attributes, opts);
  const aLen = w.pos - aStart - 2;
  w.buf[aStart] = aLen >>> 8;
  w.buf[aStart + 1] = aLen & 0xff;
  if (update.nlri) writePrefixes(w, IPV4, update.nlri, update.nlriPathIds, addPath);
  return finishMessage(w, opts);
}

/** Decodes one whole UPDATE message (header included). */
export function decodeUpdate(msg: Buffer, opts: CodecOptions): DecodedUpdate {
  checkHeader(msg, opts, MessageType.UPDATE);
  const end = msg.length;
  const wEnd = 21 + msg.readUInt16BE(19);
  if (wEnd + 2 > end) throw sessionReset('withdrawn routes length overruns the message', UpdateMessageError.MALFORMED_ATTRIBUTE_LIST);
  const aStart = wEnd + 2;
  const aEnd = aStart + msg.readUInt16BE(wEnd);
  if (aEnd > end) throw sessionReset('total path attribute length overruns the message', UpdateMessageError.MALFORMED_ATTRIBUTE_LIST);

  const addPath = opts.addPath.receive.has('ipv4');
  const withdrawn: string[] = [];
  const withdrawnPathIds = addPath ? ([] as number[]) : undefined;
  let bad = IPV4.readPrefixes(msg, 21, wEnd, withdrawn, withdrawnPathIds);
  if (bad !== undefined) throw sessionReset(`withdrawn routes: ${bad}`, UpdateMessageError.INVALID_NETWORK_FIELD);

  const { attributes, treatAsWithdraw, discarded, framingError } = decodeAttributes(msg, aStart, aEnd, opts);

  const nlri: string[] = [];
  const nlriPathIds = addPath ? ([] as number[]) : undefined;
  bad = IPV4.readPrefixes(msg, aEnd, end, nlri, nlriPathIds);
  if (bad !== undefined) throw sessionReset(`NLRI: ${bad}`, UpdateMessageError.INVALID_NETWORK_FIELD);
  // RFC 7606 §5.2 (as BIRD's attrs.c applies it): a broken attribute list may hide the
  // MP_REACH_NLRI; with no NLRI found at all there is nothing to treat as withdrawn.
  if (framingError && nlri.length === 0 && attributes.mpReach === undefined) {
    throw sessionReset(`${treatAsWithdraw!.message}, and no NLRI found`, UpdateMessageError.MALFORMED_ATTRIBUTE_LIST);
  }

  const out: DecodedUpdate = { withdrawn, attributes, nlri, discarded };
  const eor = wireEndOfRib(msg, wEnd, aStart, aEnd);
  if (eor !== undefined) out.endOfRib = eor;
  if (withdrawnPathIds) out.withdrawnPathIds = withdrawnPathIds;
  if (nlriPathIds) out.nlriPathIds = nlriPathIds;
  out.treatAsWithdraw = treatAsWithdraw ?? missingMandatory(out);
  if (out.treatAsWithdraw === undefined) delete out.treatAsWithdraw;
  return out;
}

/** RFC 7606 §3(d): a missing well-known mandatory attribute means treat-as-withdraw. */
function missingMandatory(u: Update): BgpMessageError | undefined {
  const a = u.attributes;
  if (u.nlri.length === 0 && (a.mpReach?.nlri.length ?? 0) === 0) return undefined;
  let missing: number | undefined;
  if (a.origin === undefined) missing = AttrType.ORIGIN;
  else if (a.asPath === undefined) missing = AttrType.AS_PATH;
  else if (u.nlri.length > 0 && a.nextHop === undefined) missing = AttrType.NEXT_HOP; // MP_REACH carries its own
  if (missing === undefined) return undefined;
  return new BgpMessageError(
    `missing well-known attribute ${missing}`,
    ErrorCode.UPDATE_MESSAGE_ERROR,
    UpdateMessageError.MISSING_WELL_KNOWN_ATTRIBUTE,
    'treat-as-withdraw',
    Buffer.from([missing]),
  );
}

/**
 * RFC 4724 §2, on the bytes: an UPDATE with no withdrawn routes, no attributes and no
 * NLRI is the IPv4 marker; one whose only attribute is an MP_UNREACH_NLRI holding just
 * an AFI/SAFI is that family's. Decoded values cannot tell: an attribute dropped as
 * malformed leaves the same empty value behind.
 */
function wireEndOfRib(msg: Buffer, wEnd: number, aStart: number, aEnd: number): Family | undefined {
  if (wEnd !== 21 || aEnd !== msg.length) return undefined;
  if (aStart === aEnd) return 'ipv4';
  const flags = msg[aStart]!;
  const headerLen = flags & AttrFlag.EXTENDED_LENGTH ? 4 : 3;
  if ((flags & (AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE)) !== AttrFlag.OPTIONAL) return undefined;
  if (aEnd - aStart !== headerLen + 3 || msg[aStart + 1] !== AttrType.MP_UNREACH_NLRI) return undefined;
  const len = headerLen === 4 ? msg.readUInt16BE(aStart + 2) : msg[aStart + 2]!;
  if (len !== 3) return undefined;
  return familyOf(msg.readUInt16BE(aStart + headerLen), msg[aStart + headerLen + 2]!);
}

/**
 * The family an End-of-RIB marker (RFC 4724 §2) stands for, or undefined. A decoded
 * UPDATE answers from its bytes (see wireEndOfRib); a value built to be sent, from its shape.
 */
export function isEndOfRib(u: Update | DecodedUpdate): Family | undefined {
  if ('discarded' in u) return u.endOfRib;
  if (u.withdrawn.length > 0 || u.nlri.length > 0) return undefined;
  const present = Object.entries(u.attributes).filter(([, v]) => v !== undefined);
  if (present.length === 0) return 'ipv4';
  const un = u.attributes.mpUnreach;
  if (present.length === 1 && un !== undefined && un.withdrawn.length === 0) return un.family;
  return undefined;
}

/** An End-of-RIB marker: an empty UPDATE for IPv4, an empty MP_UNREACH_NLRI otherwise. */
export function endOfRib(family: Family): Update {
  if (family === 'ipv4') return { withdrawn: [], attributes: {}, nlri: [] };
  return { withdrawn: [], attributes: { mpUnreach: { family, withdrawn: [] } }, nlri: [] };
}

export interface RouteChange {
  family: Family;
  withdrawn: string[];
  withdrawnPathIds?: number[];
  announced: string[];
  announcedPathIds?: number[];
  /** Next hop of the announced prefixes. */
  nextHop?: string;
  linkLocalNextHop?: string;
}

function concatIds(a: number[] | undefined, b: number[] | undefined): number[] | undefined {
  return a === undefined && b === undefined ? undefined : [...(a ?? []), ...(b ?? [])];
}

/**
 * What an UPDATE does, per family, with RFC 7606 applied: under treat-as-withdraw every
 * announced prefix is listed as withdrawn and nothing is announced. The prefix arrays
 * may be the update's own.
 */
export function routeChanges(u: DecodedUpdate): RouteChange[] {
  const taw = u.treatAsWithdraw !== undefined;
  const byFamily = new Map<Family, RouteChange>();
  const entry = (family: Family): RouteChange => {
    let e = byFamily.get(family);
    if (!e) byFamily.set(family, (e = { family, withdrawn: [], announced: [] }));
    return e;
  };
  const withdraw = (family: Family, prefixes: string[], ids: number[] | undefined): void => {
    if (prefixes.length === 0) return;
    const e = entry(family);
    e.withdrawn = e.withdrawn.length === 0 ? prefixes : e.withdrawn.concat(prefixes);
    const merged = concatIds(e.withdrawnPathIds, ids);
    if (merged) e.withdrawnPathIds = merged;
  };
  const announce = (family: Family, prefixes: string[], ids: number[] | undefined, nextHop?: string, ll?: string): void => {
    if (prefixes.length === 0) return;
    if (taw) return withdraw(family, prefixes, ids);
    const e = entry(family);
    e.announced = e.announced.length === 0 ? prefixes : e.announced.concat(prefixes);
    const merged = concatIds(e.announcedPathIds, ids);
    if (merged) e.announcedPathIds = merged;
    if (nextHop !== undefined) e.nextHop = nextHop;
    if (ll !== undefined) e.linkLocalNextHop = ll;
  };
  const a = u.attributes;
  withdraw('ipv4', u.withdrawn, u.withdrawnPathIds);
  if (a.mpUnreach) withdraw(a.mpUnreach.family, a.mpUnreach.withdrawn, a.mpUnreach.pathIds);
  announce('ipv4', u.nlri, u.nlriPathIds, a.nextHop);
  if (a.mpReach) announce(a.mpReach.family, a.mpReach.nlri, a.mpReach.pathIds, a.mpReach.nextHop, a.mpReach.linkLocalNextHop);
  return [...byFamily.values()];
}
