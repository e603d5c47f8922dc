// What a session negotiated, passed to every encode/decode call that depends on it.

import { MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH } from './constants.js';
import type { Family } from './family.js';

export interface CodecOptions {
  /** Both sides advertised the 4-octet AS capability (RFC 6793). */
  readonly fourOctetAs: boolean;
  /** Families whose NLRI carry path identifiers (RFC 7911), per direction. */
  readonly addPath: {
    readonly receive: ReadonlySet<Family>;
    readonly send: ReadonlySet<Family>;
  };
  /** Both sides advertised the Extended Message capability (RFC 8654). */
  readonly extendedMessage: boolean;
}

/** Before the OPEN exchange nothing is negotiated. */
export const INITIAL_OPTIONS: CodecOptions = Object.freeze({
  fourOctetAs: false,
  addPath: Object.freeze({ receive: new Set<Family>(), send: new Set<Family>() }),
  extendedMessage: false,
});

export function maxMessageLength(opts: Pick<CodecOptions, 'extendedMessage'>): number {
  return opts.extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
}
