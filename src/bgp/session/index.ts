// BGP sessions: the RFC 4271 FSM (one function per state), timers, TCP transport with
// MD5/GTSM, the listener and collision handling.

export { BgpSession, type SessionOptions } from './session.js';
export { updateEvent, type DownEvent, type PrefixEntry, type SessionHandlers, type UpdateEvent } from './delivery.js';
export { BgpListener, canonicalAddress, type ListenerOptions, type ListenerPeer, type ListenerStats } from './listener.js';
export { TcpDialer, applyTtlSecurity, socketFd } from './tcp.js';
export { resolveConfig, type GracefulRestartOptions, type ResolvedConfig, type SessionConfig } from './config.js';
export { STATE_FUNCTIONS, STATES, type Action, type FsmContext, type FsmEvent, type State, type Transition } from './fsm.js';
export { collisionSurvivor, incomingDecision, type IncomingDecision } from './collision.js';
export { checkPeerOpen, localOpen, negotiate, type Negotiated } from './negotiate.js';
export {
  emptyCounters,
  notificationName,
  socketError,
  type GracefulRestartInfo,
  type LastNotification,
  type NegotiatedInfo,
  type SessionCounters,
  type SessionStatus,
} from './status.js';
export { IdleBackoff, Timers, type TimerName } from './timers.js';
export { systemClock, type Clock } from '../../util/clock.js';
export type { Connection, DialTarget, Dialer } from './transport.js';
