// A session's settings: what the caller passes, and the checked form (timers in ms)
// the FSM reads.

import { ValidationError } from '../../errors.js';
import { parseIP } from '../../api/net.js';
import { BGP_PORT, type Family } from '../wire/index.js';

export interface GracefulRestartOptions {
  /** Seconds the peer should keep our routes while we restart (12 bits). */
  restartTime: number;
  /** R bit: we have just restarted. */
  restarting?: boolean;
  /** N bit (RFC 8538). */
  notification?: boolean;
  /** Forwarding-preserved flag per family; families default to the session's, not preserved. */
  families?: Array<{ family: Family; forwarding: boolean }>;
  /**
   * Long-lived graceful restart (RFC 9494), sent beside the graceful restart capability:
   * how long (seconds, 24 bits) the peer may keep our routes as LLGR-stale after the restart
   * time; per family, the forwarding flag as in `families`.
   */
  longLived?: { staleTime: number; families?: Array<{ family: Family; forwarding: boolean }> };
}

export interface SessionConfig {
  /** Shown in logs and status; defaults to the remote address. */
  name?: string;
  localAs: number;
  remoteAs: number;
  /** Our BGP identifier, dotted quad. */
  routerId: string;
  remoteAddress: string;
  /** Port we dial (default 179). */
  remotePort?: number;
  /** Source address of outgoing connections. */
  localAddress?: string;
  /** Source port of outgoing connections (default ephemeral). */
  localPort?: number;
  /** Never dial; only take connections the listener hands over. */
  passive?: boolean;
  /** Hold time offered in seconds: 0, or at least 3 (default 90). */
  holdTime?: number;
  /** Seconds between KEEPALIVEs; default a third of the negotiated hold time, never more. */
  keepaliveTime?: number;
  /** Seconds (default 5, as Calico sets BIRD's connect retry). */
  connectRetryTime?: number;
  /** Seconds from start to the first dial (default 2, Calico's connect delay). */
  connectDelayTime?: number;
  /** Hold time while waiting for the peer's OPEN, seconds (default 240). */
  openSentHoldTime?: number;
  /** Idle hold after errors, seconds: first wait, cap, and how long a stable session (or a quiet spell) resets it. */
  idleHold?: { initial?: number; max?: number; resetAfter?: number };
  /** Families advertised with multiprotocol capabilities (default: the remote address's family). */
  families?: Family[];
  /** Advertise ROUTE-REFRESH (default true). */
  routeRefresh?: boolean;
  /** Advertise Extended Message (default true). */
  extendedMessage?: boolean;
  /** Add-path (RFC 7911): families we can receive / send several paths for. */
  addPath?: { receive?: Family[]; send?: Family[] };
  /** Graceful restart capability; absent = not advertised. */
  gracefulRestart?: GracefulRestartOptions;
  /** TCP MD5 key, at most 80 octets. */
  md5Key?: string;
  /** GTSM: the peer is this many hops away (1 = directly connected). */
  ttlSecurity?: number;
}

export interface ResolvedConfig {
  name: string;
  localAs: number;
  remoteAs: number;
  routerId: string;
  remoteAddress: string;
  remoteFamily: 4 | 6;
  remotePort: number;
  localAddress?: string;
  localPort?: number;
  passive: boolean;
  holdTime: number;
  keepaliveTime?: number;
  connectRetryMs: number;
  connectDelayMs: number;
  openSentHoldMs: number;
  idleHold: { initial: number; max: number; resetAfter: number };
  families: Family[];
  routeRefresh: boolean;
  extendedMessage: boolean;
  addPath: { receive: Family[]; send: Family[] };
  gracefulRestart?: GracefulRestartOptions;
  md5Key?: string;
  ttlSecurity?: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function int(path: string, v: number | undefined, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ValidationError(path, `must be an integer from ${min} to ${max}`);
  return v;
}

function seconds(path: string, v: number | undefined, min: number, dflt: number): number {
  if (v === undefined) return dflt * 1000;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new ValidationError(path, `must be at least ${min} seconds`);
  return Math.round(v * 1000);
}

function families(path: string, v: Family[] | undefined, dflt: Family[]): Family[] {
  if (v === undefined) return dflt;
  for (const f of v) if (f !== 'ipv4' && f !== 'ipv6') throw new ValidationError(path, 'families are "ipv4" and "ipv6"');
  return [...new Set(v)];
}

/** BGP identifier as an unsigned 32-bit number (RFC 6286 compares them so). */
export function bgpIdNumber(id: string): number {
  const m = IPV4.exec(id);
  if (!m) return Number.NaN;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return Number.NaN;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function resolveConfig(c: SessionConfig): ResolvedConfig {
  const localAs = int('localAs', c.localAs, 1, 0xffffffff, Number.NaN);
  const remoteAs = int('remoteAs', c.remoteAs, 1, 0xffffffff, Number.NaN);
  if (Number.isNaN(localAs)) throw new ValidationError('localAs', 'is required');
  if (Number.isNaN(remoteAs)) throw new ValidationError('remoteAs', 'is required');
  const id = bgpIdNumber(c.routerId);
  if (!(id > 0)) throw new ValidationError('routerId', 'must be a non-zero dotted quad');
  const remote = parseIP(c.remoteAddress);
  if (!remote) throw new ValidationError('remoteAddress', 'must be an IPv4 or IPv6 address');
  const local = c.localAddress === undefined ? undefined : parseIP(c.localAddress);
  if (c.localAddress !== undefined && (!local || local.family !== remote.family)) {
    throw new ValidationError('localAddress', 'must be an address of the same family as remoteAddress');
  }
  const holdTime = int('holdTime', c.holdTime, 0, 65535, 90);
  if (holdTime === 1 || holdTime === 2) throw new ValidationError('holdTime', 'must be 0 or at least 3 seconds');
  if (c.keepaliveTime !== undefined) int('keepaliveTime', c.keepaliveTime, 1, 21845, 0);
  const fams = families('families', c.families, [remote.family === 4 ? 'ipv4' : 'ipv6']);
  if (fams.length === 0) throw new ValidationError('families', 'must name at least one family');
  const md5 = c.md5Key === undefined || c.md5Key === '' ? undefined : c.md5Key;
  if (md5 !== undefined && Buffer.byteLength(md5, 'utf8') > 80) throw new ValidationError('md5Key', 'must be at most 80 octets');
  const gr = c.gracefulRestart;
  if (gr) int('gracefulRestart.restartTime', gr.restartTime, 0, 4095, 0);
  if (gr?.longLived) int('gracefulRestart.longLived.staleTime', gr.longLived.staleTime, 0, 0xffffff, 0);
  const ih = c.idleHold ?? {};
  const out: ResolvedConfig = {
    name: c.name ?? remote.address,
    localAs,
    remoteAs,
    routerId: c.routerId,
    remoteAddress: remote.address,
    remoteFamily: remote.family,
    remotePort: int('remotePort', c.remotePort, 1, 65535, BGP_PORT),
    passive: c.passive === true,
    holdTime,
    connectRetryMs: seconds('connectRetryTime', c.connectRetryTime, 0.001, 5),
    connectDelayMs: seconds('connectDelayTime', c.connectDelayTime, 0, 2),
    openSentHoldMs: seconds('openSentHoldTime', c.openSentHoldTime, 1, 240),
    idleHold: {
      initial: seconds('idleHold.initial', ih.initial, 0.001, 5),
      max: seconds('idleHold.max', ih.max, 0.001, 30),
      resetAfter: seconds('idleHold.resetAfter', ih.resetAfter, 0, 60),
    },
    families: fams,
    routeRefresh: c.routeRefresh !== false,
    extendedMessage: c.extendedMessage !== false,
    addPath: {
      receive: families('addPath.receive', c.addPath?.receive, []).filter((f) => fams.includes(f)),
      send: families('addPath.send', c.addPath?.send, []).filter((f) => fams.includes(f)),
    },
  };
  if (out.idleHold.max < out.idleHold.initial) throw new ValidationError('idleHold.max', 'must not be below idleHold.initial');
  if (c.keepaliveTime !== undefined) out.keepaliveTime = c.keepaliveTime;
  if (local) out.localAddress = local.address;
  if (c.localPort !== undefined) out.localPort = int('localPort', c.localPort, 1, 65535, 0);
  if (gr) out.gracefulRestart = gr;
  if (md5 !== undefined) out.md5Key = md5;
  if (c.ttlSecurity !== undefined) out.ttlSecurity = int('ttlSecurity', c.ttlSecurity, 1, 254, 1);
  return out;
}
