// The one module that loads the native addon. Everything else imports the typed
// functions below: arguments are validated here, the C++ side only copies them in,
// does the system calls off the main thread and hands back data or an errno.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BpfLoadError, NativeError, NetlinkError, ValidationError } from '../errors.js';

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
  routeDump(opts: { family: number; table?: number; protocol?: number; netns?: string }): Promise<Route[]>;
  bpfObjectLoad(path: string, opts: { globals?: Record<string, BpfGlobalValue> }): Promise<number>;
  bpfObjectClose(handle: number): Promise<void>;
  tcAttach(opts: TcAttachOptions): Promise<TcFilter>;
  tcDetach(opts: { ifname: string; direction: TcDirection; netns?: string; priority: number; handle: number }): Promise<void>;
  tcHookDestroy(opts: { ifname: string; netns?: string }): Promise<void>;
  mapLookup(handle: number, map: string, key: Buffer): Promise<RawMapValue | null>;
  mapUpdate(handle: number, map: string, key: Buffer, value: Buffer, flags: number): Promise<void>;
  mapDelete(handle: number, map: string, key: Buffer): Promise<boolean>;
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
  prefsrc?: string;
  onlink: boolean;
  /** Present for multipath (ECMP) routes instead of gateway/oif. */
  nexthops?: RouteNexthop[];
}

export interface RouteDumpOptions {
  /** 4, 6, or 0 for both (the default). */
  family?: 0 | 4 | 6;
  table?: number;
  protocol?: number;
  netns?: string;
}

/** All routes of the namespace, filtered by family, table and protocol. */
export async function routeDump(opts: RouteDumpOptions = {}): Promise<Route[]> {
  const family = opts.family ?? 0;
  if (family !== 0 && family !== 4 && family !== 6) throw new ValidationError('family', 'must be 0, 4 or 6');
  if (opts.table !== undefined) checkU32('table', opts.table);
  if (opts.protocol !== undefined) checkU32('protocol', opts.protocol, 255);
  checkNetns(opts.netns);
  const args: { family: number; table?: number; protocol?: number; netns?: string } = { family };
  if (opts.table !== undefined) args.table = opts.table;
  if (opts.protocol !== undefined) args.protocol = opts.protocol;
  if (opts.netns !== undefined) args.netns = opts.netns;
  return call(NetlinkError, (n) => n.routeDump(args));
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
  if (opts.netns !== undefined) args.netns = opts.netns;
  return call(NetlinkError, (n) => n.tcAttach(args));
}

export interface TcDetachOptions {
  ifname: string;
  direction: TcDirection;
  netns?: string;
  priority: number;
  handle: number;
}

/** Removes one filter, named by the priority and handle tcAttach returned. */
export async function tcDetach(opts: TcDetachOptions): Promise<void> {
  checkIfname(opts.ifname);
  checkDirection(opts.direction);
  checkNetns(opts.netns);
  // Both name the filter; zero would make the kernel match any filter.
  if (opts.priority === 0) throw new ValidationError('priority', 'must be the non-zero priority tcAttach returned');
  if (opts.handle === 0) throw new ValidationError('handle', 'must be the non-zero handle tcAttach returned');
  checkU32('priority', opts.priority, 0xffff);
  checkU32('handle', opts.handle);
  const args: TcDetachOptions = { ifname: opts.ifname, direction: opts.direction, priority: opts.priority, handle: opts.handle };
  if (opts.netns !== undefined) args.netns = opts.netns;
  return call(NetlinkError, (n) => n.tcDetach(args));
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

/** True if the key was there and is now gone, false if it was absent. */
export async function mapDelete(handle: BpfObjectHandle, map: string, key: Buffer | Uint8Array): Promise<boolean> {
  checkHandle(handle);
  checkName('map', map);
  const k = toBuffer('key', key);
  return call(BpfLoadError, (n) => n.mapDelete(handle, map, k));
}
