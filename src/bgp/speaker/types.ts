// The speaker's public data: what the agent passes in (options, peers, local routes) and
// what it gets back (best paths, per-peer status). Plain data only.

import type { Logger } from '../../util/log.js';
import type { ExportFilter, ImportPolicy, ImportRejection } from '../rib/index.js';
import type { Clock, Dialer, LastNotification, NegotiatedInfo, SessionCounters, State } from '../session/index.js';
import type { Family, PathAttributes } from '../wire/index.js';

/** Timers that are not part of the BGP conversation itself; seconds. */
export interface SpeakerTimers {
  /** Before the first dial of a session (default 2, Calico's connect delay). */
  connectDelay?: number;
  /** Between dials (default 5). */
  connectRetry?: number;
  /** Wait after an error, doubling from `initial` to `max` (default 5 and 30). */
  idleHold?: { initial?: number; max?: number };
  /** Graceful restart helper: how long a restarted peer may take to send End-of-RIB (default 360). */
  staleTime?: number;
  /**
   * How long an Established session waits for the first setLocalRoutes() before the
   * initial table goes out anyway (default 10). Sending an empty table and End-of-RIB
   * first would make a graceful-restart helper drop our routes.
   */
  localRoutesWait?: number;
  /** After a max-prefix Cease, the session starts again this much later (default 30). */
  maxPrefixRestart?: number;
  /**
   * After our own restart (gracefulRestart.restarting), how long route selection waits
   * for End-of-RIB from every peer before it goes ahead anyway (RFC 4724 §4.1
   * Selection_Deferral_Timer; default 120).
   */
  selectionDeferral?: number;
}

export interface SpeakerOptions {
  /** Dotted IPv4. */
  routerId: string;
  /** Default local AS. */
  localAsn: number;
  /** Set: this speaker is a route reflector (RFC 4456). */
  clusterId?: string;
  /**
   * Default {address: '::', port: 179}; false = no listener. `addresses`: one listener
   * per address instead (bindMode NodeIP on a dual-stack node listens on both node IPs).
   */
  listen?: { address?: string; addresses?: readonly string[]; port?: number } | false;
  /**
   * restarting: we came back with forwarding state preserved (the kernel kept our
   * routes), so until every peer sent End-of-RIB (or timers.selectionDeferral) our OPENs
   * set the R and F bits, best paths are held back and no initial table goes out
   * (RFC 4724 §4.1). Every initial table ends with End-of-RIB in any case.
   */
  gracefulRestart?: { restartTime: number; restarting: boolean };
  /** Offered hold time, default 90. */
  holdTime?: number;
  logger?: Logger;
  clock?: Clock;
  /** How sessions dial (default real TCP); tests pass an in-memory one. */
  dialer?: Dialer;
  /** Uniform in [0, 1) for timer jitter; tests pass a fixed one. Default Math.random. */
  random?: () => number;
  timers?: SpeakerTimers;
}

export type NextHopMode = 'Auto' | 'Self' | 'Keep';

export interface SpeakerPeer {
  /** Stable key, e.g. "Mesh_10_0_0_2". */
  id: string;
  /** Remote address and port (default 179). */
  address: string;
  port?: number;
  remoteAsn: number;
  /** Our AS on this session; default SpeakerOptions.localAsn. */
  localAsn?: number;
  /** Source address; also the next-hop-self address for its family. */
  localAddress?: string;
  /** Next-hop-self addresses per family, for routes of the other family than the session's (dual stack over one session). */
  localAddress4?: string;
  localAddress6?: string;
  /** Our link-local IPv6 address, sent with localAddress6 as a 32-octet next hop. */
  localLinkLocal6?: string;
  passive?: boolean;
  rrClient?: boolean;
  md5Key?: string;
  ttlSecurity?: number;
  nextHopMode?: NextHopMode;
  holdTime?: number;
  keepaliveTime?: number;
  /** Our advertised restart time for this peer (default 120). */
  gracefulRestartTime?: number;
  /**
   * Long-lived graceful restart (RFC 9494): the stale time (seconds, 24 bits) the peer may
   * keep our routes as LLGR-stale. Set, our graceful restart time is 0, as Calico's BIRD
   * config for restartMode LongLivedGracefulRestart.
   */
  longLivedStaleTime?: number;
  allowLocalAs?: number;
  /** Most prefixes (paths) accepted from the peer, both families together (RFC 4486). */
  maxPrefixes?: number;
  /**
   * What happens past maxPrefixes: 'reset' (default) sends Cease / Maximum Number of
   * Prefixes Reached, drops the peer's routes and starts again after
   * timers.maxPrefixRestart; 'reject' keeps the session and ignores further new
   * prefixes (logged, counted in status) until some are withdrawn.
   */
  maxPrefixesAction?: 'reset' | 'reject';
  /** Default both, MP-BGP over one session. */
  families?: Family[];
  /** Compared by identity: pass the same function while the policy is unchanged. */
  importPolicy?: ImportPolicy;
  /** Compared by identity, as importPolicy. */
  exportFilter?: ExportFilter;
  /** Set by the caller when part of the peer's configuration could not be read: no session, reported Idle with it. */
  configError?: string;
}

export interface LocalRoute {
  prefix: string;
  communities?: number[];
  largeCommunities?: [number, number, number][];
  med?: number;
}

export interface BestPath {
  family: Family;
  prefix: string;
  /** The ECMP next hops, best path's first. Empty when withdrawn. Shared between paths with the same next hops: do not modify. */
  nexthops: readonly string[];
  /** The session the best path came from; null = withdrawn. */
  peerId: string | null;
  attributes?: PathAttributes;
}

export interface SpeakerPeerStatus {
  id: string;
  address: string;
  port: number;
  /** Family of the peer's address. */
  family: Family;
  remoteAsn: number;
  localAsn: number;
  type: 'ibgp' | 'ebgp';
  passive: boolean;
  rrClient: boolean;
  state: State;
  since: Date;
  /** Calico style: "Established", "Active Socket: Connection refused". */
  info: string;
  lastError?: string;
  lastNotification?: LastNotification;
  negotiated?: NegotiatedInfo;
  prefixes: { received: number; accepted: number; advertised: number };
  /** Set while we keep the peer's routes across its restart (RFC 4724 helper). */
  gracefulRestart?: { staleFamilies: Family[]; longLivedFamilies?: Family[] };
  /** Prefixes announced by the peer and refused by the import checks (martian next hop, first AS, loops …), per reason. */
  importRejected?: Partial<Record<ImportRejection, number>>;
  /** With maxPrefixes set: the limit, its action, and new prefixes ignored for being over it ('reject'). */
  prefixLimit?: { max: number; action: 'reset' | 'reject'; rejected: number };
  counters: SessionCounters;
}
