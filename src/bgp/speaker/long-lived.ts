// Long-lived graceful restart (RFC 9494), receiving side: which of a restarting peer's
// families stay as LLGR-stale once its restart time is over, for how long, and which go
// at once when it comes back. The RIB does the marking (Rib.longLivedStale).

import type { DownEvent, NegotiatedInfo } from '../session/index.js';
import type { Family } from '../wire/index.js';
import { mayRetain } from './graceful-restart.js';

/**
 * Family → long-lived stale time (seconds) for the families the peer asked us to keep
 * past its restart time: those in its LLGR capability with a non-zero time (RFC 9494
 * §4.2; a zero time means the routes go when the restart time ends). Empty when the way
 * the session ended allows no retention, the peer sent no LLGR capability, or LLGR is not
 * `configured` for the session: it is never on by default (RFC 9494 §5; Calico turns it
 * on per BGPPeer with restartMode LongLivedGracefulRestart).
 */
export function longLivedOnDown(n: NegotiatedInfo | undefined, down: DownEvent, deliberate: boolean, configured: boolean): Map<Family, number> {
  const out = new Map<Family, number>();
  if (!configured || !mayRetain(n, down, deliberate)) return out;
  for (const f of n.gracefulRestart?.longLived ?? []) if (f.staleTime > 0 && n.families.includes(f.family)) out.set(f.family, f.staleTime);
  return out;
}

/**
 * Long-lived stale families whose routes go as soon as the peer is back: it no longer
 * offers LLGR for them, or its new LLGR capability says forwarding state was not kept
 * (RFC 9494 §4.2, as RFC 4724 §4.2 for the graceful restart capability).
 */
export function flushLongLivedOnEstablish(stale: readonly Family[], n: NegotiatedInfo): Family[] {
  const ll = n.gracefulRestart?.longLived;
  return stale.filter((f) => {
    if (!n.families.includes(f) || !ll) return true;
    const fam = ll.find((x) => x.family === f);
    return fam === undefined || !fam.forwarding;
  });
}
