// What `status()` reports, and the last-error strings in the form BIRD prints them
// (Calico's `node status` INFO column shows them unchanged).

import { formatNotification, MessageType, type Family } from '../wire/index.js';
import type { State } from './fsm.js';

/** BIRD's names for NOTIFICATION codes/subcodes (proto/bgp/packets.c bgp_msg_table). */
const BIRD_NAMES: Readonly<Record<string, string>> = {
  '1.0': 'Invalid message header',
  '1.1': 'Connection not synchronized',
  '1.2': 'Bad message length',
  '1.3': 'Bad message type',
  '2.0': 'Invalid OPEN message',
  '2.1': 'Unsupported version number',
  '2.2': 'Bad peer AS',
  '2.3': 'Bad BGP identifier',
  '2.4': 'Unsupported optional parameter',
  '2.5': 'Authentication failure',
  '2.6': 'Unacceptable hold time',
  '2.7': 'Required capability missing',
  '2.8': 'No supported AFI/SAFI',
  '2.11': 'Role mismatch',
  '3.0': 'Invalid UPDATE message',
  '3.1': 'Malformed attribute list',
  '3.2': 'Unrecognized well-known attribute',
  '3.3': 'Missing mandatory attribute',
  '3.4': 'Invalid attribute flags',
  '3.5': 'Invalid attribute length',
  '3.6': 'Invalid ORIGIN attribute',
  '3.8': 'Invalid NEXT_HOP attribute',
  '3.9': 'Optional attribute error',
  '3.10': 'Invalid network field',
  '3.11': 'Malformed AS_PATH',
  '4.0': 'Hold timer expired',
  '5.0': 'Finite state machine error',
  '5.1': 'Unexpected message in OpenSent state',
  '5.2': 'Unexpected message in OpenConfirm state',
  '5.3': 'Unexpected message in Established state',
  '6.0': 'Cease',
  '6.1': 'Maximum number of prefixes reached',
  '6.2': 'Administrative shutdown',
  '6.3': 'Peer de-configured',
  '6.4': 'Administrative reset',
  '6.5': 'Connection rejected',
  '6.6': 'Other configuration change',
  '6.7': 'Connection collision resolution',
  '6.8': 'Out of Resources',
  '7.0': 'Invalid ROUTE-REFRESH message',
  '7.1': 'Invalid ROUTE-REFRESH message length',
};

/** "Bad peer AS"; codes BIRD does not name fall back to the codec's "Code/Subcode" form. */
export function notificationName(n: { code: number; subcode: number }): string {
  return BIRD_NAMES[`${n.code}.${n.subcode}`] ?? BIRD_NAMES[`${n.code}.0`] ?? formatNotification(n);
}

/** lastError for a NOTIFICATION the peer sent: "Received: Hold timer expired". */
export function receivedError(n: { code: number; subcode: number }, text?: string): string {
  return `Received: ${notificationName(n)}${text ? `: ${text}` : ''}`;
}

/** lastError for a NOTIFICATION we sent because of an error we detected: "Hold timer expired". */
export function sentError(n: { code: number; subcode: number }): string {
  return notificationName(n);
}

/** strerror() texts, which is what BIRD puts after "Socket: ". */
const STRERROR: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  EHOSTDOWN: 'Host is down',
  ENETDOWN: 'Network is down',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EADDRINUSE: 'Address already in use',
  ECONNABORTED: 'Software caused connection abort',
  EPIPE: 'Broken pipe',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EINVAL: 'Invalid argument',
  ENOMEM: 'Cannot allocate memory',
  EMFILE: 'Too many open files',
};

export const SOCKET_CLOSED = 'Socket: Connection closed';
export const SOCKET_TIMED_OUT = 'Socket: Connection timed out';
/** BIRD's text when a graceful-restart peer reconnects while its old session is Established. */
export const PEER_RESTARTED = 'Graceful restart';
/** BIRD's BEM_INVALID_MD5: the kernel would not take the key. */
export const MD5_FAILED = 'Error: Kernel MD5 auth failed';

/** "Socket: Connection refused" from a Node socket error (or anything with an errno `code`). */
export function socketError(err: unknown): string {
  const e = err as { code?: unknown; op?: unknown; message?: unknown } | undefined;
  if (e && e.op === 'tcpMd5Set') return MD5_FAILED;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code && STRERROR[code]) return `Socket: ${STRERROR[code]}`;
  if (code) return `Socket: ${code}`;
  return `Socket: ${typeof e?.message === 'string' ? e.message : String(err)}`;
}

export interface MessageCounts {
  open: number;
  update: number;
  notification: number;
  keepalive: number;
  routeRefresh: number;
}

export interface SessionCounters {
  messagesIn: MessageCounts;
  messagesOut: MessageCounts;
  /** NOTIFICATIONs by error code. */
  notificationsIn: Record<number, number>;
  notificationsOut: Record<number, number>;
  /** Prefixes announced to us / withdrawn by the peer, summed over all UPDATEs. */
  prefixesReceived: number;
  prefixesWithdrawn: number;
  prefixesSent: number;
  /** RFC 7606 outcomes. */
  treatAsWithdraw: number;
  attributesDiscarded: number;
  /** Times the session reached Established. */
  established: number;
  /** Incoming connections refused or rejected (collision, Established, Idle). */
  connectionsRejected: number;
}

export function emptyCounters(): SessionCounters {
  const counts = (): MessageCounts => ({ open: 0, update: 0, notification: 0, keepalive: 0, routeRefresh: 0 });
  return {
    messagesIn: counts(),
    messagesOut: counts(),
    notificationsIn: {},
    notificationsOut: {},
    prefixesReceived: 0,
    prefixesWithdrawn: 0,
    prefixesSent: 0,
    treatAsWithdraw: 0,
    attributesDiscarded: 0,
    established: 0,
    connectionsRejected: 0,
  };
}

const COUNT_FIELD: Readonly<Record<number, keyof MessageCounts>> = {
  [MessageType.OPEN]: 'open',
  [MessageType.UPDATE]: 'update',
  [MessageType.NOTIFICATION]: 'notification',
  [MessageType.KEEPALIVE]: 'keepalive',
  [MessageType.ROUTE_REFRESH]: 'routeRefresh',
};

/** Counts one message by the type octet of its header. */
export function countMessage(counts: MessageCounts, msg: Buffer): void {
  const field = COUNT_FIELD[msg[18] ?? 0];
  if (field) counts[field]++;
}

export interface GracefulRestartInfo {
  /** Seconds the peer asks us to keep its routes. */
  restartTime: number;
  /** R bit: the peer has just restarted. */
  restarting: boolean;
  /** N bit (RFC 8538). */
  notification: boolean;
  /** Families it preserves, with whether forwarding state survived the restart. */
  families: Array<{ family: Family; forwarding: boolean }>;
  /** The peer's long-lived graceful restart capability (RFC 9494), when it sent one beside this. */
  longLived?: Array<{ family: Family; forwarding: boolean; staleTime: number }>;
}

/** What the OPEN exchange settled, JSON-friendly. */
export interface NegotiatedInfo {
  peerAs: number;
  peerId: string;
  /** Seconds; 0 = no hold timer and no keepalives. */
  holdTime: number;
  /** Seconds between our KEEPALIVEs (may be fractional); 0 = none. */
  keepaliveTime: number;
  families: Family[];
  fourOctetAs: boolean;
  addPath: { receive: Family[]; send: Family[] };
  /** Both sides support ROUTE-REFRESH. */
  routeRefresh: boolean;
  extendedMessage: boolean;
  /** The peer's graceful-restart capability, when it sent one. */
  gracefulRestart?: GracefulRestartInfo;
}

export interface LastNotification {
  direction: 'sent' | 'received';
  code: number;
  subcode: number;
  /** "Hold timer expired". */
  name: string;
  /** RFC 8203 shutdown communication. */
  text?: string;
  at: Date;
}

export interface SessionStatus {
  name: string;
  state: State;
  since: Date;
  /** The FSM state ("Passive" for a passive peer waiting) plus the last error when not Established, as Calico shows it. */
  info: string;
  lastError?: string;
  lastNotification?: LastNotification;
  passive: boolean;
  localAs: number;
  remoteAs: number;
  routerId: string;
  localAddress?: string;
  localPort?: number;
  remoteAddress: string;
  remotePort: number;
  negotiated?: NegotiatedInfo;
  /** Seconds until the next automatic start, while waiting after an error. */
  idleHoldSeconds?: number;
  counters: SessionCounters;
}
