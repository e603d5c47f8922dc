// Any message: dispatch on the header's type through one table.

import { ErrorCode, MessageType, UNSPECIFIC } from './constants.js';
import { BgpMessageError } from './errors.js';
import { checkHeader } from './header.js';
import { decodeKeepalive, encodeKeepalive } from './keepalive.js';
import { decodeNotification, encodeNotification, type Notification } from './notification.js';
import { decodeOpen, encodeOpen, type DecodedOpen, type Open } from './open.js';
import type { CodecOptions } from './options.js';
import { decodeRouteRefresh, encodeRouteRefresh, type RouteRefresh } from './route-refresh.js';
import { decodeUpdate, encodeUpdate, type DecodedUpdate, type Update } from './update.js';

export type BgpMessage =
  | { type: 'open'; open: Open }
  | { type: 'update'; update: Partial<Update> }
  | { type: 'notification'; notification: { code: number; subcode: number; data?: Uint8Array } }
  | { type: 'keepalive' }
  | { type: 'route-refresh'; routeRefresh: RouteRefresh };

export type DecodedMessage =
  | { type: 'open'; open: DecodedOpen }
  | { type: 'update'; update: DecodedUpdate }
  | { type: 'notification'; notification: Notification }
  | { type: 'keepalive' }
  | { type: 'route-refresh'; routeRefresh: RouteRefresh };

const DECODERS: Record<number, (msg: Buffer, opts: CodecOptions) => DecodedMessage> = {
  [MessageType.OPEN]: (m) => ({ type: 'open', open: decodeOpen(m) }),
  [MessageType.UPDATE]: (m, o) => ({ type: 'update', update: decodeUpdate(m, o) }),
  [MessageType.NOTIFICATION]: (m, o) => ({ type: 'notification', notification: decodeNotification(m, o) }),
  [MessageType.KEEPALIVE]: (m) => (decodeKeepalive(m), { type: 'keepalive' }),
  [MessageType.ROUTE_REFRESH]: (m, o) => ({ type: 'route-refresh', routeRefresh: decodeRouteRefresh(m, o) }),
};

/** Set on the error a decoder bug would have thrown, so tests can tell it apart. */
export const INTERNAL_DECODER_ERROR = 'internal decoder error';

/**
 * Decodes one whole message (as MessageReader yields them). Throws only BgpMessageError;
 * for an UPDATE only session-reset errors are thrown (see DecodedUpdate).
 */
export function decodeMessage(msg: Buffer, opts: CodecOptions): DecodedMessage {
  try {
    const type = checkHeader(msg, opts);
    return DECODERS[type]!(msg, opts);
  } catch (err) {
    if (err instanceof BgpMessageError) throw err;
    // Defence in depth: a bug must not escape as a RangeError into the session.
    throw new BgpMessageError(`${INTERNAL_DECODER_ERROR}: ${String(err)}`, ErrorCode.MESSAGE_HEADER_ERROR, UNSPECIFIC, 'session-reset', undefined, {
      cause: err,
    });
  }
}

export function encodeMessage(m: BgpMessage, opts: CodecOptions): Buffer {
  switch (m.type) {
    case 'open':
      return encodeOpen(m.open);
    case 'update':
      return encodeUpdate(m.update, opts);
    case 'notification':
      return encodeNotification(m.notification, opts);
    case 'keepalive':
      return encodeKeepalive();
    case 'route-refresh':
      return encodeRouteRefresh(m.routeRefresh, opts);
  }
}
