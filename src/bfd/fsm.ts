// The BFD session state machine of RFC 5880 as pure functions over the state variables
// of §6.8.1: each takes the variables and an event and returns the new variables and
// what changed. Asynchronous mode only: no Echo, no Demand mode of our own, no
// authentication (a packet with the A bit is discarded, §6.8.6). Times are in
// microseconds, as on the wire.

import type { BfdControl, BfdControlFields } from './codec.js';
import { BfdDiag, BfdState, SLOW_TX_INTERVAL_US } from './constants.js';

/** What the operator asks for; µs and a multiplier. */
export interface BfdParams {
  desiredMinTxUs: number;
  requiredMinRxUs: number;
  detectMult: number;
}

/** RFC 5880 §6.8.1, plus the bases the timers use while a Poll Sequence runs (§6.8.3). */
export interface BfdVars {
  readonly state: BfdState;
  readonly remoteState: BfdState;
  readonly localDiscr: number;
  readonly remoteDiscr: number;
  readonly localDiag: number;
  /** The Diag of the last packet received (for status only). */
  readonly remoteDiag: number;
  /** bfd.DesiredMinTxInterval: what our packets carry. */
  readonly desiredMinTx: number;
  /** bfd.RequiredMinRxInterval: what our packets carry. */
  readonly requiredMinRx: number;
  readonly detectMult: number;
  /** Our side of the transmit interval in use: an increase waits for the Poll Sequence to end (§6.8.3). */
  readonly txBasis: number;
  /** Our side of the Detection Time in use: a decrease waits for the Poll Sequence to end (§6.8.3). */
  readonly rxBasis: number;
  readonly remoteMinRx: number;
  /** The Desired Min TX Interval last received. */
  readonly remoteMinTx: number;
  /** The Detect Mult last received; 0 until a packet came. */
  readonly remoteDetectMult: number;
  readonly remoteDemand: boolean;
  /** A Poll Sequence is being transmitted (§6.5). */
  readonly polling: boolean;
  readonly params: BfdParams;
}

export interface StateChange {
  from: BfdState;
  to: BfdState;
  diag: number;
}

export interface Step {
  vars: BfdVars;
  change?: StateChange;
}

export interface ReceiveStep extends Step {
  /** The packet was discarded (§6.8.6) and changed nothing. */
  discarded?: 'auth' | 'your-discriminator' | 'admin-down';
  /** P was set: a packet with F goes out at once (§6.8.7). */
  sendFinal: boolean;
}

/** §6.8.3: while not Up, bfd.DesiredMinTxInterval is at least one second. */
const advertisedTx = (state: BfdState, params: BfdParams): number =>
  state === BfdState.Up ? params.desiredMinTxUs : Math.max(params.desiredMinTxUs, SLOW_TX_INTERVAL_US);

/** §6.8.1 initial values: Down, RemoteDiscr 0, RemoteMinRxInterval 1. */
export function initialVars(params: BfdParams, localDiscr: number): BfdVars {
  const tx = advertisedTx(BfdState.Down, params);
  return {
    state: BfdState.Down,
    remoteState: BfdState.Down,
    localDiscr,
    remoteDiscr: 0,
    localDiag: BfdDiag.NO_DIAGNOSTIC,
    remoteDiag: BfdDiag.NO_DIAGNOSTIC,
    desiredMinTx: tx,
    requiredMinRx: params.requiredMinRxUs,
    detectMult: params.detectMult,
    txBasis: tx,
    rxBasis: params.requiredMinRxUs,
    remoteMinRx: 1,
    remoteMinTx: 0,
    remoteDetectMult: 0,
    remoteDemand: false,
    polling: false,
    params: { ...params },
  };
}

/**
 * §6.8.3: new advertised intervals. While Up a change starts a Poll Sequence, and until
 * it ends a higher transmit interval and a lower receive interval wait; otherwise they
 * apply at once.
 */
function advertise(v: BfdVars, desiredMinTx: number, requiredMinRx: number): BfdVars {
  if (desiredMinTx === v.desiredMinTx && requiredMinRx === v.requiredMinRx) return v;
  if (v.state !== BfdState.Up) return { ...v, desiredMinTx, requiredMinRx, txBasis: desiredMinTx, rxBasis: requiredMinRx };
  return {
    ...v,
    desiredMinTx,
    requiredMinRx,
    txBasis: Math.min(v.txBasis, desiredMinTx),
    rxBasis: Math.max(v.rxBasis, requiredMinRx),
    // Nothing to poll before the remote is known (as BIRD's bfd_session_request_poll).
    polling: v.remoteDiscr !== 0,
  };
}

/** New operator parameters (a Poll Sequence if Up). */
export function configure(v: BfdVars, params: BfdParams): BfdVars {
  const next = { ...v, params: { ...params }, detectMult: params.detectMult };
  return advertise(next, advertisedTx(v.state, params), params.requiredMinRxUs);
}

function enter(v: BfdVars, to: BfdState, diag: number): Step {
  if (to === v.state) return { vars: v };
  const change = { from: v.state, to, diag };
  let next: BfdVars = { ...v, state: to, localDiag: diag };
  if (to === BfdState.Up) {
    // Up: from the slow rate to the configured one, by a Poll Sequence (§6.8.3).
    next = advertise(next, advertisedTx(to, v.params), v.params.requiredMinRxUs);
  } else if (v.state === BfdState.Up) {
    // Leaving Up: back to at least one second, at once (no longer Up).
    const tx = advertisedTx(to, v.params);
    next = { ...next, desiredMinTx: tx, txBasis: tx, rxBasis: next.requiredMinRx, polling: false };
  }
  return { vars: next, change };
}

/**
 * §6.8.6, from "If the A bit is set" on: the packet was already found valid by the
 * codec and matched to this session by the caller.
 */
export function receive(v: BfdVars, p: BfdControl): ReceiveStep {
  // We run no authentication: bfd.AuthType is zero.
  if (p.authPresent) return { vars: v, discarded: 'auth', sendFinal: false };
  if (p.yourDiscriminator === 0 ? p.state !== BfdState.Down && p.state !== BfdState.AdminDown : p.yourDiscriminator !== v.localDiscr) {
    return { vars: v, discarded: 'your-discriminator', sendFinal: false };
  }
  let next: BfdVars = {
    ...v,
    remoteDiscr: p.myDiscriminator,
    remoteState: p.state,
    remoteDemand: p.demand,
    remoteMinRx: p.requiredMinRxInterval,
    remoteMinTx: p.desiredMinTxInterval,
    remoteDetectMult: p.detectMult,
    remoteDiag: p.diag,
  };
  if (next.polling && p.final) next = { ...next, polling: false, txBasis: next.desiredMinTx, rxBasis: next.requiredMinRx };
  if (next.state === BfdState.AdminDown) return { vars: next, discarded: 'admin-down', sendFinal: false };
  let step: Step = { vars: next };
  if (p.state === BfdState.AdminDown) {
    if (next.state !== BfdState.Down) step = enter(next, BfdState.Down, BfdDiag.NEIGHBOR_SIGNALED_SESSION_DOWN);
  } else if (next.state === BfdState.Down) {
    if (p.state === BfdState.Down) step = enter(next, BfdState.Init, next.localDiag);
    else if (p.state === BfdState.Init) step = enter(next, BfdState.Up, BfdDiag.NO_DIAGNOSTIC);
  } else if (next.state === BfdState.Init) {
    if (p.state === BfdState.Init || p.state === BfdState.Up) step = enter(next, BfdState.Up, BfdDiag.NO_DIAGNOSTIC);
  } else if (p.state === BfdState.Down) {
    step = enter(next, BfdState.Down, BfdDiag.NEIGHBOR_SIGNALED_SESSION_DOWN);
  }
  return { ...step, sendFinal: p.poll };
}

/**
 * §6.8.4: no valid packet for a Detection Time. Init or Up goes Down (Control Detection
 * Time Expired); in any state bfd.RemoteDiscr goes back to zero (§6.8.1), and what we
 * knew of the remote with it (as BIRD's bfd_session_timeout).
 */
export function detectionExpired(v: BfdVars): Step {
  const cleared: BfdVars = { ...v, remoteDiscr: 0, remoteState: BfdState.Down, remoteMinRx: 1, remoteMinTx: 0, remoteDetectMult: 0, remoteDemand: false, polling: false };
  if (v.state !== BfdState.Init && v.state !== BfdState.Up) return { vars: cleared };
  return enter(cleared, BfdState.Down, BfdDiag.CONTROL_DETECTION_TIME_EXPIRED);
}

/** §6.8.16: administratively down with `diag`, or back to Down. */
export function setAdminDown(v: BfdVars, down: boolean, diag: number = BfdDiag.ADMINISTRATIVELY_DOWN): Step {
  if (down) return enter(v, BfdState.AdminDown, diag);
  return v.state === BfdState.AdminDown ? enter(v, BfdState.Down, BfdDiag.NO_DIAGNOSTIC) : { vars: v };
}

/**
 * §6.8.4: Detect Mult received times the greater of bfd.RequiredMinRxInterval and the
 * last Desired Min TX Interval received; undefined until the remote was heard.
 */
export function detectionTimeUs(v: BfdVars): number | undefined {
  if (v.remoteDetectMult === 0) return undefined;
  return v.remoteDetectMult * Math.max(v.rxBasis, v.remoteMinTx);
}

/**
 * §6.8.7: the greater of bfd.DesiredMinTxInterval and bfd.RemoteMinRxInterval, or
 * undefined when periodic transmission must stop (RemoteMinRxInterval zero, or the
 * remote's Demand mode active outside a Poll Sequence).
 */
export function txIntervalUs(v: BfdVars): number | undefined {
  if (v.remoteMinRx === 0) return undefined;
  if (v.remoteDemand && v.state === BfdState.Up && v.remoteState === BfdState.Up && !v.polling) return undefined;
  return Math.max(v.txBasis, v.remoteMinRx);
}

/**
 * §6.8.7 jitter: each interval reduced by 0–25 %, or to 75–90 % of it when
 * bfd.DetectMult is 1. `random` is in [0, 1).
 */
export function jittered(intervalUs: number, detectMult: number, random: number): number {
  const span = detectMult === 1 ? 0.15 : 0.25;
  return intervalUs * (0.75 + span * random);
}

/** §6.8.7: the packet we send; `final` answers a Poll (then P is clear, §6.5). */
export function controlPacket(v: BfdVars, final: boolean): BfdControlFields {
  return {
    diag: v.localDiag,
    state: v.state,
    poll: v.polling && !final,
    final,
    demand: false,
    detectMult: v.detectMult,
    myDiscriminator: v.localDiscr,
    yourDiscriminator: v.remoteDiscr,
    desiredMinTxInterval: v.desiredMinTx,
    requiredMinRxInterval: v.requiredMinRx,
    requiredMinEchoRxInterval: 0,
  };
}
