// The RFC 4271 §8 finite state machine: one function per state. Each takes the
// connection's context and one event and returns the next state, why, and the actions
// for the session to carry out (send, close, dial, timers, deliver). No I/O here, so a
// state can be tested alone.

import {
  CeaseSubcode,
  ErrorCode,
  FsmError,
  notificationOf,
  shutdownCommunication,
  type BgpMessage,
  type BgpMessageError,
  type DecodedOpen,
  type DecodedUpdate,
  type Notification,
  type Open,
  type RouteRefresh,
} from '../wire/index.js';
import { collisionSurvivor } from './collision.js';
import type { ResolvedConfig } from './config.js';
import { checkPeerOpen, negotiate, type Negotiated } from './negotiate.js';
import { PEER_RESTARTED, receivedError, SOCKET_TIMED_OUT, sentError } from './status.js';
import type { TimerName } from './timers.js';

export type State = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

export const STATES: readonly State[] = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];

export type FsmEvent =
  /** ManualStart (passive or not, as configured). */
  | { type: 'Start' }
  /** ManualStop: the Cease to send if a BGP conversation is under way; none = just close (RFC 4724 restart). */
  | { type: 'Stop'; notification?: Notification | undefined }
  /** AutomaticStart once the idle hold after an error is over. */
  | { type: 'IdleHoldTimerExpires' }
  | { type: 'ConnectRetryTimerExpires' }
  | { type: 'HoldTimerExpires' }
  | { type: 'KeepaliveTimerExpires' }
  /** Our dial completed. */
  | { type: 'TcpConnected' }
  /** The listener handed this session a connection. */
  | { type: 'TcpIncoming' }
  /** The dial failed, or the connection closed or broke; `error` is the BIRD-style text. */
  | { type: 'TcpFails'; error: string }
  /** Established, a graceful-restart peer connected again: it restarted (RFC 4724 §4.2). */
  | { type: 'PeerRestarted' }
  | { type: 'Open'; open: DecodedOpen }
  | { type: 'Keepalive' }
  | { type: 'Update'; update: DecodedUpdate }
  | { type: 'RouteRefresh'; routeRefresh: RouteRefresh }
  | { type: 'Notification'; notification: Notification }
  /** A message that did not decode (session-reset errors only). */
  | { type: 'DecodeError'; error: BgpMessageError };

export type Action =
  | { kind: 'dial' }
  /** Drop the connection (or the dial in progress) without a NOTIFICATION. */
  | { kind: 'close' }
  | { kind: 'send'; message: BgpMessage }
  /** Send the NOTIFICATION, flush, close. */
  | { kind: 'notify'; notification: Notification }
  | { kind: 'startTimer'; timer: TimerName; ms: number }
  | { kind: 'stopTimer'; timer: TimerName }
  /** The peer's OPEN was accepted: switch codec options before anything else is sent. */
  | { kind: 'negotiated'; open: DecodedOpen; negotiated: Negotiated }
  | { kind: 'established' }
  | { kind: 'update'; update: DecodedUpdate }
  | { kind: 'routeRefresh'; routeRefresh: RouteRefresh }
  /** Wait the idle hold (with back-off) before starting again. */
  | { kind: 'backoff' }
  /** The other connection lost the collision: Cease/Connection Collision Resolution on it. */
  | { kind: 'dropOther' }
  /** This connection lost the collision; the other one carries on for the peer. */
  | { kind: 'yield' };

export interface Transition {
  next: State;
  reason: string;
  actions: Action[];
  /** BIRD-style text for status().lastError. */
  error?: string;
}

export interface FsmContext {
  readonly cfg: ResolvedConfig;
  readonly localOpen: Open;
  /** This connection was dialled by us. */
  readonly outgoing: boolean;
  /** Connect: a dial is in progress. */
  readonly dialing: boolean;
  /** Set once the peer's OPEN was accepted. */
  readonly negotiated?: Negotiated | undefined;
  /** The session's other connection during a collision. */
  readonly other?: { state: State; outgoing: boolean } | undefined;
}

export type StateFunction = (ctx: FsmContext, ev: FsmEvent) => Transition;

const KEEPALIVE: BgpMessage = { type: 'keepalive' };
const HOLD_TIMER_EXPIRED: Notification = { code: ErrorCode.HOLD_TIMER_EXPIRED, subcode: 0, data: Buffer.alloc(0) };

function stay(state: State, reason: string, actions: Action[] = []): Transition {
  return { next: state, reason, actions };
}

const STOP_CONNECTION_TIMERS: Action[] = [
  { kind: 'stopTimer', timer: 'connectRetry' },
  { kind: 'stopTimer', timer: 'hold' },
  { kind: 'stopTimer', timer: 'keepalive' },
];

/** To Idle after an error: the connection goes, and the idle hold (back-off) starts. */
function fail(reason: string, error: string, first: Action): Transition {
  return { next: 'Idle', reason, error, actions: [first, ...STOP_CONNECTION_TIMERS, { kind: 'backoff' }] };
}

function failNotify(reason: string, n: Notification): Transition {
  return fail(reason, sentError(n), { kind: 'notify', notification: n });
}

function fsmError(subcode: number): Notification {
  return { code: ErrorCode.FINITE_STATE_MACHINE_ERROR, subcode, data: Buffer.alloc(0) };
}

function stopped(ev: { notification?: Notification | undefined }, connected: boolean): Transition {
  const first: Action = connected && ev.notification ? { kind: 'notify', notification: ev.notification } : { kind: 'close' };
  return { next: 'Idle', reason: 'stopped', actions: [first, ...STOP_CONNECTION_TIMERS] };
}

function received(n: Notification): Transition {
  const text = shutdownCommunication(n);
  return fail(`NOTIFICATION received`, receivedError(n, text), { kind: 'close' });
}

function isCollisionCease(n: Notification): boolean {
  return n.code === ErrorCode.CEASE && n.subcode === CeaseSubcode.CONNECTION_COLLISION_RESOLUTION;
}

/**
 * The peer closed this connection to resolve a collision: it keeps the other one, which
 * is ours to accept. Wait in Active (no back-off, no Idle that would refuse it); the
 * connect retry timer dials again should it not come.
 */
function collisionLost(ctx: FsmContext, n: Notification): Transition {
  const actions: Action[] = [{ kind: 'close' }, ...STOP_CONNECTION_TIMERS];
  if (!ctx.cfg.passive) actions.push({ kind: 'startTimer', timer: 'connectRetry', ms: ctx.cfg.connectRetryMs });
  return { next: 'Active', reason: 'the peer kept the other connection', error: receivedError(n), actions };
}

function holdMs(ctx: FsmContext): number {
  return (ctx.negotiated?.holdTime ?? 0) * 1000;
}

/** Restarts the hold timer, when the session has one. */
function restartHold(ctx: FsmContext): Action[] {
  const ms = holdMs(ctx);
  return ms > 0 ? [{ kind: 'startTimer', timer: 'hold', ms }] : [];
}

function keepaliveMs(n: Negotiated): number {
  return Math.round(n.keepaliveTime * 1000);
}

/** Connect or Active, as the configuration says, after a (re)start. */
function begin(ctx: FsmContext, reason: string): Transition {
  if (ctx.cfg.passive) return stay('Active', `${reason} (passive)`);
  if (ctx.cfg.connectDelayMs > 0) {
    return { next: 'Connect', reason, actions: [{ kind: 'startTimer', timer: 'connectRetry', ms: ctx.cfg.connectDelayMs }] };
  }
  return { next: 'Connect', reason, actions: [{ kind: 'dial' }, { kind: 'startTimer', timer: 'connectRetry', ms: ctx.cfg.connectRetryMs }] };
}

/** A TCP connection is up (ours or the peer's): send OPEN, wait for the peer's. */
function connected(ctx: FsmContext, reason: string): Transition {
  return {
    next: 'OpenSent',
    reason,
    actions: [
      { kind: 'stopTimer', timer: 'connectRetry' },
      { kind: 'send', message: { type: 'open', open: ctx.localOpen } },
      { kind: 'startTimer', timer: 'hold', ms: ctx.cfg.openSentHoldMs },
    ],
  };
}

export function idle(ctx: FsmContext, ev: FsmEvent): Transition {
  switch (ev.type) {
    case 'Start':
      return begin(ctx, 'start');
    case 'IdleHoldTimerExpires':
      return begin(ctx, 'idle hold over');
    case 'TcpIncoming':
      // Only what the session took while its automatic start was due (collision.ts:
      // `restarted`, `resume`); anything else it refuses before the FSM sees it.
      return connected(ctx, 'incoming connection');
    case 'Stop':
      return stay('Idle', 'stopped', [{ kind: 'stopTimer', timer: 'idleHold' }]);
    default:
      return stay('Idle', `${ev.type} ignored`);
  }
}

export function connect(ctx: FsmContext, ev: FsmEvent): Transition {
  switch (ev.type) {
    case 'ConnectRetryTimerExpires': {
      const actions: Action[] = [{ kind: 'dial' }, { kind: 'startTimer', timer: 'connectRetry', ms: ctx.cfg.connectRetryMs }];
      if (!ctx.dialing) return stay('Connect', 'connect delay over', actions);
      // An MD5 mismatch or a filtering firewall shows only as this: the SYN goes unanswered.
      return { next: 'Connect', reason: 'connect retry: no answer', error: SOCKET_TIMED_OUT, actions: [{ kind: 'close' }, ...actions] };
    }
    case 'TcpConnected':
      return connected(ctx, 'connected');
    case 'TcpIncoming':
      return connected(ctx, 'incoming connection');
    case 'TcpFails':
      return {
        next: 'Active',
        reason: 'connect failed',
        error: ev.error,
        actions: [{ kind: 'close' }, { kind: 'startTimer', timer: 'connectRetry', ms: ctx.cfg.connectRetryMs }],
      };
    case 'Stop':
      return stopped(ev, false);
    default:
      return stay('Connect', `${ev.type} ignored`);
  }
}

export function active(ctx: FsmContext, ev: FsmEvent): Transition {
  switch (ev.type) {
    case 'ConnectRetryTimerExpires':
      if (ctx.cfg.passive) return stay('Active', 'passive: never dials');
      return { next: 'Connect', reason: 'connect retry', actions: [{ kind: 'dial' }, { kind: 'startTimer', timer: 'connectRetry', ms: ctx.cfg.connectRetryMs }] };
    case 'TcpIncoming':
      return connected(ctx, 'incoming connection');
    case 'Stop':
      return stopped(ev, false);
    default:
      return stay('Active', `${ev.type} ignored`);
  }
}

/** Errors common to the states that have a BGP conversation. */
function connectedCommon(ctx: FsmContext, state: State, ev: FsmEvent): Transition | undefined {
  switch (ev.type) {
    case 'Stop':
      return stopped(ev, true);
    case 'HoldTimerExpires':
      return failNotify('hold timer expired', HOLD_TIMER_EXPIRED);
    case 'TcpFails':
      return fail('connection lost', ev.error, { kind: 'close' });
    case 'Notification':
      if (state !== 'Established' && isCollisionCease(ev.notification)) return collisionLost(ctx, ev.notification);
      return received(ev.notification);
    case 'DecodeError':
      return failNotify(`malformed message: ${ev.error.message}`, notificationOf(ev.error));
    case 'Start':
    case 'IdleHoldTimerExpires':
    case 'ConnectRetryTimerExpires':
    case 'TcpConnected':
    case 'TcpIncoming':
      return stay(state, `${ev.type} ignored`);
    default:
      return undefined;
  }
}

export function openSent(ctx: FsmContext, ev: FsmEvent): Transition {
  const common = connectedCommon(ctx, 'OpenSent', ev);
  if (common) return common;
  switch (ev.type) {
    case 'Open': {
      const bad = checkPeerOpen(ctx.cfg, ev.open);
      if (bad) return failNotify('OPEN not acceptable', bad);
      const n = negotiate(ctx.cfg, ctx.localOpen, ev.open);
      const actions: Action[] = [];
      const other = ctx.other;
      // The peer's OPEN gives its identifier, so a collision can be settled now.
      if (other && (other.state === 'OpenSent' || other.state === 'OpenConfirm')) {
        const survivor = collisionSurvivor(ctx.cfg.routerId, ev.open.bgpId, ctx.cfg.localAs, ev.open.asn);
        if ((survivor === 'outgoing') !== ctx.outgoing) {
          const cease: Notification = { code: ErrorCode.CEASE, subcode: CeaseSubcode.CONNECTION_COLLISION_RESOLUTION, data: Buffer.alloc(0) };
          return { next: 'Idle', reason: `connection collision: the ${survivor} connection stays`, actions: [{ kind: 'notify', notification: cease }, ...STOP_CONNECTION_TIMERS, { kind: 'yield' }] };
        }
        actions.push({ kind: 'dropOther' });
      }
      actions.push({ kind: 'negotiated', open: ev.open, negotiated: n }, { kind: 'send', message: KEEPALIVE }, { kind: 'stopTimer', timer: 'hold' });
      if (n.holdTime > 0) {
        actions.push({ kind: 'startTimer', timer: 'hold', ms: n.holdTime * 1000 }, { kind: 'startTimer', timer: 'keepalive', ms: keepaliveMs(n) });
      }
      return { next: 'OpenConfirm', reason: 'OPEN received', actions };
    }
    case 'KeepaliveTimerExpires':
      return stay('OpenSent', 'no keepalives before OPEN');
    default:
      return failNotify(`${ev.type} before OPEN`, fsmError(FsmError.UNEXPECTED_MESSAGE_IN_OPENSENT));
  }
}

export function openConfirm(ctx: FsmContext, ev: FsmEvent): Transition {
  const common = connectedCommon(ctx, 'OpenConfirm', ev);
  if (common) return common;
  switch (ev.type) {
    case 'Keepalive':
      return { next: 'Established', reason: 'KEEPALIVE received', actions: [...restartHold(ctx), { kind: 'established' }] };
    case 'KeepaliveTimerExpires':
      return stay('OpenConfirm', 'keepalive', [{ kind: 'send', message: KEEPALIVE }, { kind: 'startTimer', timer: 'keepalive', ms: keepaliveMs(ctx.negotiated!) }]);
    default:
      return failNotify(`${ev.type} in OpenConfirm`, fsmError(FsmError.UNEXPECTED_MESSAGE_IN_OPENCONFIRM));
  }
}

export function established(ctx: FsmContext, ev: FsmEvent): Transition {
  const common = connectedCommon(ctx, 'Established', ev);
  if (common) return common;
  switch (ev.type) {
    case 'Keepalive':
      return stay('Established', 'keepalive received', restartHold(ctx));
    case 'Update':
      return stay('Established', 'update', [...restartHold(ctx), { kind: 'update', update: ev.update }]);
    case 'RouteRefresh':
      return stay('Established', 'route refresh', [...restartHold(ctx), { kind: 'routeRefresh', routeRefresh: ev.routeRefresh }]);
    case 'KeepaliveTimerExpires':
      return stay('Established', 'keepalive', [{ kind: 'send', message: KEEPALIVE }, { kind: 'startTimer', timer: 'keepalive', ms: keepaliveMs(ctx.negotiated!) }]);
    case 'PeerRestarted':
      // Down without a NOTIFICATION (there is no one to read it) and without a back-off:
      // the new connection is already waiting to be taken.
      return { next: 'Idle', reason: 'the peer connected again: it restarted', error: PEER_RESTARTED, actions: [{ kind: 'close' }, ...STOP_CONNECTION_TIMERS] };
    default:
      return failNotify(`${ev.type} in Established`, fsmError(FsmError.UNEXPECTED_MESSAGE_IN_ESTABLISHED));
  }
}

export const STATE_FUNCTIONS: Readonly<Record<State, StateFunction>> = {
  Idle: idle,
  Connect: connect,
  Active: active,
  OpenSent: openSent,
  OpenConfirm: openConfirm,
  Established: established,
};
