// The difference between the desired routes and what the kernel holds under Tabby's
// protocol, as route operations. Pure: no I/O, so it is tested with plain data.

import type { Route, RouteNexthop, RouteOp, RouteSpec } from '../../native/routes.js';
import {
  canonicalAddress, canonicalNetwork, compareNexthops, defaultMetric, parseRouteKey, routeKey,
  type NormalNexthop, type NormalRoute, type RouteShape,
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
export function sameRoute(want: RouteShape, got: Route): boolean {
  if (want.type !== got.type || want.mtu !== got.mtu || !sameAddress(want.prefsrc, got.prefsrc, want.family)) return false;
  if (want.type !== 'unicast') return true; // IPv6 hangs these on lo: the device means nothing
  if (want.family === 4 && want.scope !== got.scope) return false;
  if (want.realm !== got.realm || got.realmFrom !== undefined) return false;
  if (want.nexthops) return got.nexthops !== undefined && sameNexthops(want.nexthops, got.nexthops, want.family);
  if (got.nexthops !== undefined) return false;
  return sameAddress(want.gateway, got.gateway, want.family) && sameDevice(want.device, got.dev) && want.onlink === got.onlink;
}

/** The request that programs a desired route (`dst` with the shape `r`). */
export function routeSpec(dst: string, r: RouteShape, protocol: number): RouteSpec {
  const spec: RouteSpec = { dst, table: r.table, protocol, type: r.type, metric: r.metric };
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

/** Deletes our route at a key: prefix, table and metric under our protocol, of any type. */
export function deleteSpec(key: string, protocol: number): RouteSpec {
  const { dst, table, metric } = parseRouteKey(key);
  return { dst, table, protocol, metric };
}

/** What a kernel dump says against the desired set. */
export interface KernelState {
  /** Keys whose kernel route is missing, different, or not desired; true where the kernel holds one of ours. */
  dirty: Map<string, boolean>;
  /** Desired routes the kernel already holds as wanted. */
  converged: number;
}

/**
 * `kernel` may hold routes of any protocol; only `protocol`'s are ours. Everything of ours
 * that is not desired is dirty (to delete); routes of other protocols are never seen.
 * `want` answers what is desired at a key; `keys` lists every desired key.
 */
export function kernelState(want: (key: string) => RouteShape | undefined, keys: Iterable<string>, kernel: Iterable<Route>, protocol: number): KernelState {
  const seen = new Set<string>();
  const dirty = new Map<string, boolean>();
  let converged = 0;
  for (const got of kernel) {
    if (got.protocol !== protocol) continue;
    const key = kernelKey(got);
    if (seen.has(key)) continue; // an appended twin (same key); the first one decides
    seen.add(key);
    const w = want(key);
    if (w && sameRoute(w, got)) converged++;
    else dirty.set(key, true);
  }
  for (const key of keys) if (!seen.has(key)) dirty.set(key, false);
  return { dirty, converged };
}

/** The operation that brings `key` from what the kernel holds (ours or nothing) to `want`. */
export function routeOp(key: string, want: RouteShape | undefined, ours: boolean, protocol: number): RouteOp | undefined {
  if (want) return { op: ours ? 'replace' : 'add', route: routeSpec(parseRouteKey(key).dst, want, protocol) };
  return ours ? { op: 'delete', route: deleteSpec(key, protocol) } : undefined;
}

export interface RouteDiff {
  /** Deletes first (they may free a key), then replaces, then adds. */
  ops: RouteOp[];
  /** Desired routes the kernel already holds as wanted. */
  converged: number;
}

/** The whole difference as operations (deletes, then replaces, then adds). */
export function routeDiff(desired: ReadonlyMap<string, RouteShape>, kernel: readonly Route[], protocol: number): RouteDiff {
  const st = kernelState((k) => desired.get(k), desired.keys(), kernel, protocol);
  const ops: RouteOp[] = [];
  for (const [key, ours] of st.dirty) {
    const op = routeOp(key, desired.get(key), ours, protocol);
    if (op) ops.push(op);
  }
  const rank = { delete: 0, replace: 1, add: 2 } as const;
  ops.sort((a, b) => rank[a.op] - rank[b.op]);
  return { ops, converged: st.converged };
}
