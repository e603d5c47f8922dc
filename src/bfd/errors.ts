// The codec's one error class: which RFC 5880 §6.8.6 check a received packet failed.
// The caller drops the packet and counts the reason; nothing else happens.

import { TabbyError } from '../errors.js';

export type BfdDiscardReason = 'short' | 'version' | 'length' | 'detect-mult' | 'multipoint' | 'my-discriminator';

// src/errors.ts imports nothing of the project, so extending its base keeps the codec a leaf.
export class BfdPacketError extends TabbyError {
  override readonly code = 'BFD_PACKET';

  constructor(
    message: string,
    readonly reason: BfdDiscardReason,
  ) {
    super(message);
  }
}

/** A BFD socket could not be set up: no free source port, or no descriptor for the TTL filter. */
export class BfdTransportError extends TabbyError {
  override readonly code = 'BFD_TRANSPORT';
}
