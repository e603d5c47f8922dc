// One run of a loaded program on a packet (BPF_PROG_TEST_RUN), for load-time probes.

import { BpfLoadError } from '../errors.js';
import { call } from './binding.js';
import { checkHandle, type BpfObjectHandle } from './bpf-objects.js';
import { checkName, toBuffer } from './checks.js';

export interface TestRunResult {
  /** The program's return value (signed). */
  retval: number;
  /** The packet as the program left it. */
  data: Buffer;
}

export async function bpfProgTestRun(handle: BpfObjectHandle, program: string, data: Buffer | Uint8Array): Promise<TestRunResult> {
  checkHandle(handle);
  checkName('program', program);
  const d = toBuffer('data', data);
  return call(BpfLoadError, (n) => n.bpfProgTestRun(handle, program, d));
}
