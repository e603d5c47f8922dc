// The difference between the desired routes and what the kernel holds under Tabby's
// protocol, as route operations. Pure: no I/O, so it is tested with plain data.

import type { Route, RouteNexthop, RouteOp, RouteSpec } from '../../native/routes.js';
import {
  canonicalAddress, canonicalNetwork, compareNexthops, defaultMetric, routeKey,
  type NormalNexthop, type NormalRoute,
} from './desired-route.js';

/** Identity of a kernel route, in the same terms as NormalRoute.key. */
export function kernelKey(r: Route): string {
  // inet_ntop and ip-address agree except for IPv6 with an embedded IPv4 tail.
  const dst = r.family === 6 && r.dst.includes('.') ? canonicalNetwork(r.dst)?.dst ?? r.dst : r.dst;
  return routeKey(r.table, dst, defaultMetric(r.family, r.metric));
}

function sameAddress(want: string | undefined, got: string | undefined, family: 4 | 6): boolean {
  if (want === got) return true;
  if (want === undefined || got === undefined) return false;
  return canonicalAddress(got, family) === want;
}

// A device left unset in the desired route is whatever the kernel resolved.
function sameDevice(want: string | undefined, got: string | undefined): boolean {
  return want === undefined || want === got;
}

function sameNexthops(want: NormalNexthop[], got: RouteNexthop[], family: 4 | 6): boolean {
  if (want.length !== got.length) return false;
  const sorted = got
    .map((h) => ({ ...h, device: h.dev, gateway: h.gateway === undefined ? undefined : canonicalAddress(h.gateway, family) ?? h.gateway }))
    .sort((a, b) => compareNexthops(a as NormalNexthop, b as NormalNexthop));
  return want.every((w, i) => {
    const g = sorted[i]!;
    return w.gateway === g.gateway && sameDevice(w.device, g.device) && w.onlink === g.onlink && w.weight === g.weight &&
      w.realm === g.realm && g.realmFrom === undefined;
  });
}

/** Does the kernel's route already say what the desired one says? */
export function sameRoute(want: NormalRoute, got: Route): boolean {
  if (want.type !== got.type || want.mtu !== got.mtu || !sameAddress(want.prefsrc, got.prefsrc, want.family)) return false;
  if (want.type !== 'unicast') return true; // IPv6 hangs these on lo: the device means nothing
  if (want.family === 4 && want.scope !== got.scope) return false;
  if (want.realm !== got.realm || got.realmFrom !== undefined) return false;
  if (want.nexthops) return got.nexthops !== undefined && sameNexthops(want.nexthops, got.nexthops, want.family);
  if (got.nexthops !== undefined) return false;
  return sameAddress(want.gateway, got.gateway, want.family) && sameDevice(want.device, got.dev) && want.onlink === got.onlink;
}

/** The request that programs a desired route. */
export function routeSpec(r: NormalRoute, protocol: number): RouteSpec {
  const spec: RouteSpec = { dst: r.dst, table: r.table, protocol, type: r.type, metric: r.metric };
  if (r.family === 4) spec.scope = r.scope;
  if (r.gateway !== undefined) spec.gateway = r.gateway;
  if (r.device !== undefined) spec.dev = r.device;
  if (r.onlink) spec.onlink = true;
  if (r.mtu !== undefined) spec.mtu = r.mtu;
  if (r.prefsrc !== undefined) spec.prefsrc = r.prefsrc;
  if (r.realm !== undefined) spec.realm = r.realm;
  if (r.nexthops) {
    spec.nexthops = r.nexthops.map((h) => {
      const n: NonNullable<RouteSpec['nexthops']>[number] = { weight: h.weight };
      if (h.gateway !== undefined) n.gateway = h.gateway;
      if (h.device !== undefined) n.dev = h.device;
      if (h.onlink) n.onlink = true;
      if (h.realm !== undefined) n.realm = h.realm;
      return n;
    });
  }
  return spec;
}

/** Deletes exactly this kernel route: prefix, table, metric, type and our protocol. */
function deleteSpec(r: Route, protocol: number): RouteSpec {
  const spec: RouteSpec = { dst: r.dst, table: r.table, protocol, metric: defaultMetric(r.family, r.metric) };
  if (r.type === 'unicast' || r.type === 'blackhole' || r.type === 'unreachable' || r.type === 'prohibit' || r.type === 'throw') {
    spec.type = r.type;
  }
  return spec;
}

export interface RouteDiff {
  /** Deletes first (they may free a key), then replaces, then adds. */
  ops: RouteOp[];
  /** Desired routes the kernel already holds as wanted. */
  converged: number;
}

/**
 * `kernel` must hold only routes of `protocol`: everything in it that is not desired
 * is deleted. Routes of other protocols are never seen and so never touched.
 */
export function routeDiff(desired: ReadonlyMap<string, NormalRoute>, kernel: readonly Route[], protocol: number): RouteDiff {
  const deletes: RouteOp[] = [];
  const replaces: RouteOp[] = [];
  const adds: RouteOp[] = [];
  const seen = new Set<string>();
  let converged = 0;
  for (const got of kernel) {
    if (got.protocol !== protocol) continue;
    const key = kernelKey(got);
    const want = desired.get(key);
    if (seen.has(key)) continue; // an appended twin (same key); the first one decides
    seen.add(key);
    if (!want) deletes.push({ op: 'delete', route: deleteSpec(got, protocol) });
    else if (!sameRoute(want, got)) replaces.push({ op: 'replace', route: routeSpec(want, protocol) });
    else converged++;
  }
  for (const [key, want] of desired) {
    if (!seen.has(key)) adds.push({ op: 'add', route: routeSpec(want, protocol) });
  }
  return { ops: [...deletes, ...replaces, ...adds], converged };
}
