// Routes: a dump filtered by family, table and protocol, and batched writes of
// validated, binary-encoded operations (route-records.ts).

import { NetlinkError, ValidationError } from '../errors.js';
import { call } from './binding.js';
import { sendBatch, type BatchOutcome, type RawBatchOptions } from './batch.js';
import { checkNetns, checkU32, netnsArg, optU32 } from './checks.js';
import { encodeRouteOps, type EncodedRoutes, type RouteOp } from './route-records.js';

export type { EncodedRoutes, RouteNexthopSpec, RouteOp, RouteOpKind, RouteSpec, RouteSpecType } from './route-records.js';
export { RouteRecordBatch } from './route-records.js';

export type RouteType =
  | 'unspec' | 'unicast' | 'local' | 'broadcast' | 'anycast' | 'multicast'
  | 'blackhole' | 'unreachable' | 'prohibit' | 'throw' | 'nat' | 'xresolve' | 'unknown';

export interface RouteNexthop {
  gateway?: string;
  oif?: number;
  dev?: string;
  weight: number;
  onlink: boolean;
  /** RTA_FLOW "to" realm of this next hop (what bpf_get_route_realm sees), when set. */
  realm?: number;
  realmFrom?: number;
}

export interface Route {
  family: 4 | 6;
  /** Prefix as `address/length`; the default route is `0.0.0.0/0` or `::/0`. */
  dst: string;
  table: number;
  /** rtm_protocol: 2 kernel, 3 boot, 4 static, or a routing daemon's own number. */
  protocol: number;
  /** rtm_scope: 0 universe, 253 link, 254 host. */
  scope: number;
  type: RouteType;
  gateway?: string;
  oif?: number;
  dev?: string;
  metric?: number;
  /** RTAX_MTU from RTA_METRICS, when the route has one. */
  mtu?: number;
  prefsrc?: string;
  onlink: boolean;
  /** RTA_FLOW "to" realm (low 16 bits), when set; `realmFrom` the rarely used high half. */
  realm?: number;
  realmFrom?: number;
  /** Present for multipath (ECMP) routes instead of gateway/oif. */
  nexthops?: RouteNexthop[];
}

export interface RouteDumpOptions {
  /** 4, 6, or 0 for both (the default). */
  family?: 0 | 4 | 6;
  table?: number;
  protocol?: number;
  /** Every protocol but this one (filtered before any object is made). */
  excludeProtocol?: number;
  netns?: string;
}

/** All routes of the namespace, filtered by family, table and protocol. */
export async function routeDump(opts: RouteDumpOptions = {}): Promise<Route[]> {
  const family = opts.family ?? 0;
  if (family !== 0 && family !== 4 && family !== 6) throw new ValidationError('family', 'must be 0, 4 or 6');
  if (opts.table !== undefined) checkU32('table', opts.table);
  if (opts.protocol !== undefined) checkU32('protocol', opts.protocol, 255);
  if (opts.excludeProtocol !== undefined) checkU32('excludeProtocol', opts.excludeProtocol, 255);
  checkNetns(opts.netns);
  const args: { family: number; table?: number; protocol?: number; excludeProtocol?: number; netns?: string } = { family };
  if (opts.table !== undefined) args.table = opts.table;
  if (opts.protocol !== undefined) args.protocol = opts.protocol;
  if (opts.excludeProtocol !== undefined) args.excludeProtocol = opts.excludeProtocol;
  if (opts.netns !== undefined) args.netns = opts.netns;
  return call(NetlinkError, (n) => n.routeDump(args));
}

export interface RouteApplyOptions {
  netns?: string;
  /**
   * rtm_protocol of every route that names none. Absent: what `ip route` does, boot (3)
   * on add and replace, any owner on delete.
   */
  protocol?: number;
  /** Requests per sendto() (default 256). */
  batchSize?: number;
  /** Bytes per sendto() (default 64 KiB). */
  batchBytes?: number;
  /** Socket receive buffer for the acks (default 8 MiB); a small one shows ENOBUFS handling. */
  rcvbuf?: number;
}

/** Adds (NLM_F_EXCL), replaces or deletes routes in batches, each request acked on its own. */
export async function routeApply(ops: readonly RouteOp[], opts: RouteApplyOptions = {}): Promise<BatchOutcome> {
  optU32('protocol', opts.protocol, 255);
  return routeApplyEncoded(encodeRouteOps(ops, opts.protocol), opts);
}

/** routeApply for operations already encoded (encodeRouteOps, or a RouteRecordBatch for many alike). */
export async function routeApplyEncoded(enc: EncodedRoutes, opts: Omit<RouteApplyOptions, 'protocol'> = {}): Promise<BatchOutcome> {
  const args: RawBatchOptions = netnsArg(opts.netns);
  args.batchSize = optU32('batchSize', opts.batchSize, 4096);
  args.batchBytes = optU32('batchBytes', opts.batchBytes, 4 << 20);
  args.rcvbuf = optU32('rcvbuf', opts.rcvbuf, 1 << 30);
  return sendBatch(enc, enc.count, (n, e) => n.routeApply(e.buf, e.count, e.names, args));
}
