// The per-session figures /metrics shows, derived from the speaker's status of a peer.
import type { SpeakerPeerStatus } from '../bgp/speaker.js';
import type { PeerMetrics } from './metrics.js';

type SessionFacts = Pick<PeerMetrics, 'messagesIn' | 'messagesOut' | 'notificationsIn' | 'notificationsOut' | 'flaps' | 'uptimeSeconds' | 'lastError'>;

const record = (v: unknown) => (typeof v === 'object' && v ? { ...(v as Record<string, number>) } : {});

export function sessionFacts(s: SpeakerPeerStatus | undefined, now = Date.now()): SessionFacts {
  const c = s?.counters;
  const up = s?.state === 'Established';
  return {
    messagesIn: record(c?.messagesIn),
    messagesOut: record(c?.messagesOut),
    notificationsIn: record(c?.notificationsIn),
    notificationsOut: record(c?.notificationsOut),
    // `established` counts arrivals in Established; every one but the current session ended.
    flaps: Math.max(0, (c?.established ?? 0) - (up ? 1 : 0)),
    uptimeSeconds: up && s ? Math.max(0, (now - s.since.getTime()) / 1000) : 0,
    lastError: s?.lastError,
  };
}
