// ROUTE-REFRESH (RFC 2918) with the enhanced subtypes (RFC 7313).

import { ErrorCode, MessageType, RouteRefreshMessageError, RouteRefreshSubtype } from './constants.js';
import { BgpMessageError } from './errors.js';
import { FAMILIES, type Family } from './family.js';
import { checkHeader, finishMessage, startMessage } from './header.js';
import type { CodecOptions } from './options.js';

export interface RouteRefresh {
  afi: number;
  safi: number;
  /** RouteRefreshSubtype; RFC 7313 says to ignore a message with any other value. */
  subtype: number;
  /** ORF entries (RFC 5291) of a normal request, kept raw. */
  orf?: Buffer;
}

export function routeRefresh(family: Family, subtype: number = RouteRefreshSubtype.NORMAL): RouteRefresh {
  return { afi: FAMILIES[family].afi, safi: FAMILIES[family].safi, subtype };
}

export function encodeRouteRefresh(rr: RouteRefresh, opts: Pick<CodecOptions, 'extendedMessage'>): Buffer {
  const w = startMessage(MessageType.ROUTE_REFRESH, 32);
  w.u16(rr.afi);
  w.u8(rr.subtype);
  w.u8(rr.safi);
  if (rr.orf) w.bytes(rr.orf);
  return finishMessage(w, opts);
}

export function decodeRouteRefresh(msg: Buffer, opts: Pick<CodecOptions, 'extendedMessage'>): RouteRefresh {
  checkHeader(msg, opts, MessageType.ROUTE_REFRESH);
  const subtype = msg[21]!;
  const rr: RouteRefresh = { afi: msg.readUInt16BE(19), safi: msg[22]!, subtype };
  if (msg.length > 23) {
    if (subtype === RouteRefreshSubtype.BEGINNING_OF_ROUTE_REFRESH || subtype === RouteRefreshSubtype.END_OF_ROUTE_REFRESH) {
      throw new BgpMessageError(
        `ROUTE-REFRESH subtype ${subtype} with ${msg.length} octets`,
        ErrorCode.ROUTE_REFRESH_MESSAGE_ERROR,
        RouteRefreshMessageError.INVALID_MESSAGE_LENGTH,
        'session-reset',
        Buffer.from(msg),
      );
    }
    rr.orf = Buffer.from(msg.subarray(23));
  }
  return rr;
}
