// BFD for the BGP peers that ask for it (failureDetectionMode: BFDIfDirectlyConnected)
// and sit on a subnet connected to this node: one BFD session each, and the session's
// state turned into the speaker's liveness of that peer. A session that has been Up and
// goes down takes the BGP session down until BFD is Up again; one that never came Up
// holds nothing back (the peer may not run BFD at all; BIRD's bgp_bfd_notify too acts
// only on a session that was Up).

import { cidrContains } from '../api/net.js';
import { BfdManager, type BfdChange, type BfdPeerStatus, type DropReason } from '../bfd/bfd-manager.js';
import type { Speaker } from '../bgp/speaker.js';
import type { BfdTimers } from '../api/bfd-annotations.js';
import { addrList, type Address } from '../native/addresses.js';
import type { Logger } from '../util/log.js';
import { formatSince } from './status.js';

/** What `node status -o json` shows per peer that asked for BFD. */
export interface PeerBfdJson {
  state: string;
  /** Why there is no session, or why it cannot run. */
  info?: string;
  remoteState?: string;
  diag?: string;
  remoteDiag?: string;
  since?: string;
  localAddress?: string;
  txIntervalMs?: number;
  detectionTimeMs?: number;
}

/** Our address on a connected subnet that holds `peer`: the source of BFD packets to it. */
export function connectedSource(peer: string, addresses: readonly Address[]): string | undefined {
  for (const a of addresses) {
    if (a.tentative || a.address === peer) continue;
    if (a.prefixLength === (a.family === 4 ? 32 : 128)) continue;
    if (cidrContains(a.cidr, peer)) return a.address;
  }
  return undefined;
}

/** A planned peer as BFD sees it: its speaker id, address and timers if it asked for BFD. */
export interface BfdWanted {
  id: string;
  address: string;
  bfd?: BfdTimers;
}

export interface PeerBfdOptions {
  logger: Logger;
  manager?: BfdManager;
  /** This node's addresses (default: the kernel's, by netlink). */
  addresses?: () => Promise<Address[]>;
}

export class PeerBfd {
  readonly manager: BfdManager;
  private readonly log: Logger;
  private readonly addresses: () => Promise<Address[]>;
  private speaker: Speaker | undefined;
  /** Peers that asked for BFD but are not on a connected subnet. */
  private indirect = new Set<string>();
  /** The liveness last told to the speaker, per peer. */
  private readonly told = new Map<string, boolean>();
  /** Peers whose BGP session has been Established: only they get a BFD session. */
  private readonly bgpUp = new Set<string>();
  private peers: readonly BfdWanted[] = [];

  constructor(opts: PeerBfdOptions) {
    this.log = opts.logger.child({ component: 'bfd' });
    this.manager = opts.manager ?? new BfdManager({ logger: opts.logger });
    this.addresses = opts.addresses ?? (() => addrList());
    this.manager.onChange((c) => this.changed(c));
  }

  /**
   * A peer's BGP session reached Established: its BFD session may start. Starting
   * before would race FRR, whose bgpd resets an Up BFD session when BGP comes up
   * (FRRouting/frr#5992) and so would take the new BGP session straight down again.
   */
  async established(id: string): Promise<void> {
    if (this.bgpUp.has(id)) return;
    this.bgpUp.add(id);
    const speaker = this.speaker;
    if (speaker && this.peers.some((p) => p.id === id && p.bfd)) await this.sync(this.peers, speaker);
  }

  /** After speaker.setPeers(): the BFD sessions these peers need, and every peer's liveness. */
  async sync(peers: readonly BfdWanted[], speaker: Speaker): Promise<void> {
    this.speaker = speaker;
    this.peers = peers;
    const ids = new Set(peers.map((p) => p.id));
    for (const id of this.bgpUp) if (!ids.has(id)) this.bgpUp.delete(id);
    const wanted = peers.filter((p) => p.bfd && this.bgpUp.has(p.id));
    try {
      const addresses = wanted.length > 0 ? await this.addresses() : [];
      const indirect = new Set<string>();
      const sessions = [];
      for (const p of wanted) {
        const local = connectedSource(p.address, addresses);
        if (!local) {
          if (!this.indirect.has(p.id)) this.log.info({ peer: p.id, address: p.address }, 'BFD asked for, but the peer is not on a connected subnet: no BFD session');
          indirect.add(p.id);
          continue;
        }
        sessions.push({ id: p.id, address: p.address, local, minTxMs: p.bfd!.minTxMs, minRxMs: p.bfd!.minRxMs, multiplier: p.bfd!.multiplier });
      }
      this.indirect = indirect;
      await this.manager.setPeers(sessions);
    } catch (err) {
      this.log.error({ err }, 'BFD sessions not updated');
    }
    this.told.clear();
    for (const p of peers) this.tell(p.id, this.live(p.id) ? 'BFD session up' : 'BFD session down');
  }

  /**
   * False only while a session that has been Up is not Up, unless the peer said
   * AdminDown (administrative, RFC 5880 §6.8.16) or replaced its session: FRR's bgpd
   * re-registers the peer with a source address once BGP is Established, and bfdd
   * starts a new session that says Down (FRRouting/frr issue #17337). Packets still
   * arrive then, so the path is alive; a real failure ends in the Detection Time.
   */
  live(id: string): boolean {
    const s = this.manager.peer(id);
    return !s || !s.everUp || s.state === 'Up' || s.remoteState === 'AdminDown' || s.remoteRestarted;
  }

  /** The `bfd` field of a peer's status, if it asked for BFD. */
  json(peer: BfdWanted | undefined): PeerBfdJson | undefined {
    if (!peer?.bfd) return undefined;
    if (this.indirect.has(peer.id)) return { state: 'Inactive', info: 'not directly connected' };
    const s = this.manager.peer(peer.id);
    if (!s) return { state: 'Inactive', info: this.bgpUp.has(peer.id) ? 'starting' : 'waiting for BGP to be Established' };
    const j: PeerBfdJson = { state: s.state, remoteState: s.remoteState, diag: s.diag, remoteDiag: s.remoteDiag, since: formatSince(s.since) };
    if (s.error) j.info = s.error;
    if (s.local) j.localAddress = s.local;
    if (s.txIntervalMs !== undefined) j.txIntervalMs = s.txIntervalMs;
    if (s.detectionTimeMs !== undefined) j.detectionTimeMs = s.detectionTimeMs;
    return j;
  }

  sessions(): BfdPeerStatus[] {
    return this.manager.status();
  }

  dropped(): Partial<Record<DropReason, number>> {
    return this.manager.dropped();
  }

  stop(): Promise<void> {
    return this.manager.stop();
  }

  private changed(c: BfdChange): void {
    const live = this.live(c.id);
    if (this.told.get(c.id) !== live) this.tell(c.id, live ? 'BFD session up' : `BFD session down (${c.diag})`);
  }

  private tell(id: string, reason: string): void {
    const live = this.live(id);
    this.told.set(id, live);
    this.speaker?.setPeerLive(id, live, reason);
  }
}
