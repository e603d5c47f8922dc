// BPF objects: open a compiled object, set its load-time globals, load it; close it.
// Where objects live on disk is the caller's business.

import { BpfLoadError, ValidationError } from '../errors.js';
import { call } from './binding.js';
import { checkName } from './checks.js';

/** A loaded BPF object, as a number the addon maps to its `bpf_object`. */
export type BpfObjectHandle = number;

/** Integers are written in host byte order at the variable's size; a Buffer must match it exactly. */
export type BpfGlobalValue = number | bigint | boolean | Buffer;

export interface BpfObjectLoadOptions {
  /** `const volatile` globals to set before load (they live in .rodata/.data/.bss). */
  globals?: Record<string, BpfGlobalValue>;
  /**
   * A directory on bpffs: each map is reused from `pinDir/<map name>` when pinned there
   * (same type, key/value size and max entries, or the load fails), else created and
   * pinned there.
   */
  pinDir?: string;
}

export function checkHandle(v: unknown): asserts v is BpfObjectHandle {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 0xffffffff) {
    throw new ValidationError('handle', 'must be a handle returned by bpfObjectLoad');
  }
}

/** Opens the object at `path`, sets its globals, loads it into the kernel. */
export async function bpfObjectLoad(path: string, opts: BpfObjectLoadOptions = {}): Promise<BpfObjectHandle> {
  checkName('path', path);
  const args: { globals?: Record<string, BpfGlobalValue>; pinDir?: string } = {};
  if (opts.pinDir !== undefined) {
    checkName('pinDir', opts.pinDir);
    if (!opts.pinDir.startsWith('/')) throw new ValidationError('pinDir', 'must be an absolute path');
    args.pinDir = opts.pinDir;
  }
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

/** Pins each program of the object as `dir/<program name>`, replacing what is pinned there. */
export async function bpfObjectPinPrograms(handle: BpfObjectHandle, dir: string): Promise<void> {
  checkHandle(handle);
  checkName('dir', dir);
  return call(BpfLoadError, (n) => n.bpfObjectPinPrograms(handle, dir));
}
