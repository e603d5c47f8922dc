// Our OPEN from the configuration, the checks on the peer's OPEN that need the
// configuration (the codec already checked version, hold 1–2 s and a zero id), and
// what the two OPENs settle.

import {
  commonFamilies,
  ErrorCode,
  FAMILIES,
  familyOf,
  findCapability,
  negotiateOptions,
  OpenMessageError,
  type Capability,
  type CodecOptions,
  type DecodedOpen,
  type Family,
  type Notification,
  type Open,
} from '../wire/index.js';
import type { ResolvedConfig } from './config.js';
import type { NegotiatedInfo } from './status.js';

export interface Negotiated extends NegotiatedInfo {
  /** Pass to every encode/decode of this session. */
  options: CodecOptions;
  peerCapabilities: Capability[];
}

export function localOpen(cfg: ResolvedConfig): Open {
  const caps: Capability[] = [];
  for (const f of cfg.families) caps.push({ kind: 'multiprotocol', afi: FAMILIES[f].afi, safi: FAMILIES[f].safi });
  if (cfg.routeRefresh) caps.push({ kind: 'route-refresh' });
  if (cfg.extendedMessage) caps.push({ kind: 'extended-message' });
  const gr = cfg.gracefulRestart;
  if (gr) {
    const fams = gr.families ?? cfg.families.map((family) => ({ family, forwarding: false }));
    caps.push({
      kind: 'graceful-restart',
      restarting: gr.restarting === true,
      notification: gr.notification === true,
      time: gr.restartTime,
      families: fams.map((f) => ({ afi: FAMILIES[f.family].afi, safi: FAMILIES[f.family].safi, forwarding: f.forwarding })),
    });
    const ll = gr.longLived;
    if (ll) {
      const staleTime = ll.staleTime;
      caps.push({
        kind: 'long-lived-graceful-restart',
        families: (ll.families ?? fams).map((f) => ({ afi: FAMILIES[f.family].afi, safi: FAMILIES[f.family].safi, forwarding: f.forwarding, staleTime })),
      });
    }
  }
  caps.push({ kind: 'four-octet-as', asn: cfg.localAs });
  const addPath = cfg.families
    .filter((f) => cfg.addPath.receive.includes(f) || cfg.addPath.send.includes(f))
    .map((f) => ({ afi: FAMILIES[f].afi, safi: FAMILIES[f].safi, receive: cfg.addPath.receive.includes(f), send: cfg.addPath.send.includes(f) }));
  if (addPath.length > 0) caps.push({ kind: 'add-path', families: addPath });
  return { asn: cfg.localAs, holdTime: cfg.holdTime, bgpId: cfg.routerId, capabilities: caps };
}

function openError(subcode: number, data: Buffer = Buffer.alloc(0)): Notification {
  return { code: ErrorCode.OPEN_MESSAGE_ERROR, subcode, data };
}

/** The NOTIFICATION to send for an OPEN we cannot accept, or undefined. */
export function checkPeerOpen(cfg: ResolvedConfig, open: DecodedOpen): Notification | undefined {
  if (open.asn !== cfg.remoteAs) {
    const data = Buffer.alloc(2);
    data.writeUInt16BE(open.myAs);
    return openError(OpenMessageError.BAD_PEER_AS, data);
  }
  // RFC 6286: only iBGP peers must have an identifier different from ours.
  if (cfg.localAs === cfg.remoteAs && open.bgpId === cfg.routerId) return openError(OpenMessageError.BAD_BGP_IDENTIFIER);
  // The codec rejects 1 and 2 already; this keeps the rule in one visible place.
  if (open.holdTime === 1 || open.holdTime === 2) return openError(OpenMessageError.UNACCEPTABLE_HOLD_TIME);
  return undefined;
}

function familyList(set: ReadonlySet<Family>): Family[] {
  return (['ipv4', 'ipv6'] as const).filter((f) => set.has(f));
}

export function negotiate(cfg: ResolvedConfig, local: Open, peer: DecodedOpen): Negotiated {
  const holdTime = Math.min(local.holdTime, peer.holdTime);
  let keepaliveTime = 0;
  if (holdTime > 0) keepaliveTime = cfg.keepaliveTime !== undefined ? Math.min(cfg.keepaliveTime, holdTime / 3) : holdTime / 3;
  const options = negotiateOptions(local.capabilities, peer.capabilities);
  const both = (kind: 'route-refresh' | 'enhanced-route-refresh'): boolean =>
    findCapability(local.capabilities, kind) !== undefined && findCapability(peer.capabilities, kind) !== undefined;
  const out: Negotiated = {
    peerAs: peer.asn,
    peerId: peer.bgpId,
    holdTime,
    keepaliveTime,
    families: familyList(commonFamilies(local.capabilities, peer.capabilities)),
    fourOctetAs: options.fourOctetAs,
    addPath: { receive: familyList(options.addPath.receive), send: familyList(options.addPath.send) },
    routeRefresh: both('route-refresh') || both('enhanced-route-refresh'),
    extendedMessage: options.extendedMessage,
    options,
    peerCapabilities: peer.capabilities,
  };
  const gr = findCapability(peer.capabilities, 'graceful-restart');
  if (gr) {
    const families: Array<{ family: Family; forwarding: boolean }> = [];
    for (const f of gr.families) {
      const family = familyOf(f.afi, f.safi);
      if (family) families.push({ family, forwarding: f.forwarding });
    }
    out.gracefulRestart = { restartTime: gr.time, restarting: gr.restarting, notification: gr.notification, families };
    // RFC 9494 §4.5: the long-lived capability counts only beside the graceful restart one.
    const ll = findCapability(peer.capabilities, 'long-lived-graceful-restart');
    if (ll) {
      out.gracefulRestart.longLived = [];
      for (const f of ll.families) {
        const family = familyOf(f.afi, f.safi);
        if (family) out.gracefulRestart.longLived.push({ family, forwarding: f.forwarding, staleTime: f.staleTime });
      }
    }
  }
  return out;
}

/** The JSON-friendly part, for status and onEstablished. */
export function negotiatedInfo(n: Negotiated): NegotiatedInfo {
  const { options: _o, peerCapabilities: _c, ...info } = n;
  return info;
}
