// The codec's one error class: which RFC 5880 §6.8.6 check a received packet failed.
// The caller drops the packet and counts the reason; nothing else happens.

export type BfdDiscardReason = 'short' | 'version' | 'length' | 'detect-mult' | 'multipoint' | 'my-discriminator';

export class BfdPacketError extends Error {
  // Stays a stable code when this later extends the project's TabbyError (the codec is a leaf).
  readonly code = 'BFD_PACKET';

  constructor(
    message: string,
    readonly reason: BfdDiscardReason,
  ) {
    super(message);
    this.name = 'BfdPacketError';
  }
}
