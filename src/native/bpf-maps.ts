// Map operations on a loaded object's maps, by map name. Keys and values are raw bytes:
// their layout belongs to the program that defines the map, not to this module.

import { BpfLoadError, ValidationError } from '../errors.js';
import { call } from './binding.js';
import { checkHandle, type BpfObjectHandle } from './bpf-objects.js';
import { checkName, toBuffer } from './checks.js';

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

function checkMap(handle: unknown, map: unknown): void {
  checkHandle(handle);
  checkName('map', map);
}

/** Null when the key is absent. */
export async function mapLookup(handle: BpfObjectHandle, map: string, key: Buffer | Uint8Array): Promise<MapValue | null> {
  checkMap(handle, map);
  const k = toBuffer('key', key);
  return call(BpfLoadError, (n) => n.mapLookup(handle, map, k));
}

export const MAP_UPDATE_FLAGS = { any: 0, noexist: 1, exist: 2 } as const;
export type MapUpdateFlag = keyof typeof MAP_UPDATE_FLAGS;

/** For per-CPU maps `value` holds every CPU's slot (cpus × stride bytes, as mapLookup returns). */
export async function mapUpdate(
  handle: BpfObjectHandle, map: string, key: Buffer | Uint8Array, value: Buffer | Uint8Array, flag: MapUpdateFlag = 'any',
): Promise<void> {
  checkMap(handle, map);
  const k = toBuffer('key', key);
  const v = toBuffer('value', value);
  if (!(flag in MAP_UPDATE_FLAGS)) throw new ValidationError('flag', 'must be "any", "noexist" or "exist"');
  return call(BpfLoadError, (n) => n.mapUpdate(handle, map, k, v, MAP_UPDATE_FLAGS[flag]));
}

/** Every key of the map (bpf_map_get_next_key, off the main thread). */
export async function mapKeys(handle: BpfObjectHandle, map: string): Promise<Buffer[]> {
  checkMap(handle, map);
  return call(BpfLoadError, (n) => n.mapKeys(handle, map));
}

/** True if the key was there and is now gone, false if it was absent. */
export async function mapDelete(handle: BpfObjectHandle, map: string, key: Buffer | Uint8Array): Promise<boolean> {
  checkMap(handle, map);
  const k = toBuffer('key', key);
  return call(BpfLoadError, (n) => n.mapDelete(handle, map, k));
}
