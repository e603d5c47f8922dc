// From a SpeakerPeer to what the session and the RIB take, and which changes need a new
// session: only the fields that go into the OPEN or the socket do.

import { ValidationError } from '../../errors.js';
import { parseIP } from '../../api/net.js';
import type { PeerDescriptor } from '../rib/index.js';
import { canonicalAddress, emptyCounters, resolveConfig, type SessionOptions } from '../session/index.js';
import type { Family } from '../wire/index.js';
import type { SpeakerOptions, SpeakerPeer, SpeakerPeerStatus } from './types.js';

export const DEFAULT_RESTART_TIME = 120;
export const DEFAULT_FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];

export function peerLocalAsn(peer: SpeakerPeer, opts: SpeakerOptions): number {
  return peer.localAsn ?? opts.localAsn;
}

export function peerType(peer: SpeakerPeer, opts: SpeakerOptions): 'ibgp' | 'ebgp' {
  return peer.remoteAsn === peerLocalAsn(peer, opts) ? 'ibgp' : 'ebgp';
}

export function peerFamily(peer: SpeakerPeer): Family {
  return parseIP(peer.address)?.family === 6 ? 'ipv6' : 'ipv4';
}

export function peerFamilies(peer: SpeakerPeer): Family[] {
  const f = peer.families ?? DEFAULT_FAMILIES;
  return DEFAULT_FAMILIES.filter((x) => f.includes(x));
}

/**
 * What is wrong with one peer, as a ValidationError (undefined: it can run). Checked
 * before a session is built, so one bad peer never stops the others.
 */
export function peerProblem(p: SpeakerPeer, opts: SpeakerOptions): ValidationError | undefined {
  try {
    if (p.configError !== undefined) throw new ValidationError('', p.configError);
    if (!p.id) throw new ValidationError('id', 'is required');
    if (p.id === 'local') throw new ValidationError('id', '"local" is reserved');
    const ip = parseIP(p.address);
    if (!ip) throw new ValidationError('address', 'must be an IPv4 or IPv6 address');
    if (p.localAddress !== undefined && parseIP(p.localAddress)?.family !== ip.family) {
      throw new ValidationError('localAddress', 'must be of the same family as address');
    }
    for (const [field, fam] of [['localAddress4', 4], ['localAddress6', 6], ['localLinkLocal6', 6]] as const) {
      const v = p[field];
      if (v !== undefined && parseIP(v)?.family !== fam) throw new ValidationError(field, `must be an IPv${fam} address`);
    }
    if (p.maxPrefixes !== undefined && !(Number.isInteger(p.maxPrefixes) && p.maxPrefixes > 0)) {
      throw new ValidationError('maxPrefixes', 'must be a positive integer');
    }
    if (p.maxPrefixesAction !== undefined && p.maxPrefixesAction !== 'reset' && p.maxPrefixesAction !== 'reject') {
      throw new ValidationError('maxPrefixesAction', 'must be "reset" or "reject"');
    }
    if (p.families !== undefined && peerFamilies(p).length === 0) throw new ValidationError('families', 'must name ipv4 or ipv6');
    // Everything the session itself would refuse (timers, AS numbers, TTL, MD5 key length).
    resolveConfig(sessionConfig(p, opts, false));
    return undefined;
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
}

/** Remote address → the first peer with it (the one the listener hands incoming connections). */
export function listenerOwners(peers: Iterable<SpeakerPeer>): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of peers) {
    const key = canonicalAddress(p.address);
    if (!out.has(key)) out.set(key, p.id);
  }
  return out;
}

/** The status of a peer that could not be configured: Idle, with the reason as its last error. */
export function rejectedStatus(p: SpeakerPeer, error: string, since: Date, opts: SpeakerOptions): SpeakerPeerStatus {
  return {
    id: p.id,
    address: parseIP(p.address)?.address ?? p.address,
    port: p.port ?? 179,
    family: peerFamily(p),
    remoteAsn: p.remoteAsn,
    localAsn: peerLocalAsn(p, opts),
    type: peerType(p, opts),
    passive: p.passive === true,
    rrClient: p.rrClient === true,
    state: 'Idle',
    since,
    info: `Idle Error: ${error}`,
    lastError: error,
    prefixes: { received: 0, accepted: 0, advertised: 0 },
    counters: emptyCounters(),
  };
}

/**
 * The fields that go into the OPEN or the socket. Equal keys: the running session can
 * stay; different: it must be replaced.
 */
export function sessionKey(peer: SpeakerPeer, opts: SpeakerOptions): string {
  return JSON.stringify([
    parseIP(peer.address)?.address ?? peer.address,
    peer.port ?? 179,
    peer.remoteAsn,
    peerLocalAsn(peer, opts),
    peer.localAddress ?? null,
    peer.passive === true,
    peer.md5Key || null,
    peer.ttlSecurity ?? null,
    peer.holdTime ?? null,
    peer.keepaliveTime ?? null,
    peer.gracefulRestartTime ?? null,
    peer.longLivedStaleTime ?? null,
    peerFamilies(peer),
  ]);
}

/** The session's settings (handlers, clock, dialer and logger are the caller's). */
export function sessionConfig(peer: SpeakerPeer, opts: SpeakerOptions, restarting: boolean): SessionOptions {
  const families = peerFamilies(peer);
  const t = opts.timers ?? {};
  const cfg: SessionOptions = {
    name: peer.id,
    localAs: peerLocalAsn(peer, opts),
    remoteAs: peer.remoteAsn,
    routerId: opts.routerId,
    remoteAddress: peer.address,
    passive: peer.passive === true,
    holdTime: peer.holdTime ?? opts.holdTime ?? 90,
    families,
    // Every session offers graceful restart, as Calico configures BIRD; N bit (RFC 8538)
    // so that a graceful stop can say so with a NOTIFICATION.
    gracefulRestart: {
      restartTime: peer.gracefulRestartTime ?? opts.gracefulRestart?.restartTime ?? DEFAULT_RESTART_TIME,
      restarting,
      notification: true,
      families: families.map((family) => ({ family, forwarding: restarting })),
    },
  };
  if (peer.longLivedStaleTime !== undefined) {
    cfg.gracefulRestart!.restartTime = 0;
    cfg.gracefulRestart!.longLived = { staleTime: peer.longLivedStaleTime };
  }
  if (peer.port !== undefined) cfg.remotePort = peer.port;
  if (peer.localAddress !== undefined) cfg.localAddress = peer.localAddress;
  if (peer.keepaliveTime !== undefined) cfg.keepaliveTime = peer.keepaliveTime;
  if (peer.md5Key) cfg.md5Key = peer.md5Key;
  if (peer.ttlSecurity !== undefined) cfg.ttlSecurity = peer.ttlSecurity;
  if (t.connectDelay !== undefined) cfg.connectDelayTime = t.connectDelay;
  if (t.connectRetry !== undefined) cfg.connectRetryTime = t.connectRetry;
  if (t.idleHold !== undefined) cfg.idleHold = { ...t.idleHold };
  return cfg;
}

/** Our next-hop-self address for a family: the explicit one, else the session's own for its family. */
export function nextHopSelf(peer: SpeakerPeer, family: Family, sessionLocal: string | undefined): string | undefined {
  const explicit = family === 'ipv4' ? peer.localAddress4 : peer.localAddress6;
  if (explicit !== undefined) return explicit;
  if (peerFamily(peer) !== family) return undefined;
  const own = peer.localAddress ?? sessionLocal;
  return own !== undefined && parseIP(own)?.family === (family === 'ipv4' ? 4 : 6) ? own : undefined;
}

/** The RIB's view of the session, once the peer's OPEN gave its router id. */
export function peerDescriptor(peer: SpeakerPeer, opts: SpeakerOptions, peerRouterId: string, sessionLocal: string | undefined, longLived = false): PeerDescriptor {
  const d: {
    -readonly [K in keyof PeerDescriptor]: PeerDescriptor[K];
  } = {
    id: peer.id,
    address: parseIP(peer.address)?.address ?? peer.address,
    asn: peer.remoteAsn,
    localAsn: peerLocalAsn(peer, opts),
    routerId: peerRouterId,
    type: peerType(peer, opts),
    rrClient: peer.rrClient === true,
  };
  const v4 = nextHopSelf(peer, 'ipv4', sessionLocal);
  const v6 = nextHopSelf(peer, 'ipv6', sessionLocal);
  if (v4 !== undefined) d.localAddress4 = v4;
  if (v6 !== undefined) d.localAddress6 = v6;
  if (peer.localLinkLocal6 !== undefined) d.localLinkLocal6 = peer.localLinkLocal6;
  if (peer.nextHopMode !== undefined) d.nextHopMode = peer.nextHopMode;
  if (peer.allowLocalAs !== undefined) d.allowLocalAs = peer.allowLocalAs;
  if (longLived) d.longLived = true;
  return d;
}

/** Fields of the RIB descriptor or export side that changed (no new session needed). */
export function exportChanged(a: SpeakerPeer, b: SpeakerPeer): boolean {
  return (
    a.rrClient !== b.rrClient ||
    a.nextHopMode !== b.nextHopMode ||
    a.localAddress4 !== b.localAddress4 ||
    a.localAddress6 !== b.localAddress6 ||
    a.localLinkLocal6 !== b.localLinkLocal6 ||
    a.exportFilter !== b.exportFilter
  );
}

/** What decides which received routes are accepted changed: they must be sent again. */
export function importChanged(a: SpeakerPeer, b: SpeakerPeer): boolean {
  return a.importPolicy !== b.importPolicy || (a.allowLocalAs ?? 0) !== (b.allowLocalAs ?? 0);
}
