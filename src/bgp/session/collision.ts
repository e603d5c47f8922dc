// Connection collisions (RFC 4271 §6.8) as plain decisions the session carries out.

import type { State } from './fsm.js';
import { bgpIdNumber } from './config.js';

/**
 * Which connection survives when both sides opened one: the one initiated by the
 * speaker with the higher BGP identifier, compared as unsigned 32-bit numbers; with
 * equal identifiers (possible between ASes, RFC 6286 §2.2) the one initiated by the
 * speaker with the larger AS number (RFC 6286 §2.3).
 */
export function collisionSurvivor(localId: string, remoteId: string, localAs: number, remoteAs: number): 'outgoing' | 'incoming' {
  const l = bgpIdNumber(localId);
  const r = bgpIdNumber(remoteId);
  if (l !== r) return l > r ? 'outgoing' : 'incoming';
  return localAs > remoteAs ? 'outgoing' : 'incoming';
}

/**
 * What to do with a connection the listener hands over:
 * - `adopt`: nothing else is connected; it becomes the session's connection
 * - `second`: our own connection is in OpenSent/OpenConfirm; run the OPEN exchange on
 *   this one too and let collision resolution pick
 * - `restarted`: Established with a peer that negotiated graceful restart: it has
 *   restarted and the old connection is dead though no segment said so yet. The old
 *   session ends as if its TCP connection had failed (the peer's routes are kept,
 *   stale) and the new one is adopted — RFC 4724 §4.2, as BIRD does
 * - `resume`: Idle, waiting out the idle hold after the connection was lost without a
 *   NOTIFICATION either way (the peer went away or restarted): the hold ends and the
 *   peer's connection is adopted. BIRD refuses only in its error wait after a protocol
 *   error (start_state BSS_DELAY); a lost connection goes straight back to BSS_CONNECT,
 *   where it accepts. Refusing here made two active ends back off in step, each dialling
 *   while the other waited (bgp_incoming_connection in BIRD's proto/bgp/bgp.c)
 * - `reject`: send Cease/Connection Rejected and close (Established, or a second
 *   incoming connection)
 * - `refuse`: close at once (the session is stopped or waiting after an error)
 */
export type IncomingDecision = 'adopt' | 'second' | 'restarted' | 'resume' | 'reject' | 'refuse';

export function incomingDecision(state: State, current: { outgoing: boolean; hasSecond: boolean; gracefulRestart?: boolean; holdAfterLoss?: boolean }): IncomingDecision {
  switch (state) {
    case 'Idle':
      return current.holdAfterLoss ? 'resume' : 'refuse';
    case 'Connect':
    case 'Active':
      return 'adopt';
    case 'OpenSent':
    case 'OpenConfirm':
      return current.outgoing && !current.hasSecond ? 'second' : 'reject';
    case 'Established':
      return current.gracefulRestart ? 'restarted' : 'reject';
  }
}
