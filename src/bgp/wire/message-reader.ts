// Splits a TCP byte stream into whole BGP messages. Messages are views into the received
// chunks where possible (no copy); a message split across chunks is joined once.

import { HEADER_LENGTH, MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH } from './constants.js';
import { BgpMessageError } from './errors.js';
import { readHeader } from './header.js';

export class MessageReader {
  /** Set once the OPEN exchange negotiated extended messages (RFC 8654). */
  extendedMessage: boolean;
  private chunks: Buffer[] = [];
  private head = 0;
  private buffered = 0;
  private failure: BgpMessageError | undefined;

  constructor(opts: { extendedMessage?: boolean } = {}) {
    this.extendedMessage = opts.extendedMessage ?? false;
  }

  /** Octets received but not yet returned as a message. */
  get bufferedLength(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * The next whole message (header included), or undefined until more bytes arrive.
   * A bad marker or length throws BgpMessageError, and keeps throwing: the stream
   * cannot be resynchronised.
   */
  next(): Buffer | undefined {
    if (this.failure) throw this.failure;
    if (this.buffered < HEADER_LENGTH) return undefined;
    if (this.chunks[0]!.length - this.head < HEADER_LENGTH) this.coalesce();
    const max = this.extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
    let length: number;
    try {
      length = readHeader(this.chunks[0]!, this.head, max).length;
    } catch (err) {
      this.failure = err as BgpMessageError;
      throw err;
    }
    if (this.buffered < length) return undefined;
    if (this.chunks[0]!.length - this.head < length) this.coalesce();
    const first = this.chunks[0]!;
    const msg = first.subarray(this.head, this.head + length);
    this.head += length;
    this.buffered -= length;
    if (this.head === first.length) {
      this.chunks.shift();
      this.head = 0;
    }
    return msg;
  }

  *[Symbol.iterator](): IterableIterator<Buffer> {
    for (let m = this.next(); m !== undefined; m = this.next()) yield m;
  }

  private coalesce(): void {
    const parts = this.chunks;
    parts[0] = parts[0]!.subarray(this.head);
    this.chunks = [Buffer.concat(parts, this.buffered)];
    this.head = 0;
  }
}
