// What the rest of the agent asks for (DesiredRoute, plain data) and the normal form
// the reconciler compares with the kernel: defaults filled in the way the kernel
// fills them, so a converged route never looks different and is never re-sent.

import { parseCidr, parseIP } from '../../api/net.js';
import { ValidationError } from '../../errors.js';
import { ipv4ToU32, type RouteSpecType } from '../../native/route-records.js';

export interface DesiredNexthop {
  gateway?: string;
  device?: string;
  onlink?: boolean;
  /** 1..256, default 1. */
  weight?: number;
  /** IPv4 route realm 1..65535 (RTA_FLOW): tells the eBPF encap which next hop was taken. */
  realm?: number;
}

export interface DesiredRoute {
  /** Network in CIDR form, without host bits. */
  dst: string;
  /** Default unicast. */
  type?: RouteSpecType;
  gateway?: string;
  device?: string;
  onlink?: boolean;
  /** Two or more for ECMP; one is the same as gateway/device. */
  nexthops?: DesiredNexthop[];
  mtu?: number;
  metric?: number;
  /** Default 254 (main). */
  table?: number;
  prefsrc?: string;
  /** IPv4 route realm 1..65535 of a single-path route (ECMP: per next hop). */
  realm?: number;
}

export interface NormalNexthop {
  gateway?: string;
  device?: string;
  onlink: boolean;
  weight: number;
  /** Absent for 0. */
  realm?: number;
}

/**
 * Everything about a normalised route but its prefix. Many routes share one (routes via
 * the same next hop): the reconciler keeps one interned object per distinct shape, so
 * comparing two is comparing references.
 */
export interface RouteShape {
  family: 4 | 6;
  table: number;
  metric: number;
  type: RouteSpecType;
  /** IPv4 only (the kernel reports IPv6 routes as universe): link for a device route. */
  scope: number;
  gateway?: string;
  device?: string;
  onlink: boolean;
  /** Present only for two or more next hops, sorted. */
  nexthops?: NormalNexthop[];
  mtu?: number;
  prefsrc?: string;
  realm?: number;
}

export interface NormalRoute extends RouteShape {
  /** Identity in the kernel: table, prefix and metric (the metric is part of the FIB key); see routeKey. */
  key: string;
  dst: string;
}

const TYPES: ReadonlySet<string> = new Set(['unicast', 'blackhole', 'unreachable', 'prohibit', 'throw']);
const IFNAME = /^[^\s/:]{1,15}$/;
export const SCOPE = { universe: 0, link: 253 } as const;

/** The metric the kernel stores when none (or, for IPv6, zero) is given. */
export function defaultMetric(family: 4 | 6, metric: number | undefined): number {
  if (family === 6) return metric ? metric : 1024;
  return metric ?? 0;
}

/**
 * A route's identity as one string: the prefix itself in the main table with the default
 * metric (nearly every route; no string is built), else `TABLE DST METRIC`.
 */
export function routeKey(table: number, dst: string, metric: number): string {
  if (table === 254 && metric === defaultMetric(dst.includes(':') ? 6 : 4, undefined)) return dst;
  return `${table} ${dst} ${metric}`;
}

/** The parts of a routeKey. */
export function parseRouteKey(key: string): { table: number; dst: string; metric: number } {
  const sp = key.indexOf(' ');
  if (sp < 0) return { table: 254, dst: key, metric: defaultMetric(key.includes(':') ? 6 : 4, undefined) };
  const sp2 = key.indexOf(' ', sp + 1);
  return { table: Number(key.slice(0, sp)), dst: key.slice(sp + 1, sp2), metric: Number(key.slice(sp2 + 1)) };
}

/** Canonical network text of a CIDR (IPv4 fast path, ip-address otherwise); undefined if invalid or host bits are set. */
export function canonicalNetwork(text: string): { family: 4 | 6; dst: string } | undefined {
  const slash = text.indexOf('/');
  if (slash > 0 && !text.includes(':')) {
    const v = ipv4ToU32(text.slice(0, slash));
    const lenText = text.slice(slash + 1);
    const len = /^\d{1,2}$/.test(lenText) ? Number(lenText) : 99;
    if (v < 0 || len > 32) return undefined;
    const hostBits = len === 0 ? v : v % 2 ** (32 - len);
    if (hostBits !== 0) return undefined;
    // The caller's string when it is already canonical: a prefix is stored once, shared with the RIB.
    return { family: 4, dst: lenText === String(len) ? text : `${text.slice(0, slash)}/${len}` };
  }
  const c = parseCidr(text);
  return c && c.masked ? { family: c.family, dst: c.network } : undefined;
}

/** Canonical address text (as inet_ntop prints it for ordinary addresses). */
export function canonicalAddress(text: string, family: 4 | 6): string | undefined {
  if (family === 4) return ipv4ToU32(text) >= 0 ? text : undefined;
  const ip = parseIP(text);
  return ip && ip.family === 6 ? ip.address : undefined;
}

function fail(message: string): never {
  throw new ValidationError('', message);
}

function optInt(name: string, v: unknown, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(`${name} must be an integer from ${min} to ${max}`);
  return v;
}

function optDevice(name: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !IFNAME.test(v)) fail(`${name} must be an interface name`);
  return v;
}

function optAddress(name: string, v: unknown, family: 4 | 6): string | undefined {
  if (v === undefined) return undefined;
  const a = typeof v === 'string' ? canonicalAddress(v, family) : undefined;
  return a ?? fail(`${name} must be an IPv${family} address`);
}

function normaliseNexthop(h: DesiredNexthop, i: number, family: 4 | 6): NormalNexthop {
  const out: NormalNexthop = {
    onlink: h.onlink === true,
    weight: optInt(`nexthops[${i}].weight`, h.weight, 1, 256) ?? 1,
  };
  const gateway = optAddress(`nexthops[${i}].gateway`, h.gateway, family);
  const device = optDevice(`nexthops[${i}].device`, h.device);
  if (gateway === undefined && device === undefined) fail(`nexthops[${i}] needs a gateway or a device`);
  if (gateway !== undefined) out.gateway = gateway;
  if (device !== undefined) out.device = device;
  const realm = optRealm(`nexthops[${i}].realm`, h.realm, family);
  if (realm) out.realm = realm;
  return out;
}

function optRealm(name: string, v: unknown, family: 4 | 6): number | undefined {
  const realm = optInt(name, v, 0, 0xffff);
  if (realm && family !== 4) fail(`${name}: realms are IPv4 only`);
  return realm;
}

export function compareNexthops(a: NormalNexthop, b: NormalNexthop): number {
  const ka = `${a.gateway ?? ''} ${a.device ?? ''} ${a.realm ?? 0}`;
  const kb = `${b.gateway ?? ''} ${b.device ?? ''} ${b.realm ?? 0}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Validates and fills defaults; throws Error with a message naming the field. */
export function normaliseDesiredRoute(r: DesiredRoute): NormalRoute {
  if (typeof r !== 'object' || r === null) fail('must be an object');
  const net = typeof r.dst === 'string' ? canonicalNetwork(r.dst) : undefined;
  if (!net) fail('dst must be a CIDR without host bits');
  const { family, dst } = net;
  const type = r.type ?? 'unicast';
  if (!TYPES.has(type)) fail(`type must be one of ${[...TYPES].join(', ')}`);
  const table = optInt('table', r.table, 1, 0xffffffff) ?? 254;
  const metric = defaultMetric(family, optInt('metric', r.metric, 0, 0xffffffff));
  const out: NormalRoute = { key: routeKey(table, dst, metric), family, dst, table, metric, type, scope: SCOPE.universe, onlink: false };
  const mtu = optInt('mtu', r.mtu, 68, 65535);
  if (mtu !== undefined) out.mtu = mtu;
  const prefsrc = optAddress('prefsrc', r.prefsrc, family);
  if (prefsrc !== undefined) out.prefsrc = prefsrc;
  const forwards = r.gateway !== undefined || r.device !== undefined || r.nexthops !== undefined;
  if (type !== 'unicast') {
    if (forwards || r.onlink) fail(`a ${type} route has no gateway, device, onlink or next hops`);
    return out;
  }
  let hops = r.nexthops?.map((h, i) => normaliseNexthop(h, i, family));
  if (hops !== undefined) {
    if (r.gateway !== undefined || r.device !== undefined || r.onlink) fail('give nexthops or gateway/device/onlink, not both');
    if (hops.length === 0 || hops.length > 128) fail('nexthops must hold 1 to 128 next hops');
    if (hops.length === 1) {
      // The kernel stores a single next hop as a plain route (and forgets its weight).
      const [h] = hops;
      hops = undefined;
      if (h!.gateway !== undefined) out.gateway = h!.gateway;
      if (h!.device !== undefined) out.device = h!.device;
      if (h!.realm !== undefined) out.realm = h!.realm;
      out.onlink = h!.onlink;
    } else {
      out.nexthops = hops.sort(compareNexthops);
    }
  } else {
    const gateway = optAddress('gateway', r.gateway, family);
    const device = optDevice('device', r.device);
    if (gateway === undefined && device === undefined) fail('a unicast route needs a gateway, a device or next hops');
    if (gateway !== undefined) out.gateway = gateway;
    if (device !== undefined) out.device = device;
    out.onlink = r.onlink === true;
  }
  if (r.realm !== undefined) {
    if (r.nexthops !== undefined) fail('give the realm per next hop when there are next hops');
    const realm = optRealm('realm', r.realm, family);
    if (realm) out.realm = realm;
  }
  if (out.onlink && out.gateway === undefined) fail('onlink needs a gateway');
  if (family === 4 && out.gateway === undefined && out.nexthops === undefined) out.scope = SCOPE.link;
  return out;
}

function shapeKey(s: RouteShape): string {
  const hops = s.nexthops?.map((h) => `${h.gateway ?? ''}/${h.device ?? ''}/${h.onlink ? 1 : 0}/${h.weight}/${h.realm ?? 0}`).join(',') ?? '';
  return `${s.family}|${s.table}|${s.metric}|${s.type}|${s.scope}|${s.gateway ?? ''}|${s.device ?? ''}|${s.onlink ? 1 : 0}|${s.mtu ?? ''}|${s.prefsrc ?? ''}|${s.realm ?? 0}|${hops}`;
}

/** One frozen object per distinct shape, so equal shapes are the same reference. */
export class ShapeInterner {
  private readonly byKey = new Map<string, RouteShape>();

  intern(r: RouteShape): RouteShape {
    const k = shapeKey(r);
    let s = this.byKey.get(k);
    if (s === undefined) {
      const { key: _key, dst: _dst, ...shape } = r as NormalRoute;
      s = Object.freeze(shape) as RouteShape;
      this.byKey.set(k, s);
    }
    return s;
  }

  /** Forget shapes no route uses any more. */
  retain(inUse: ReadonlySet<RouteShape>): void {
    for (const [k, s] of this.byKey) if (!inUse.has(s)) this.byKey.delete(k);
  }

  get size(): number {
    return this.byKey.size;
  }
}
