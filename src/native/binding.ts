// The one file that loads the addon's .node (serialport's serialport-bindings.ts is the
// model). The typed modules beside it validate arguments and call through `call` and
// `callSync`, which give native failures their Tabby error class. Nothing here knows
// what the caller uses the kernel for.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BpfLoadError, NativeError, NetlinkError } from '../errors.js';
import type { Address } from './addresses.js';
import type { RawBatch, RawBatchOptions } from './batch.js';
import type { BpfGlobalValue } from './bpf-objects.js';
import type { MapValue } from './bpf-maps.js';
import type { Link, LinkSetOptions, VethCreateOptions, VxlanCreateOptions } from './links.js';
import type { FdbEntry, FdbOp, Neighbour, NeighbourOp } from './neighbours.js';
import type { Route } from './routes.js';
import type { TcAttachOptions, TcDetachOptions, TcFilter, TcQueryOptions, TcQueryResult } from './tc.js';

/** What the .node exports: raw shapes, before validation and error mapping. */
export interface NativeBinding {
  routeDump(opts: { family: number; table?: number; protocol?: number; excludeProtocol?: number; netns?: string }): Promise<Route[]>;
  routeApply(records: Buffer, count: number, names: string[], opts: RawBatchOptions): Promise<RawBatch>;
  routeWatch(onChange: () => void, skipProtocol: number): { stop(): void };
  linkList(opts: { netns?: string }): Promise<Link[]>;
  vxlanCreate(opts: VxlanCreateOptions): Promise<void>;
  vethCreate(opts: VethCreateOptions): Promise<void>;
  sysctlWrite(opts: { netns?: string; entries: [string, string][] }): Promise<void>;
  linkDelete(opts: { name: string; netns?: string }): Promise<void>;
  linkSet(opts: LinkSetOptions): Promise<void>;
  neighApply(ops: NeighbourOp[], opts: { netns?: string }): Promise<RawBatch>;
  neighList(opts: { family?: number; netns?: string }): Promise<Neighbour[]>;
  fdbApply(ops: FdbOp[], opts: { netns?: string }): Promise<RawBatch>;
  fdbList(opts: { netns?: string }): Promise<FdbEntry[]>;
  addrApply(ops: Array<{ op: string; ifname: string; address: string; prefixLength: number; nodad?: boolean }>, opts: { netns?: string }): Promise<RawBatch>;
  addrList(opts: { family?: number; netns?: string }): Promise<Address[]>;
  bpfObjectLoad(path: string, opts: { globals?: Record<string, BpfGlobalValue>; pinDir?: string }): Promise<number>;
  bpfObjectClose(handle: number): Promise<void>;
  bpfObjectPinPrograms(handle: number, dir: string): Promise<void>;
  bpfProgTestRun(handle: number, program: string, data: Buffer): Promise<{ retval: number; data: Buffer }>;
  tcAttach(opts: TcAttachOptions): Promise<TcFilter>;
  tcDetach(opts: TcDetachOptions): Promise<boolean>;
  tcQuery(opts: TcQueryOptions): Promise<TcQueryResult | null>;
  tcHookDestroy(opts: { ifname: string; netns?: string }): Promise<void>;
  mapLookup(handle: number, map: string, key: Buffer): Promise<MapValue | null>;
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
  socketFilterSet(fd: number, program: Buffer): void;
}

// node-gyp puts the addon under the package root, which works from src/ and dist/src/.
function findAddon(): string {
  const rel = join('addon', 'build', 'Release', 'tabby_native.node');
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, rel);
    const up = dirname(dir);
    if (up === dir) return rel;
    dir = up;
  }
}

let binding: NativeBinding | undefined;

// Loaded on first use, so commands that never touch the kernel work without a build.
export function native(): NativeBinding {
  if (binding) return binding;
  const path = findAddon();
  if (!existsSync(path)) {
    throw new NativeError('addon-load', 0, `native addon is not built (${path} is missing): run scripts/setup.sh`);
  }
  try {
    binding = createRequire(import.meta.url)(path) as NativeBinding;
  } catch (err) {
    throw new NativeError('addon-load', 0, `cannot load ${path}: ${(err as Error).message}; run scripts/setup.sh`, { cause: err });
  }
  return binding;
}

type NativeErrorClass = typeof NativeError | typeof NetlinkError | typeof BpfLoadError;

// Native failures are plain Errors with `errno` and `op`; give them their Tabby class.
function mapError(cls: NativeErrorClass, err: unknown): unknown {
  const e = err as Error & { errno?: unknown; op?: unknown };
  if (err instanceof Error && typeof e.errno === 'number' && typeof e.op === 'string') return new cls(e.op, e.errno, e.message);
  return err;
}

export async function call<T>(cls: NativeErrorClass, fn: (n: NativeBinding) => Promise<T>): Promise<T> {
  const n = native();
  try {
    return await fn(n);
  } catch (err) {
    throw mapError(cls, err);
  }
}

/** For the synchronous socket options: failures become NativeError. */
export function callSync<T>(fn: (n: NativeBinding) => T): T {
  const n = native();
  try {
    return fn(n);
  } catch (err) {
    throw mapError(NativeError, err);
  }
}
