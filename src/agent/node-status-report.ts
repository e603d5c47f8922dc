// CalicoNodeStatus as calico-node fills it (node/pkg/nodestatus; checked by Calico's
// node/tests/k8st node_status_test.go): for each requested class, the BGP daemon's state
// and router id (Tabby's one speaker serves both families, so birdV4 and birdV6 are
// alike), the sessions per family with their counts, and the routes learned over BGP as
// FIB routes with their gateway, interface and the kind of peer they came from.

import type { CalicoNodeStatusSpec, CalicoNodeStatusStatus } from '../api/types.js';
import type { BestPath, SpeakerPeerStatus } from '../bgp/speaker.js';
import type { PeerType } from '../calc/peers.js';

export interface NodeStatusFacts {
  routerId: string;
  version: string;
  bootTime: Date;
  now: Date;
  /** Every session with the type of its planned peer. */
  sessions: { s: SpeakerPeerStatus; type: PeerType }[];
  routes: BestPath[];
  /** The interface learned routes leave by. */
  ifname: string;
}

/** Calico's BGPPeerType for a Tabby peer type. */
const PEER_TYPE = { 'node-to-node mesh': 'NodeMesh', global: 'GlobalPeer', 'node specific': 'NodePeer' } as const;
/** Calico's RouteSourceType for routes from such a peer. */
const SOURCE_TYPE = { 'node-to-node mesh': 'NodeMesh', global: 'BGPPeer', 'node specific': 'BGPPeer' } as const;

type Status = Required<CalicoNodeStatusStatus>;
type PeerEntry = NonNullable<Status['bgp']['peersV4']>[number];
type RouteEntry = NonNullable<Status['routes']['routesV4']>[number];

export function nodeStatusReport(spec: Pick<CalicoNodeStatusSpec, 'classes'>, f: NodeStatusFacts): CalicoNodeStatusStatus {
  const out: CalicoNodeStatusStatus = { lastUpdated: f.now.toISOString() };
  const classes = new Set(spec.classes);
  if (classes.has('Agent')) {
    const daemon = { state: 'Ready', version: f.version, routerID: f.routerId, lastBootTime: f.bootTime.toISOString() };
    out.agent = { birdV4: daemon, birdV6: { ...daemon } };
  }
  if (classes.has('BGP')) {
    const peers = (family: 'ipv4' | 'ipv6'): PeerEntry[] =>
      f.sessions
        .filter(({ s }) => s.family === family)
        .map(({ s, type }) => ({ peerIP: s.address, type: PEER_TYPE[type], state: s.state as PeerEntry['state'], since: s.since.toISOString() }));
    const peersV4 = peers('ipv4');
    const peersV6 = peers('ipv6');
    const up = (ps: PeerEntry[]) => ps.filter((p) => p.state === 'Established').length;
    out.bgp = {
      numberEstablishedV4: up(peersV4),
      numberEstablishedV6: up(peersV6),
      numberNotEstablishedV4: peersV4.length - up(peersV4),
      numberNotEstablishedV6: peersV6.length - up(peersV6),
      peersV4,
      peersV6,
    };
  }
  if (classes.has('Routes')) {
    const typeOf = new Map(f.sessions.map(({ s, type }) => [s.id, type]));
    const addressOf = new Map(f.sessions.map(({ s }) => [s.id, s.address]));
    const routes = (family: 'ipv4' | 'ipv6'): RouteEntry[] =>
      f.routes
        .filter((r) => r.family === family && r.peerId !== null && r.nexthops.length > 0)
        .map((r) => ({
          type: 'FIB',
          destination: r.prefix,
          gateway: r.nexthops[0]!,
          interface: f.ifname,
          learnedFrom: { sourceType: SOURCE_TYPE[typeOf.get(r.peerId!) ?? 'global'], peerIP: addressOf.get(r.peerId!) ?? r.nexthops[0]! },
        }));
    out.routes = { routesV4: routes('ipv4'), routesV6: routes('ipv6') };
  }
  return out;
}
