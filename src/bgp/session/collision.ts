// Connection collisions (RFC 4271 §6.8) as plain decisions the session carries out.

import type { State } from './fsm.js';
import { bgpIdNumber } from './config.js';

/**
 * Which connection survives when both sides opened one: the one initiated by the
 * speaker with the higher BGP identifier, compared as unsigned 32-bit numbers.
 */
export function collisionSurvivor(localId: string, remoteId: string): 'outgoing' | 'incoming' {
  return bgpIdNumber(localId) > bgpIdNumber(remoteId) ? 'outgoing' : 'incoming';
}

/**
 * What to do with a connection the listener hands over:
 * - `adopt`: nothing else is connected; it becomes the session's connection
 * - `second`: our own connection is in OpenSent/OpenConfirm; run the OPEN exchange on
 *   this one too and let collision resolution pick
 * - `reject`: send Cease/Connection Rejected and close (Established, or a second
 *   incoming connection)
 * - `refuse`: close at once (the session is stopped or waiting after an error)
 */
export type IncomingDecision = 'adopt' | 'second' | 'reject' | 'refuse';

export function incomingDecision(state: State, current: { outgoing: boolean; hasSecond: boolean }): IncomingDecision {
  switch (state) {
    case 'Idle':
      return 'refuse';
    case 'Connect':
    case 'Active':
      return 'adopt';
    case 'OpenSent':
    case 'OpenConfirm':
      return current.outgoing && !current.hasSecond ? 'second' : 'reject';
    case 'Established':
      return 'reject';
  }
}
