// One BFD session: the pure state machine (fsm.ts) driven by a clock. It owns two
// timers — periodic transmission with jitter and the detection timer — and hands each
// packet it sends to `send`. No sockets here: the manager demultiplexes received
// packets to receive() and gives each session its own sender.

import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { encodeControl, type BfdControl } from './codec.js';
import { BfdState, STATE_NAMES, diagName, type BfdStateName } from './constants.js';
import {
  configure,
  controlPacket,
  detectionExpired,
  detectionTimeUs,
  initialVars,
  jittered,
  receive,
  setAdminDown,
  txIntervalUs,
  type BfdParams,
  type BfdVars,
  type StateChange,
  type Step,
} from './fsm.js';

export interface BfdSessionOptions {
  localDiscr: number;
  params: BfdParams;
  clock?: Clock;
  /** In [0, 1); for the transmit jitter. */
  random?: () => number;
  send(packet: Buffer): void;
  onChange?(change: StateChange): void;
}

export interface BfdSessionCounters {
  packetsIn: number;
  packetsOut: number;
  /** Packets matched to this session but discarded by §6.8.6. */
  discarded: number;
  /** Up → anything else. */
  downs: number;
}

export interface BfdSessionStatus {
  state: BfdStateName;
  remoteState: BfdStateName;
  /** Our last diagnostic (why we left Up), by its RFC 5880 name. */
  diag: string;
  remoteDiag: string;
  localDiscriminator: number;
  remoteDiscriminator: number;
  /** Milliseconds in use now; undefined while not known or not transmitting. */
  txIntervalMs?: number;
  detectionTimeMs?: number;
  /** What the remote asked for (ms) and its multiplier. */
  remoteMinRxMs: number;
  remoteMinTxMs: number;
  remoteDetectMult: number;
  since: Date;
  /** Has been Up since it was created. */
  everUp: boolean;
  /**
   * It left Up because the remote started a new session (a Down with another
   * discriminator), not because the path failed: packets still arrive. Cleared on Up
   * and when the Detection Time passes without a packet.
   */
  remoteRestarted: boolean;
  counters: BfdSessionCounters;
}

const ms = (us: number) => us / 1000;

export class BfdSession {
  private v: BfdVars;
  private readonly clock: Clock;
  private readonly random: () => number;
  private txTimer: TimerHandle | undefined;
  private detectTimer: TimerHandle | undefined;
  private lastTx = 0;
  private lastRx = 0;
  private since: number;
  private everUp = false;
  private remoteRestarted = false;
  private running = false;
  private readonly counters: BfdSessionCounters = { packetsIn: 0, packetsOut: 0, discarded: 0, downs: 0 };

  constructor(private readonly opts: BfdSessionOptions) {
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.v = initialVars(opts.params, opts.localDiscr);
    this.since = this.clock.now();
  }

  get state(): BfdState {
    return this.v.state;
  }

  get localDiscr(): number {
    return this.v.localDiscr;
  }

  /** The state variables, for tests and diagnostics. */
  get vars(): BfdVars {
    return this.v;
  }

  /** Starts transmitting (the first packet goes out now). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.transmit();
  }

  /** Stops both timers; nothing more is sent. */
  stop(): void {
    this.running = false;
    this.clear('tx');
    this.clear('detect');
  }

  /** A packet the manager matched to this session (already through the codec's checks). */
  receive(p: BfdControl): void {
    if (!this.running) return;
    const before = this.v;
    const step = receive(this.v, p);
    if (step.discarded) {
      this.counters.discarded++;
      return;
    }
    this.counters.packetsIn++;
    this.lastRx = this.clock.now();
    if (step.change?.from === BfdState.Up && p.myDiscriminator !== before.remoteDiscr) this.remoteRestarted = true;
    this.apply(step, before);
    if (step.sendFinal) this.sendNow(true);
  }

  /** New parameters; a Poll Sequence when Up (RFC 5880 §6.8.3). */
  configure(params: BfdParams): void {
    const before = this.v;
    this.apply({ vars: configure(this.v, params) }, before);
  }

  /** RFC 5880 §6.8.16: AdminDown (packets still go out so the remote learns it), or back to Down. */
  setAdminDown(down: boolean): void {
    const before = this.v;
    this.apply(setAdminDown(this.v, down), before);
  }

  status(): BfdSessionStatus {
    const v = this.v;
    const s: BfdSessionStatus = {
      state: STATE_NAMES[v.state],
      remoteState: STATE_NAMES[v.remoteState],
      diag: diagName(v.localDiag),
      remoteDiag: diagName(v.remoteDiag),
      localDiscriminator: v.localDiscr,
      remoteDiscriminator: v.remoteDiscr,
      remoteMinRxMs: ms(v.remoteMinRx),
      remoteMinTxMs: ms(v.remoteMinTx),
      remoteDetectMult: v.remoteDetectMult,
      since: new Date(this.since),
      everUp: this.everUp,
      remoteRestarted: this.remoteRestarted,
      counters: { ...this.counters },
    };
    const tx = txIntervalUs(v);
    if (tx !== undefined && this.running) s.txIntervalMs = ms(tx);
    const det = detectionTimeUs(v);
    if (det !== undefined) s.detectionTimeMs = ms(det);
    return s;
  }

  // ---- internals ----

  /** New variables: report a state change, send at once on one, and move the timers. */
  private apply(step: Step, before: BfdVars): void {
    this.v = step.vars;
    const c = step.change;
    if (c) {
      this.since = this.clock.now();
      if (c.to === BfdState.Up) {
        this.everUp = true;
        this.remoteRestarted = false;
      }
      if (c.from === BfdState.Up) this.counters.downs++;
    }
    if (!this.running) {
      if (c) this.opts.onChange?.(c);
      return;
    }
    if (c) {
      // The remote learns of the change now rather than one interval later.
      this.sendNow(false);
    } else if (txIntervalUs(before) !== txIntervalUs(this.v) || before.polling !== this.v.polling) {
      this.schedule();
    }
    this.armDetection();
    if (c) this.opts.onChange?.(c);
  }

  private transmit(): void {
    this.txTimer = undefined;
    if (!this.running) return;
    if (txIntervalUs(this.v) !== undefined) this.sendNow(false);
    else this.schedule();
  }

  private sendNow(final: boolean): void {
    this.lastTx = this.clock.now();
    this.counters.packetsOut++;
    this.opts.send(encodeControl(controlPacket(this.v, final)));
    if (!final) this.schedule();
  }

  /** The next periodic packet, one jittered interval after the last one (§6.8.7). */
  private schedule(): void {
    this.clear('tx');
    if (!this.running) return;
    const interval = txIntervalUs(this.v);
    if (interval === undefined) return; // periodic transmission stopped: a received packet restarts it
    const due = this.lastTx + ms(jittered(interval, this.v.detectMult, this.random()));
    this.txTimer = this.clock.setTimeout(() => this.transmit(), Math.max(0, due - this.clock.now()));
  }

  /** The detection timer, one Detection Time after the last packet received (§6.8.4). */
  private armDetection(): void {
    this.clear('detect');
    const det = detectionTimeUs(this.v);
    if (det === undefined || this.lastRx === 0) return;
    const due = this.lastRx + ms(det);
    this.detectTimer = this.clock.setTimeout(() => this.expired(), Math.max(0, due - this.clock.now()));
  }

  private expired(): void {
    this.detectTimer = undefined;
    this.lastRx = 0;
    this.remoteRestarted = false;
    this.apply(detectionExpired(this.v), this.v);
  }

  private clear(which: 'tx' | 'detect'): void {
    const h = which === 'tx' ? this.txTimer : this.detectTimer;
    if (h !== undefined) this.clock.clearTimeout(h);
    if (which === 'tx') this.txTimer = undefined;
    else this.detectTimer = undefined;
  }
}
