// NOTIFICATION (RFC 4271 §4.5), its names for logs, and the shutdown communication of
// Cease/Administrative Shutdown and Reset (RFC 8203, RFC 9003).

import {
  CeaseSubcode,
  ErrorCode,
  ErrorCodeName,
  ErrorSubcodeName,
  HEADER_LENGTH,
  MAX_SHUTDOWN_COMMUNICATION_LENGTH,
  MessageType,
} from './constants.js';
import type { BgpMessageError } from './errors.js';
import { checkHeader, finishMessage, startMessage } from './header.js';
import { maxMessageLength, type CodecOptions } from './options.js';

export interface Notification {
  code: number;
  subcode: number;
  data: Buffer;
}

const NOT_EXTENDED = { extendedMessage: false };

/** Data that does not fit the peer's maximum message length is cut (RFC 8654 §4). */
export function encodeNotification(n: { code: number; subcode: number; data?: Uint8Array }, opts: Pick<CodecOptions, 'extendedMessage'> = NOT_EXTENDED): Buffer {
  const data = n.data ?? Buffer.alloc(0);
  const room = maxMessageLength(opts) - HEADER_LENGTH - 2;
  const w = startMessage(MessageType.NOTIFICATION, HEADER_LENGTH + 2 + Math.min(room, data.length));
  w.u8(n.code);
  w.u8(n.subcode);
  w.bytes(data.length > room ? data.subarray(0, room) : data);
  return finishMessage(w, opts);
}

export function decodeNotification(msg: Buffer, opts: Pick<CodecOptions, 'extendedMessage'> = NOT_EXTENDED): Notification {
  checkHeader(msg, opts, MessageType.NOTIFICATION);
  return { code: msg[19]!, subcode: msg[20]!, data: Buffer.from(msg.subarray(21)) };
}

/** "Cease/Administrative Shutdown"; unknown numbers are shown as numbers. */
export function formatNotification(n: { code: number; subcode: number }): string {
  const code = ErrorCodeName[n.code] ?? `Error code ${n.code}`;
  const sub = ErrorSubcodeName[n.code]?.[n.subcode] ?? (n.subcode === 0 ? 'Unspecific' : `subcode ${n.subcode}`);
  return `${code}/${sub}`;
}

function carriesCommunication(n: { code: number; subcode: number }): boolean {
  return n.code === ErrorCode.CEASE && (n.subcode === CeaseSubcode.ADMINISTRATIVE_SHUTDOWN || n.subcode === CeaseSubcode.ADMINISTRATIVE_RESET);
}

/**
 * The operator's message in a Cease/Administrative Shutdown or Reset: a length octet
 * then UTF-8. Undefined when absent or malformed (RFC 9003 says to ignore it then).
 */
export function shutdownCommunication(n: Notification): string | undefined {
  if (!carriesCommunication(n) || n.data.length === 0) return undefined;
  const len = n.data[0]!;
  if (len === 0 || len + 1 > n.data.length) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(n.data.subarray(1, 1 + len));
  } catch {
    return undefined;
  }
}

/** A Cease NOTIFICATION with a shutdown communication, cut to 255 octets on a character boundary. */
export function shutdownNotification(
  subcode: typeof CeaseSubcode.ADMINISTRATIVE_SHUTDOWN | typeof CeaseSubcode.ADMINISTRATIVE_RESET,
  message: string,
): Notification {
  let text = Buffer.from(message, 'utf8');
  if (text.length > MAX_SHUTDOWN_COMMUNICATION_LENGTH) {
    let end = MAX_SHUTDOWN_COMMUNICATION_LENGTH;
    while (end > 0 && (text[end]! & 0xc0) === 0x80) end--; // do not split a UTF-8 sequence
    text = text.subarray(0, end);
  }
  const data = Buffer.allocUnsafe(1 + text.length);
  data[0] = text.length;
  text.copy(data, 1);
  return { code: ErrorCode.CEASE, subcode, data };
}

/** The NOTIFICATION a session sends for a decode error. */
export function notificationOf(err: BgpMessageError): Notification {
  return { code: err.notification.code, subcode: err.notification.subcode, data: err.notification.data };
}
