// KEEPALIVE (RFC 4271 §4.4): a bare header.

import { MessageType } from './constants.js';
import { checkHeader, finishMessage, startMessage } from './header.js';

const KEEPALIVE = finishMessage(startMessage(MessageType.KEEPALIVE, 19), { extendedMessage: false });

/** A fresh copy each time, so a caller may not corrupt the next one. */
export function encodeKeepalive(): Buffer {
  return Buffer.from(KEEPALIVE);
}

export function decodeKeepalive(msg: Buffer): void {
  checkHeader(msg, { extendedMessage: false }, MessageType.KEEPALIVE);
}
