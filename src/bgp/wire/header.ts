// The 19-octet message header (RFC 4271 §4.1): marker, length, type.

import {
  ErrorCode,
  HEADER_LENGTH,
  MARKER_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageHeaderError,
  MessageType,
  MIN_MESSAGE_LENGTH,
} from './constants.js';
import { BgpMessageError } from './errors.js';
import { maxMessageLength, type CodecOptions } from './options.js';
import { Writer } from './writer.js';

export interface Header {
  length: number;
  type: number;
}

function u16(v: number): Buffer {
  return Buffer.from([v >>> 8, v & 0xff]);
}

function headerError(message: string, subcode: number, data?: Buffer): BgpMessageError {
  return new BgpMessageError(message, ErrorCode.MESSAGE_HEADER_ERROR, subcode, 'session-reset', data);
}

/**
 * Checks marker and length of the header at buf[pos]; the type is checked by
 * checkHeader. Needs 19 octets. `max` is 4096, or 65535 with extended messages.
 */
export function readHeader(buf: Uint8Array, pos: number, max: number): Header {
  for (let i = 0; i < MARKER_LENGTH; i++) {
    if (buf[pos + i] !== 0xff) {
      throw headerError('header marker is not all ones', MessageHeaderError.CONNECTION_NOT_SYNCHRONIZED);
    }
  }
  const length = (buf[pos + 16]! << 8) | buf[pos + 17]!;
  if (length < HEADER_LENGTH || length > max) {
    throw headerError(`message length ${length} outside ${HEADER_LENGTH}..${max}`, MessageHeaderError.BAD_MESSAGE_LENGTH, u16(length));
  }
  return { length, type: buf[pos + 18]! };
}

/**
 * Validates the header of one whole message: marker, that the length field matches the
 * buffer, the type, and the type's length bounds. Returns the type.
 */
export function checkHeader(msg: Buffer, opts: Pick<CodecOptions, 'extendedMessage'>, expectedType?: number): number {
  if (msg.length < HEADER_LENGTH) {
    throw headerError(`message of ${msg.length} octets is shorter than a header`, MessageHeaderError.BAD_MESSAGE_LENGTH, u16(msg.length));
  }
  const { length, type } = readHeader(msg, 0, maxMessageLength(opts));
  if (length !== msg.length) {
    throw headerError(`length field ${length} but ${msg.length} octets`, MessageHeaderError.BAD_MESSAGE_LENGTH, u16(length));
  }
  const min = MIN_MESSAGE_LENGTH[type];
  if (min === undefined) {
    throw headerError(`unknown message type ${type}`, MessageHeaderError.BAD_MESSAGE_TYPE, Buffer.from([type]));
  }
  if (expectedType !== undefined && type !== expectedType) {
    throw headerError(`expected message type ${expectedType}, got ${type}`, MessageHeaderError.BAD_MESSAGE_TYPE, Buffer.from([type]));
  }
  // RFC 8654: OPEN and KEEPALIVE stay within 4096 octets even with extended messages.
  const tooLong =
    (type === MessageType.KEEPALIVE && length !== HEADER_LENGTH) ||
    (type === MessageType.OPEN && length > MAX_MESSAGE_LENGTH);
  if (length < min || tooLong) {
    throw headerError(`bad length ${length} for message type ${type}`, MessageHeaderError.BAD_MESSAGE_LENGTH, u16(length));
  }
  return type;
}

/** Starts a message: marker, a length to be patched by finishMessage, type. */
export function startMessage(type: number, size = 512): Writer {
  const w = new Writer(size);
  w.ensure(HEADER_LENGTH);
  w.buf.fill(0xff, 0, MARKER_LENGTH);
  w.pos = MARKER_LENGTH + 2;
  w.buf[w.pos++] = type;
  return w;
}

export function finishMessage(w: Writer, opts: Pick<CodecOptions, 'extendedMessage'>): Buffer {
  const max = maxMessageLength(opts);
  if (w.pos > max) throw new RangeError(`encoded message of ${w.pos} octets exceeds the maximum of ${max}`);
  w.buf[MARKER_LENGTH] = w.pos >>> 8;
  w.buf[MARKER_LENGTH + 1] = w.pos & 0xff;
  return w.finish();
}
