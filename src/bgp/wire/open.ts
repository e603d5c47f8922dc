// OPEN (RFC 4271 §4.2) with capabilities (RFC 5492) and extended optional parameters
// (RFC 9072). Checks here are the ones that need no configuration; the session checks
// the peer AS, the hold time it accepts and the capabilities it requires.

import {
  AS_TRANS,
  BGP_VERSION,
  ErrorCode,
  HEADER_LENGTH,
  MessageType,
  OpenMessageError,
  OptionalParameterType,
  UNSPECIFIC,
} from './constants.js';
import { decodeCapability, findCapability, writeCapability, type Capability } from './capabilities.js';
import { BgpMessageError } from './errors.js';
import { checkHeader, finishMessage, startMessage } from './header.js';
import { formatIpv4At, writeIpv4Address } from './prefix.js';

export interface Open {
  /** The speaker's AS. Above 65535 it needs a four-octet-as capability; My AS is then AS_TRANS. */
  asn: number;
  holdTime: number;
  /** BGP Identifier, dotted quad. */
  bgpId: string;
  capabilities: Capability[];
}

export interface DecodedOpen extends Open {
  version: number;
  /** The 2-octet My AS field as received. */
  myAs: number;
}

function openError(message: string, subcode: number, data?: Buffer): BgpMessageError {
  return new BgpMessageError(message, ErrorCode.OPEN_MESSAGE_ERROR, subcode, 'session-reset', data);
}

export function encodeOpen(open: Open): Buffer {
  const four = findCapability(open.capabilities, 'four-octet-as');
  if (open.asn > 0xffff && four === undefined) {
    throw new RangeError(`AS ${open.asn} needs a four-octet-as capability`);
  }
  const w = startMessage(MessageType.OPEN, 128);
  w.u8(BGP_VERSION);
  w.u16(open.asn > 0xffff ? AS_TRANS : open.asn);
  w.u16(open.holdTime);
  writeIpv4Address(w, open.bgpId);
  const lengthAt = w.pos;
  w.u8(0);
  if (open.capabilities.length > 0) {
    const paramStart = w.pos;
    w.u8(OptionalParameterType.CAPABILITIES);
    w.u8(0);
    for (const cap of open.capabilities) writeCapability(w, cap);
    const paramLen = w.pos - paramStart - 2;
    if (paramLen <= 253) {
      w.buf[paramStart + 1] = paramLen;
      w.buf[lengthAt] = paramLen + 2;
    } else {
      // RFC 9072: 255, type 255, a 2-octet total, then 2-octet parameter lengths.
      const body = Buffer.from(w.buf.subarray(paramStart + 2, w.pos));
      w.pos = lengthAt;
      w.u8(255);
      w.u8(OptionalParameterType.EXTENDED_LENGTH);
      w.u16(body.length + 3);
      w.u8(OptionalParameterType.CAPABILITIES);
      w.u16(body.length);
      w.bytes(body);
    }
  }
  return finishMessage(w, { extendedMessage: false });
}

export function decodeOpen(msg: Buffer): DecodedOpen {
  checkHeader(msg, { extendedMessage: false }, MessageType.OPEN);
  const version = msg[HEADER_LENGTH]!;
  if (version !== BGP_VERSION) {
    throw openError(`unsupported BGP version ${version}`, OpenMessageError.UNSUPPORTED_VERSION_NUMBER, Buffer.from([0, BGP_VERSION]));
  }
  const myAs = msg.readUInt16BE(20);
  const holdTime = msg.readUInt16BE(22);
  const bgpId = formatIpv4At(msg, 24);
  let pos = 29;
  let end = 29 + msg[28]!;
  let lengthSize = 1;
  if (msg[28] === 255 && msg.length > 29 && msg[29] === OptionalParameterType.EXTENDED_LENGTH) {
    if (msg.length < 32) throw openError('truncated extended optional parameters length', UNSPECIFIC);
    lengthSize = 2;
    pos = 32;
    end = 32 + msg.readUInt16BE(30);
  }
  if (end !== msg.length) {
    throw openError(`optional parameters end at ${end}, message at ${msg.length}`, UNSPECIFIC);
  }
  const capabilities: Capability[] = [];
  while (pos < end) {
    if (end - pos < 1 + lengthSize) throw openError('truncated optional parameter', UNSPECIFIC);
    const type = msg[pos]!;
    const len = lengthSize === 1 ? msg[pos + 1]! : msg.readUInt16BE(pos + 1);
    pos += 1 + lengthSize;
    if (pos + len > end) throw openError('optional parameter overruns the message', UNSPECIFIC);
    if (type !== OptionalParameterType.CAPABILITIES) {
      throw openError(`unsupported optional parameter ${type}`, OpenMessageError.UNSUPPORTED_OPTIONAL_PARAMETER);
    }
    const paramEnd = pos + len;
    while (pos < paramEnd) {
      if (paramEnd - pos < 2) throw openError('truncated capability', UNSPECIFIC);
      const code = msg[pos]!;
      const clen = msg[pos + 1]!;
      pos += 2;
      if (pos + clen > paramEnd) throw openError(`capability ${code} overruns its parameter`, UNSPECIFIC);
      const cap = decodeCapability(code, msg.subarray(pos, pos + clen));
      if (typeof cap === 'string') throw openError(cap, UNSPECIFIC, Buffer.from(msg.subarray(pos - 2, pos + clen)));
      capabilities.push(cap);
      pos += clen;
    }
  }
  if (holdTime === 1 || holdTime === 2) {
    throw openError(`hold time ${holdTime} is neither 0 nor at least 3`, OpenMessageError.UNACCEPTABLE_HOLD_TIME);
  }
  if (msg.readUInt32BE(24) === 0) throw openError('BGP identifier 0.0.0.0', OpenMessageError.BAD_BGP_IDENTIFIER);
  const four = findCapability(capabilities, 'four-octet-as');
  const asn = four ? four.asn : myAs;
  // RFC 7607: AS 0 is never a valid peer AS.
  if (myAs === 0 || asn === 0) throw openError('peer AS 0', OpenMessageError.BAD_PEER_AS, Buffer.from([0, 0]));
  return { version, myAs, asn, holdTime, bgpId, capabilities };
}
