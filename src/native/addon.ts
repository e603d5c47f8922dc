// The one module that loads the native addon. Everything else imports the typed
// functions below: arguments are validated here, the C++ side only copies them in,
// does the system calls off the main thread and hands back data or an errno.

import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BpfLoadError, NativeError, NetlinkError, ValidationError } from '../errors.js';
import { parseCidr, parseIP } from '../api/net.js';
import { encodeRouteOps, type EncodedRoutes, type RouteOp } from './route-records.js';

function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${start}`);
    dir = up;
  }
}

/** The package root, found from this file (works both from src/ and from dist/src/). */
export const packageRoot: string = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

/** Where `node-gyp rebuild --directory addon` puts the addon. */
export const addonPath: string = join(packageRoot, 'addon', 'build', 'Release', 'tabby_native.node');

// ---- what the .node exports (raw shapes, before validation and error mapping) ----

interface RawMapValue {
  value: Buffer;
  perCpu: boolean;
  cpus: number;
  valueSize: number;
  stride: number;
}

interface NativeBinding {
  routeDump(opts: { family: number; table?: number; protocol?: number; excludeProtocol?: number; netns?: string }): Promise<Route[]>;
  routeApply(records: Buffer, count: number, names: string[], opts: RawBatchOptions): Promise<RawBatch>;
  linkList(opts: { netns?: string }): Promise<Link[]>;
  vxlanCreate(opts: VxlanCreateOptions): Promise<void>;
  linkDelete(opts: { name: string; netns?: string }): Promise<void>;
  linkSet(opts: LinkSetOptions): Promise<void>;
  neighApply(ops: NeighbourOp[], opts: { netns?: string }): Promise<RawBatch>;
  neighList(opts: { family?: number; netns?: string }): Promise<Neighbour[]>;
  fdbApply(ops: FdbOp[], opts: { netns?: string }): Promise<RawBatch>;
  fdbList(opts: { netns?: string }): Promise<FdbEntry[]>;
  addrApply(ops: Array<{ op: string; ifname: string; address: string; prefixLength: number; nodad?: boolean }>, opts: { netns?: string }): Promise<RawBatch>;
  addrList(opts: { family?: number; netns?: string }): Promise<Address[]>;
  bpfObjectLoad(path: string, opts: { globals?: Record<string, BpfGlobalValue> }): Promise<number>;
  bpfObjectClose(handle: number): Promise<void>;
  tcAttach(opts: TcAttachOptions): Promise<TcFilter>;
  tcDetach(opts: { ifname: string; direction: TcDirection; netns?: string; priority: number; handle: number; progId?: number }): Promise<boolean>;
  tcQuery(opts: { ifname: string; direction: TcDirection; netns?: string; priority: number; handle: number; maps?: string[] }): Promise<TcQueryResult | null>;
  tcHookDestroy(opts: { ifname: string; netns?: string }): Promise<void>;
  mapLookup(handle: number, map: string, key: Buffer): Promise<RawMapValue | null>;
  mapUpdate(handle: number, map: string, key: Buffer, value: Buffer, flags: number): Promise<void>;
  mapDelete(handle: number, map: string, key: Buffer): Promise<boolean>;
  mapKeys(handle: number, map: string): Promise<Buffer[]>;
  // socket options: synchronous, they throw an Error with errno and op
  tcpSocket(family: number): number;
  bindAddress(fd: number, family: number, address: string, port: number): void;
  tcpMd5Set(fd: number, family: number, address: string, key: Buffer): void;
  ipMinTtlSet(fd: number, family: number, minTtl: number): void;
  ipTtlSet(fd: number, family: number, ttl: number): void;
  udpMinTtlFilter(fd: number, family: number, minTtl: number): void;
}

let binding: NativeBinding | undefined;

// Loaded on first use, so commands that never touch the kernel work without a build.
function native(): NativeBinding {
  if (binding) return binding;
  if (!existsSync(addonPath)) {
    throw new NativeError('addon-load', 0, `native addon is not built (${addonPath} is missing): run scripts/setup.sh`);
  }
  try {
    binding = createRequire(import.meta.url)(addonPath) as NativeBinding;
  } catch (err) {
    throw new NativeError('addon-load', 0, `cannot load ${addonPath}: ${(err as Error).message}; run scripts/setup.sh`);
  }
  return binding;
}

type NativeErrorClass = typeof NetlinkError | typeof BpfLoadError;

// Native rejections are plain Errors with `errno` and `op`; give them their Tabby class.
async function call<T>(cls: NativeErrorClass, fn: (n: NativeBinding) => Promise<T>): Promise<T> {
  const n = native();
  try {
    return await fn(n);
  } catch (err) {
    if (err instanceof Error) {
      const e = err as Error & { errno?: unknown; op?: unknown };
      if (typeof e.errno === 'number' && typeof e.op === 'string') throw new cls(e.op, e.errno, e.message);
    }
    throw err;
  }
}

// ---- validation ----

const NETNS_NAME = /^[A-Za-z0-9_.@:+-]{1,255}$/;
const IFNAME = /^[^\s/:]{1,15}$/;

function checkU32(path: string, v: unknown, max = 0xffffffff): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new ValidationError(path, `must be an integer from 0 to ${max}`);
  }
}

function checkNetns(v: unknown): void {
  if (v === undefined) return;
  if (typeof v !== 'string' || !NETNS_NAME.test(v) || v === '.' || v === '..') {
    throw new ValidationError('netns', 'must be the name of a namespace under /var/run/netns');
  }
}

function checkIfname(v: unknown): asserts v is string {
  if (typeof v !== 'string' || !IFNAME.test(v)) {
    throw new ValidationError('ifname', 'must be an interface name of 1 to 15 characters');
  }
}

function checkDirection(v: unknown): asserts v is TcDirection {
  if (v !== 'ingress' && v !== 'egress') throw new ValidationError('direction', 'must be "ingress" or "egress"');
}

function checkName(path: string, v: unknown): asserts v is string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 255) throw new ValidationError(path, 'must be a non-empty name');
}

function toBuffer(path: string, v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new ValidationError(path, 'must be a Buffer or Uint8Array');
}

function checkHandle(v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 0xffffffff) {
    throw new ValidationError('handle', 'must be a handle returned by bpfObjectLoad');
  }
}

// ---- routes ----

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
  /** rtm_protocol: 2 kernel, 3 boot, 4 static, or the agent's own number. */
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

// ---- netlink writes: routes, links, neighbours, FDB, addresses ----

/**
 * rtm_protocol of every route Tabby writes, so it finds its own routes again after a
 * restart and never touches anyone else's. 88 is free in iproute2's rt_protos (and
 * FRR's rt_protos.d) and differs from Calico's BIRD (12) and Felix (80).
 */
export const RTPROT_TABBY = 88;

export type { EncodedRoutes, RouteNexthopSpec, RouteOp, RouteOpKind, RouteSpec, RouteSpecType } from './route-records.js';
export { RouteRecordBatch } from './route-records.js';

/** Outcome of one request of a batch: one failure never fails the others. */
export type NetlinkResult = { ok: true } | { ok: false; errno: number; message: string };

export interface BatchOutcome {
  /** One per request, in request order. */
  results: NetlinkResult[];
  failed: number;
  /** sendto() calls made: requests travel many per call. */
  sends: number;
}

interface RawBatch {
  errnos: Int32Array;
  messages: Array<[number, string]>;
  sends: number;
}

interface RawBatchOptions {
  netns?: string;
  batchSize?: number;
  batchBytes?: number;
  rcvbuf?: number;
}

const OK_RESULT: NetlinkResult = Object.freeze({ ok: true as const });

function batchOutcome(raw: RawBatch): BatchOutcome {
  const text = new Map(raw.messages);
  const results = new Array<NetlinkResult>(raw.errnos.length);
  let failed = 0;
  for (let i = 0; i < raw.errnos.length; i++) {
    const errno = raw.errnos[i]!;
    if (errno === 0) {
      results[i] = OK_RESULT;
    } else {
      failed++;
      results[i] = { ok: false, errno, message: text.get(i) ?? `errno ${errno}` };
    }
  }
  return { results, failed, sends: raw.sends };
}

function netnsArg(netns: string | undefined): { netns?: string } {
  checkNetns(netns);
  return netns === undefined ? {} : { netns };
}

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

function checkMac(path: string, v: unknown): string {
  if (typeof v !== 'string' || !MAC.test(v)) throw new ValidationError(path, 'must be a MAC address such as 66:0a:0b:0c:0d:0e');
  return v.toLowerCase();
}

function checkIp(path: string, v: unknown): string {
  const ip = typeof v === 'string' ? parseIP(v) : undefined;
  if (!ip) throw new ValidationError(path, 'must be an IPv4 or IPv6 address');
  return ip.address;
}

function checkOp<T extends string>(path: string, v: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) throw new ValidationError(path, `must be one of ${allowed.join(', ')}`);
  return v as T;
}

// An optional integer: checked when present; undefined reaches C++ as "absent".
function optU32(path: string, v: number | undefined, max: number): number | undefined {
  if (v !== undefined) checkU32(path, v, max);
  return v;
}

function checkFamily(v: unknown): void {
  if (v !== undefined && v !== 4 && v !== 6) throw new ValidationError('family', 'must be 4 or 6');
}

export interface RouteApplyOptions {
  netns?: string;
  /** Requests per sendto() (default 256). */
  batchSize?: number;
  /** Bytes per sendto() (default 64 KiB). */
  batchBytes?: number;
  /** Socket receive buffer for the acks (default 8 MiB); a small one shows ENOBUFS handling. */
  rcvbuf?: number;
}

/**
 * Adds (NLM_F_EXCL), replaces or deletes routes in batches, each request acked on its
 * own. Routes default to table main, unicast, and protocol RTPROT_TABBY.
 */
export async function routeApply(ops: readonly RouteOp[], opts: RouteApplyOptions = {}): Promise<BatchOutcome> {
  return routeApplyEncoded(encodeRouteOps(ops, RTPROT_TABBY), opts);
}

/** routeApply for operations already encoded (encodeRouteOps, or a RouteRecordBatch for many alike). */
export async function routeApplyEncoded(encoded: EncodedRoutes, opts: RouteApplyOptions = {}): Promise<BatchOutcome> {
  const args: RawBatchOptions = netnsArg(opts.netns);
  args.batchSize = optU32('batchSize', opts.batchSize, 4096);
  args.batchBytes = optU32('batchBytes', opts.batchBytes, 4 << 20);
  args.rcvbuf = optU32('rcvbuf', opts.rcvbuf, 1 << 30);
  const { buf, count, names } = encoded;
  if (count === 0) return { results: [], failed: 0, sends: 0 };
  return batchOutcome(await call(NetlinkError, (n) => n.routeApply(buf, count, names, args)));
}

// ---- links ----

export interface VxlanInfo {
  vni?: number;
  port: number;
  local?: string;
  parent?: string;
  parentIndex?: number;
  learning: boolean;
  /** Collect-metadata ("external") mode. */
  external: boolean;
}

export interface Link {
  index: number;
  name: string;
  /** From the ARPHRD type: ether, loopback, none, ipip, tunnel6, sit or other. */
  type: string;
  /** rtnetlink kind (veth, vxlan, bridge…), absent for physical devices and lo. */
  kind?: string;
  mtu: number;
  mac?: string;
  up: boolean;
  lowerUp: boolean;
  master?: number;
  masterName?: string;
  vxlan?: VxlanInfo;
}

export async function linkList(opts: { netns?: string } = {}): Promise<Link[]> {
  const args = netnsArg(opts.netns);
  return call(NetlinkError, (n) => n.linkList(args));
}

export interface VxlanCreateOptions {
  name: string;
  /** Required unless `external`. Calico uses 4096. */
  vni?: number;
  /** UDP destination port, default 4789. */
  port?: number;
  /** Source address of the tunnel. */
  local?: string;
  /** Underlay device (ifname). */
  parent?: string;
  /** Learning of remote MACs from traffic; default false (entries are programmed). */
  learning?: boolean;
  external?: boolean;
  mtu?: number;
  mac?: string;
  /** Bring the device up on creation. */
  up?: boolean;
  netns?: string;
}

export async function vxlanCreate(opts: VxlanCreateOptions): Promise<void> {
  checkIfname(opts.name);
  const args: VxlanCreateOptions = { name: opts.name, ...netnsArg(opts.netns) };
  if (opts.external) {
    if (opts.vni !== undefined) throw new ValidationError('vni', 'must be absent in external (collect metadata) mode');
    args.external = true;
  } else {
    checkU32('vni', opts.vni, 0xffffff);
    args.vni = opts.vni;
  }
  args.port = optU32('port', opts.port, 0xffff);
  if (opts.local !== undefined) args.local = checkIp('local', opts.local);
  if (opts.parent !== undefined) {
    checkIfname(opts.parent);
    args.parent = opts.parent;
  }
  if (opts.learning !== undefined) args.learning = opts.learning === true;
  args.mtu = optU32('mtu', opts.mtu, 65535);
  if (opts.mac !== undefined) args.mac = checkMac('mac', opts.mac);
  if (opts.up !== undefined) args.up = opts.up === true;
  return call(NetlinkError, (n) => n.vxlanCreate(args));
}

export async function linkDelete(opts: { name: string; netns?: string }): Promise<void> {
  checkIfname(opts.name);
  const args = { name: opts.name, ...netnsArg(opts.netns) };
  return call(NetlinkError, (n) => n.linkDelete(args));
}

export interface LinkSetOptions {
  name: string;
  up?: boolean;
  mtu?: number;
  mac?: string;
  netns?: string;
}

export async function linkSet(opts: LinkSetOptions): Promise<void> {
  checkIfname(opts.name);
  const args: LinkSetOptions = { name: opts.name, ...netnsArg(opts.netns) };
  if (opts.up !== undefined) args.up = opts.up === true;
  args.mtu = optU32('mtu', opts.mtu, 65535);
  if (opts.mac !== undefined) args.mac = checkMac('mac', opts.mac);
  return call(NetlinkError, (n) => n.linkSet(args));
}

// ---- neighbours and FDB (permanent entries) ----

export interface NeighbourOp {
  op: 'add' | 'replace' | 'delete';
  ifname: string;
  ip: string;
  /** Required unless deleting. */
  mac?: string;
}

export interface Neighbour {
  ifindex: number;
  ifname?: string;
  family: 4 | 6;
  ip: string;
  mac?: string;
  router: boolean;
  state: string;
  permanent: boolean;
}

/** Permanent ARP/ND entries, e.g. a remote VTEP's tunnel address to its MAC. */
export async function neighApply(ops: readonly NeighbourOp[], opts: { netns?: string } = {}): Promise<BatchOutcome> {
  const args = netnsArg(opts.netns);
  const raw = ops.map((o, i): NeighbourOp => {
    const op = checkOp(`ops[${i}].op`, o.op, ['add', 'replace', 'delete'] as const);
    checkIfname(o.ifname);
    const out: NeighbourOp = { op, ifname: o.ifname, ip: checkIp(`ops[${i}].ip`, o.ip) };
    if (o.mac !== undefined || op !== 'delete') out.mac = checkMac(`ops[${i}].mac`, o.mac);
    return out;
  });
  if (raw.length === 0) return { results: [], failed: 0, sends: 0 };
  return batchOutcome(await call(NetlinkError, (n) => n.neighApply(raw, args)));
}

export async function neighList(opts: { family?: 4 | 6; netns?: string } = {}): Promise<Neighbour[]> {
  checkFamily(opts.family);
  const args = { ...netnsArg(opts.netns), ...(opts.family ? { family: opts.family } : {}) };
  return call(NetlinkError, (n) => n.neighList(args));
}

export interface FdbOp {
  /** `append` adds another remote for the MAC (as `bridge fdb append`). */
  op: 'add' | 'append' | 'replace' | 'delete';
  /** The vxlan device; entries are made with NTF_SELF. */
  ifname: string;
  mac: string;
  /** Remote VTEP address. */
  dst?: string;
}

export interface FdbEntry {
  ifindex: number;
  ifname?: string;
  mac?: string;
  dst?: string;
  self: boolean;
  master?: number;
  vni?: number;
  port?: number;
  state: string;
  permanent: boolean;
}

/** Permanent FDB entries on a vxlan device: `bridge fdb … dst IP self permanent`. */
export async function fdbApply(ops: readonly FdbOp[], opts: { netns?: string } = {}): Promise<BatchOutcome> {
  const args = netnsArg(opts.netns);
  const raw = ops.map((o, i): FdbOp => {
    const op = checkOp(`ops[${i}].op`, o.op, ['add', 'append', 'replace', 'delete'] as const);
    checkIfname(o.ifname);
    const out: FdbOp = { op, ifname: o.ifname, mac: checkMac(`ops[${i}].mac`, o.mac) };
    if (o.dst !== undefined) out.dst = checkIp(`ops[${i}].dst`, o.dst);
    return out;
  });
  if (raw.length === 0) return { results: [], failed: 0, sends: 0 };
  return batchOutcome(await call(NetlinkError, (n) => n.fdbApply(raw, args)));
}

export async function fdbList(opts: { netns?: string } = {}): Promise<FdbEntry[]> {
  const args = netnsArg(opts.netns);
  return call(NetlinkError, (n) => n.fdbList(args));
}

// ---- addresses ----

export interface AddrOp {
  op: 'add' | 'replace' | 'delete';
  ifname: string;
  /** `address/length`, e.g. 10.0.0.1/24. */
  cidr: string;
  /** IPv6: skip duplicate address detection. */
  nodad?: boolean;
}

export interface Address {
  ifindex: number;
  ifname?: string;
  family: 4 | 6;
  address: string;
  prefixLength: number;
  cidr: string;
  scope: number;
  tentative: boolean;
}

export async function addrApply(ops: readonly AddrOp[], opts: { netns?: string } = {}): Promise<BatchOutcome> {
  const args = netnsArg(opts.netns);
  const raw = ops.map((o, i) => {
    const op = checkOp(`ops[${i}].op`, o.op, ['add', 'replace', 'delete'] as const);
    checkIfname(o.ifname);
    const c = typeof o.cidr === 'string' ? parseCidr(o.cidr) : undefined;
    if (!c) throw new ValidationError(`ops[${i}].cidr`, 'must be address/length');
    return { op, ifname: o.ifname, address: c.address, prefixLength: c.prefixLength, nodad: o.nodad === true };
  });
  if (raw.length === 0) return { results: [], failed: 0, sends: 0 };
  return batchOutcome(await call(NetlinkError, (n) => n.addrApply(raw, args)));
}

export async function addrList(opts: { family?: 4 | 6; netns?: string } = {}): Promise<Address[]> {
  checkFamily(opts.family);
  const args = { ...netnsArg(opts.netns), ...(opts.family ? { family: opts.family } : {}) };
  return call(NetlinkError, (n) => n.addrList(args));
}

// ---- BPF objects ----

/** A loaded BPF object, as a number the addon maps to its `bpf_object`. */
export type BpfObjectHandle = number;

/** Integers are written in host byte order at the variable's size; a Buffer must match it exactly. */
export type BpfGlobalValue = number | bigint | boolean | Buffer;

export interface BpfObjectLoadOptions {
  /** `const volatile` globals to set before load (they live in .rodata/.data/.bss). */
  globals?: Record<string, BpfGlobalValue>;
}

/** `bpf/build/NAME.bpf.o` under the package root. */
export function bpfObjectPath(name: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new ValidationError('name', 'must be a bare object name such as "counter"');
  return join(packageRoot, 'bpf', 'build', `${name}.bpf.o`);
}

/** Opens the object, sets its globals, loads it into the kernel. */
export async function bpfObjectLoad(path: string, opts: BpfObjectLoadOptions = {}): Promise<BpfObjectHandle> {
  checkName('path', path);
  const args: { globals?: Record<string, BpfGlobalValue> } = {};
  if (opts.globals !== undefined) {
    for (const [name, v] of Object.entries(opts.globals)) {
      const ok =
        typeof v === 'bigint' || typeof v === 'boolean' || Buffer.isBuffer(v) ||
        (typeof v === 'number' && Number.isSafeInteger(v));
      if (!ok) throw new ValidationError(`globals.${name}`, 'must be a safe integer, bigint, boolean or Buffer');
    }
    args.globals = { ...opts.globals };
  }
  return call(BpfLoadError, (n) => n.bpfObjectLoad(path, args));
}

/** Frees the object; programs already attached to tc stay attached. */
export async function bpfObjectClose(handle: BpfObjectHandle): Promise<void> {
  checkHandle(handle);
  return call(BpfLoadError, (n) => n.bpfObjectClose(handle));
}

// ---- tc ----

export type TcDirection = 'ingress' | 'egress';

export interface TcFilter {
  ifindex: number;
  priority: number;
  /** The filter's handle (not the object's). */
  handle: number;
  /** Kernel id of the program now in the filter. */
  progId: number;
}

export interface TcAttachOptions {
  handle: BpfObjectHandle;
  program: string;
  ifname: string;
  direction: TcDirection;
  netns?: string;
  /** 1..65535; 0 or absent lets the kernel pick. */
  priority?: number;
  filterHandle?: number;
  /**
   * Swap the program of an existing filter at priority:filterHandle in one step
   * (BPF_TC_F_REPLACE), or create it. Needs both set, so there is never a duplicate.
   */
  replace?: boolean;
}

/** Creates the clsact qdisc if needed and attaches the named program as a direct-action filter. */
export async function tcAttach(opts: TcAttachOptions): Promise<TcFilter> {
  checkHandle(opts.handle);
  checkName('program', opts.program);
  checkIfname(opts.ifname);
  checkDirection(opts.direction);
  checkNetns(opts.netns);
  const args: Parameters<NativeBinding['tcAttach']>[0] = {
    handle: opts.handle, program: opts.program, ifname: opts.ifname, direction: opts.direction,
  };
  if (opts.priority !== undefined) {
    checkU32('priority', opts.priority, 0xffff);
    args.priority = opts.priority;
  }
  if (opts.filterHandle !== undefined) {
    checkU32('filterHandle', opts.filterHandle);
    args.filterHandle = opts.filterHandle;
  }
  if (opts.replace) {
    if (!opts.priority || !opts.filterHandle) throw new ValidationError('replace', 'needs a non-zero priority and filterHandle');
    args.replace = true;
  }
  if (opts.netns !== undefined) args.netns = opts.netns;
  return call(NetlinkError, (n) => n.tcAttach(args));
}

export interface TcDetachOptions {
  ifname: string;
  direction: TcDirection;
  netns?: string;
  priority: number;
  handle: number;
  /** Only if the filter still runs this program (tcAttach's progId): a successor's stays. */
  progId?: number;
}

/**
 * Removes one filter, named by the priority and handle tcAttach returned. False when
 * `progId` was given and another program has taken the filter over (it stays).
 */
export async function tcDetach(opts: TcDetachOptions): Promise<boolean> {
  checkIfname(opts.ifname);
  checkDirection(opts.direction);
  checkNetns(opts.netns);
  // Both name the filter; zero would make the kernel match any filter.
  if (opts.priority === 0) throw new ValidationError('priority', 'must be the non-zero priority tcAttach returned');
  if (opts.handle === 0) throw new ValidationError('handle', 'must be the non-zero handle tcAttach returned');
  checkU32('priority', opts.priority, 0xffff);
  checkU32('handle', opts.handle);
  const args: TcDetachOptions = { ifname: opts.ifname, direction: opts.direction, priority: opts.priority, handle: opts.handle };
  if (opts.progId !== undefined) {
    checkU32('progId', opts.progId);
    args.progId = opts.progId;
  }
  if (opts.netns !== undefined) args.netns = opts.netns;
  return call(NetlinkError, (n) => n.tcDetach(args));
}

export interface TcQueryOptions {
  ifname: string;
  direction: TcDirection;
  netns?: string;
  priority: number;
  handle: number;
  /** Maps of the filter's program to read whole (per-CPU maps come back empty). */
  maps?: string[];
}

export interface TcQueryResult {
  progId: number;
  progName: string;
  /** Entries of each requested map the program uses, by map name. */
  maps: Record<string, Array<{ key: Buffer; value: Buffer }>>;
}

/**
 * The program in the filter at priority:handle, and the contents of the named maps it
 * uses (e.g. what a previous agent left behind), or null when there is no such filter.
 */
export async function tcQuery(opts: TcQueryOptions): Promise<TcQueryResult | null> {
  checkIfname(opts.ifname);
  checkDirection(opts.direction);
  checkNetns(opts.netns);
  checkU32('priority', opts.priority, 0xffff);
  checkU32('handle', opts.handle);
  if (opts.priority === 0 || opts.handle === 0) throw new ValidationError('priority', 'priority and handle must be non-zero');
  const args: Parameters<NativeBinding['tcQuery']>[0] = {
    ifname: opts.ifname, direction: opts.direction, priority: opts.priority, handle: opts.handle,
  };
  if (opts.maps !== undefined) {
    opts.maps.forEach((m, i) => checkName(`maps[${i}]`, m));
    args.maps = [...opts.maps];
  }
  if (opts.netns !== undefined) args.netns = opts.netns;
  return call(NetlinkError, (n) => n.tcQuery(args));
}

/** Deletes the interface's clsact qdisc and with it every tc filter on both directions. */
export async function tcHookDestroy(opts: { ifname: string; netns?: string }): Promise<void> {
  checkIfname(opts.ifname);
  checkNetns(opts.netns);
  const args: { ifname: string; netns?: string } = { ifname: opts.ifname };
  if (opts.netns !== undefined) args.netns = opts.netns;
  return call(NetlinkError, (n) => n.tcHookDestroy(args));
}

// ---- maps ----

export interface MapValue {
  /** Per-CPU maps: one slot of `stride` bytes per possible CPU, concatenated. */
  value: Buffer;
  perCpu: boolean;
  /** Possible CPUs for per-CPU maps, 1 otherwise. */
  cpus: number;
  /** The map's value size in bytes. */
  valueSize: number;
  /** valueSize rounded up to 8 for per-CPU maps, valueSize otherwise. */
  stride: number;
}

/** The value of each CPU (a single entry for ordinary maps), each `valueSize` bytes. */
export function perCpuValues(v: MapValue): Buffer[] {
  const out: Buffer[] = [];
  for (let cpu = 0; cpu < v.cpus; cpu++) out.push(v.value.subarray(cpu * v.stride, cpu * v.stride + v.valueSize));
  return out;
}

/** Null when the key is absent. */
export async function mapLookup(handle: BpfObjectHandle, map: string, key: Buffer | Uint8Array): Promise<MapValue | null> {
  checkHandle(handle);
  checkName('map', map);
  const k = toBuffer('key', key);
  return call(BpfLoadError, (n) => n.mapLookup(handle, map, k));
}

export const MAP_UPDATE_FLAGS = { any: 0, noexist: 1, exist: 2 } as const;
export type MapUpdateFlag = keyof typeof MAP_UPDATE_FLAGS;

/** For per-CPU maps `value` holds every CPU's slot (cpus × stride bytes, as mapLookup returns). */
export async function mapUpdate(
  handle: BpfObjectHandle, map: string, key: Buffer | Uint8Array, value: Buffer | Uint8Array, flag: MapUpdateFlag = 'any',
): Promise<void> {
  checkHandle(handle);
  checkName('map', map);
  const k = toBuffer('key', key);
  const v = toBuffer('value', value);
  if (!(flag in MAP_UPDATE_FLAGS)) throw new ValidationError('flag', 'must be "any", "noexist" or "exist"');
  return call(BpfLoadError, (n) => n.mapUpdate(handle, map, k, v, MAP_UPDATE_FLAGS[flag]));
}

/** Every key of the map (bpf_map_get_next_key, off the main thread). */
export async function mapKeys(handle: BpfObjectHandle, map: string): Promise<Buffer[]> {
  checkHandle(handle);
  checkName('map', map);
  return call(BpfLoadError, (n) => n.mapKeys(handle, map));
}

/** True if the key was there and is now gone, false if it was absent. */
export async function mapDelete(handle: BpfObjectHandle, map: string, key: Buffer | Uint8Array): Promise<boolean> {
  checkHandle(handle);
  checkName('map', map);
  const k = toBuffer('key', key);
  return call(BpfLoadError, (n) => n.mapDelete(handle, map, k));
}

// ---- socket options (TCP MD5, GTSM/TTL; used by the BGP session) ----
// Single setsockopt calls, so these are synchronous; failures throw NativeError with
// errno and op. `family` is the family of the peer address (an IPv4 peer on a
// dual-stack AF_INET6 socket is family 4 for TTL options; tcpMd5Set maps it itself).

/** RFC 2385 keys are at most 80 octets (TCP_MD5SIG_MAXKEYLEN); Calico documents the same limit. */
export const TCP_MD5_MAX_KEY_LENGTH = 80;

export type SocketFamily = 4 | 6;

function callSync<T>(fn: (n: NativeBinding) => T): T {
  const n = native();
  try {
    return fn(n);
  } catch (err) {
    const e = err as Error & { errno?: unknown; op?: unknown };
    if (err instanceof Error && typeof e.errno === 'number' && typeof e.op === 'string') throw new NativeError(e.op, e.errno, e.message);
    throw err;
  }
}

function checkSocketFamily(v: unknown): asserts v is SocketFamily {
  if (v !== 4 && v !== 6) throw new ValidationError('family', 'must be 4 or 6');
}

function checkFd(v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new ValidationError('fd', 'must be a file descriptor');
}

/** A new non-blocking TCP socket, so options can be set before connect(); wrap it with `new net.Socket({fd})`. */
export function tcpSocket(family: SocketFamily): number {
  checkSocketFamily(family);
  return callSync((n) => n.tcpSocket(family));
}

/** bind() to a local address (an IPv4 address on a family-6 socket is bound v4-mapped). */
export function bindAddress(fd: number, family: SocketFamily, address: string, port = 0): void {
  checkFd(fd);
  checkSocketFamily(family);
  const a = checkIp('address', address);
  checkU32('port', port, 0xffff);
  callSync((n) => n.bindAddress(fd, family, a, port));
}

/**
 * Sets (or with an empty key removes) the TCP MD5 key for one peer address, on a
 * listening socket (inherited by accepted connections) or on a socket before connect.
 * `family` is the socket's own family. Removing a key that is not set is not an error.
 */
export function tcpMd5Set(fd: number, family: SocketFamily, peerAddress: string, key: string | Buffer): void {
  checkFd(fd);
  checkSocketFamily(family);
  const a = checkIp('peerAddress', peerAddress);
  if (family === 4 && !a.includes('.')) throw new ValidationError('peerAddress', 'an IPv6 peer needs a family 6 socket');
  const k = typeof key === 'string' ? Buffer.from(key, 'utf8') : toBuffer('key', key);
  if (k.length > TCP_MD5_MAX_KEY_LENGTH) throw new ValidationError('key', `must be at most ${TCP_MD5_MAX_KEY_LENGTH} octets`);
  try {
    callSync((n) => n.tcpMd5Set(fd, family, a, k));
  } catch (err) {
    if (k.length === 0 && err instanceof NativeError && err.errno === constants.errno.ENOENT) return;
    throw err;
  }
}

/** GTSM (RFC 5082): drop segments that arrive with a TTL / hop limit below `minTtl` (0 turns it off). */
export function ipMinTtlSet(fd: number, family: SocketFamily, minTtl: number): void {
  checkFd(fd);
  checkSocketFamily(family);
  checkU32('minTtl', minTtl, 255);
  callSync((n) => n.ipMinTtlSet(fd, family, minTtl));
}

/** The TTL / unicast hop limit of segments sent (GTSM peers expect 255). */
export function ipTtlSet(fd: number, family: SocketFamily, ttl: number): void {
  checkFd(fd);
  checkSocketFamily(family);
  checkU32('ttl', ttl, 255);
  if (ttl === 0) throw new ValidationError('ttl', 'must be from 1 to 255');
  callSync((n) => n.ipTtlSet(fd, family, ttl));
}

/**
 * Drops datagrams arriving on a UDP socket with a TTL / hop limit below `minTtl`, by a
 * socket filter (Linux honours IP_MINTTL for TCP only). `family` is the socket's own;
 * an IPv6 socket must be IPv6-only, as the filter reads an IPv6 header.
 */
export function udpMinTtlFilter(fd: number, family: SocketFamily, minTtl: number): void {
  checkFd(fd);
  checkSocketFamily(family);
  checkU32('minTtl', minTtl, 255);
  callSync((n) => n.udpMinTtlFilter(fd, family, minTtl));
}
