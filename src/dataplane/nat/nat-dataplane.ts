// What the agent (and the shared test table) sees of either natOutgoing dataplane:
// declare the pools, then apply. iptables mode is IptablesNat, eBPF mode BpfSnat.

import type { NatPool } from './nat-pools.js';

export type NatMode = 'iptables' | 'bpf';

export interface NatApplyResult {
  /** Kernel objects written or removed (0: the kernel already matched). */
  changes: number;
}

export interface NatDataplane {
  readonly mode: NatMode;
  /** Declares the complete set of pools (validated here; nothing is written). */
  setPools(pools: readonly NatPool[]): void;
  /** Makes the kernel match the declaration; also the periodic resync. */
  apply(): Promise<NatApplyResult>;
}
