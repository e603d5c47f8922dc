// Reads the per-CPU packet/byte counters that bpf/lib/counters.h maintains.

import { endianness } from 'node:os';
import { ValidationError } from '../../errors.js';
import { mapLookup, perCpuValues, type MapValue } from '../../native/bpf-maps.js';
import type { BpfObjectHandle } from '../../native/bpf-objects.js';
import { BPF_LAYOUTS } from './layouts.js';

export interface Counter {
  packets: bigint;
  bytes: bigint;
}

const layout = BPF_LAYOUTS.counter_value;
// Map values are in the host's byte order.
const littleEndian = endianness() === 'LE';

function u64(buf: Buffer, offset: number): bigint {
  return littleEndian ? buf.readBigUInt64LE(offset) : buf.readBigUInt64BE(offset);
}

/** Sums a `struct counter_value` over all CPUs of a per-CPU map value. */
export function sumCounters(v: MapValue): Counter {
  if (v.valueSize !== layout.size) {
    throw new ValidationError('valueSize', `is ${v.valueSize}, struct counter_value is ${layout.size} bytes`);
  }
  let packets = 0n;
  let bytes = 0n;
  for (const slot of perCpuValues(v)) {
    packets += u64(slot, layout.fields.packets.offset);
    bytes += u64(slot, layout.fields.bytes.offset);
  }
  return { packets, bytes };
}

/** The summed counter at `index` of a per-CPU array map, or null if the index is out of range. */
export async function readCounters(handle: BpfObjectHandle, map: string, index: number): Promise<Counter | null> {
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) {
    throw new ValidationError('index', 'must be a u32');
  }
  const key = Buffer.alloc(4);
  if (littleEndian) key.writeUInt32LE(index);
  else key.writeUInt32BE(index);
  const v = await mapLookup(handle, map, key);
  return v === null ? null : sumCounters(v);
}

/** Every slot of a per-CPU counter map, by the names of its enum (slot order), summed over CPUs. */
export async function readCounterSlots<N extends string>(handle: BpfObjectHandle, map: string, names: readonly N[]): Promise<Record<N, Counter>> {
  const out = {} as Record<N, Counter>;
  for (const [i, name] of names.entries()) out[name] = (await readCounters(handle, map, i)) ?? { packets: 0n, bytes: 0n };
  return out;
}
