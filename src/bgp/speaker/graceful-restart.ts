// Graceful restart (RFC 4724) as the receiving speaker, and RFC 8538 for sessions that
// end with a NOTIFICATION: which of a peer's families we keep, marked stale, when its
// session goes, and which stale families go at once when it comes back.

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
  if (deliberate || !gr || gr.restartTime === 0 || !down.wasEstablished) return [];
  const note = down.notification;
  if (note !== undefined) {
    // A NOTIFICATION ends graceful restart unless both sides set the N bit (we always
    // do), and even then a Hard Reset does (RFC 8538 §3).
    if (!gr.notification) return [];
    if (note.code === ErrorCode.CEASE && note.subcode === CeaseSubcode.HARD_RESET) return [];
  }
  return gr.families.map((f) => f.family).filter((f) => n.families.includes(f));
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
