// Graceful restart (RFC 4724) in both roles. As the receiving speaker (helper), with
// RFC 8538 for sessions that end with a NOTIFICATION: which of a peer's families we keep,
// marked stale, when its session goes, and which stale families go at once when it
// comes back. As the restarting speaker: selection deferral until End-of-RIB.

import type { DownEvent, NegotiatedInfo } from '../session/index.js';
import { CeaseSubcode, ErrorCode, type Family, type Notification } from '../wire/index.js';

/** Cease subcodes RFC 8538 §5 says to send as Hard Reset: the peer must not keep our routes. */
const HARD: ReadonlySet<number> = new Set([
  CeaseSubcode.MAXIMUM_NUMBER_OF_PREFIXES_REACHED,
  CeaseSubcode.ADMINISTRATIVE_SHUTDOWN,
  CeaseSubcode.PEER_DE_CONFIGURED,
]);

/**
 * The Cease to send. With the N bit negotiated (`nBit`), the subcodes that must end
 * graceful restart go inside a Hard Reset (its data: the inner code and subcode).
 */
export function ceaseNotification(subcode: number, nBit: boolean): Notification {
  if (nBit && HARD.has(subcode)) {
    return { code: ErrorCode.CEASE, subcode: CeaseSubcode.HARD_RESET, data: Buffer.from([ErrorCode.CEASE, subcode]) };
  }
  return { code: ErrorCode.CEASE, subcode, data: Buffer.alloc(0) };
}

/**
 * Families whose routes to keep across the peer's restart; empty = withdraw them all.
 * `deliberate`: we ended the session on purpose (de-configured, max prefixes, reset).
 */
export function retainOnDown(n: NegotiatedInfo | undefined, down: DownEvent, deliberate: boolean): Family[] {
  const gr = n?.gracefulRestart;
  if (!gr || gr.restartTime === 0 || !mayRetain(n, down, deliberate)) return [];
  return gr.families.map((f) => f.family).filter((f) => n.families.includes(f));
}

/** The way the session ended allows keeping its routes at all (graceful or long-lived). */
export function mayRetain(n: NegotiatedInfo | undefined, down: DownEvent, deliberate: boolean): n is NegotiatedInfo {
  const gr = n?.gracefulRestart;
  if (deliberate || !gr || !down.wasEstablished) return false;
  const note = down.notification;
  if (note !== undefined) {
    // A NOTIFICATION ends graceful restart unless both sides set the N bit (we always
    // do), and even then a Hard Reset does (RFC 8538 §3).
    if (!gr.notification) return false;
    if (note.code === ErrorCode.CEASE && note.subcode === CeaseSubcode.HARD_RESET) return false;
  }
  return true;
}

/**
 * Stale families whose routes go as soon as the peer is back: it no longer offers
 * graceful restart for them, or says it kept no forwarding state (RFC 4724 §4.2).
 */
export function flushOnEstablish(stale: readonly Family[], n: NegotiatedInfo): Family[] {
  const gr = n.gracefulRestart;
  return stale.filter((f) => {
    if (!n.families.includes(f) || !gr) return true;
    const fam = gr.families.find((x) => x.family === f);
    return fam === undefined || !fam.forwarding;
  });
}

/** RFC 4724 §4.1 leaves the value to us; long enough for every peer's table, well inside helpers' stale timers (FRR 360 s). */
export const DEFAULT_SELECTION_DEFERRAL = 120;

/**
 * The restarting speaker's side of RFC 4724 §4.1: route selection (and so the initial
 * tables and End-of-RIB we send, and what goes to the dataplane) waits until every
 * peer that can send End-of-RIB has sent it for each of its families, or the
 * Selection_Deferral_Timer runs out. Peers that do not offer graceful restart, or that
 * are restarting themselves (R bit), are not waited for — as BIRD's gr_recovery locks.
 * Configured peers that are not up yet are waited for until the timer.
 */
export class SelectionDeferral {
  /** Peer id → families still owing End-of-RIB; an empty set: not Established yet. */
  private readonly waiting = new Map<string, Set<Family>>();
  private done = false;

  constructor(
    peers: Iterable<string>,
    private readonly onDone: (reason: string) => void,
  ) {
    for (const id of peers) this.waiting.set(id, new Set());
  }

  get active(): boolean {
    return !this.done;
  }

  /** The peers still waited for, for logs and status. */
  pending(): string[] {
    return [...this.waiting.keys()];
  }

  /** A peer configured while we are still deferring. */
  add(peerId: string): void {
    if (!this.done && !this.waiting.has(peerId)) this.waiting.set(peerId, new Set());
  }

  remove(peerId: string): void {
    if (this.waiting.delete(peerId)) this.check('peer removed');
  }

  established(peerId: string, n: NegotiatedInfo): void {
    if (this.done || !this.waiting.has(peerId)) return;
    const gr = n.gracefulRestart;
    if (!gr || gr.restarting || n.families.length === 0) {
      this.waiting.delete(peerId);
      this.check(gr ? 'peer restarting too' : 'peer without graceful restart');
      return;
    }
    this.waiting.set(peerId, new Set(n.families));
  }

  endOfRib(peerId: string, family: Family): void {
    const fams = this.waiting.get(peerId);
    if (this.done || !fams || !fams.delete(family) || fams.size > 0) return;
    this.waiting.delete(peerId);
    this.check('End-of-RIB from every peer');
  }

  /** The Selection_Deferral_Timer ran out. */
  expire(): void {
    if (this.done) return;
    this.waiting.clear();
    this.finish('selection deferral timer expired');
  }

  private check(reason: string): void {
    if (!this.done && this.waiting.size === 0) this.finish(reason);
  }

  private finish(reason: string): void {
    this.done = true;
    this.onDone(reason);
  }
}
