// Tabby's fixed tc slots: one priority:handle per program pair (encap.bpf.c,
// snat.bpf.c) on both hooks of the host interface. Fixed so a new agent replaces the
// old filter in one step instead of adding a second one. The programs' owners
// (BpfEncap, BpfSnat) share the slot handling here: resolving the slot, attaching
// both hooks with replace, detaching what they attached, and removing whatever sits
// at the slot after an agent that is gone.

import { constants } from 'node:os';
import { NetlinkError, ValidationError } from '../errors.js';
import type { BpfObjectHandle } from '../native/bpf-objects.js';
import { tcAttach, tcDetach, type TcDirection, type TcFilter } from '../native/tc.js';

/** Both hooks, in the order programs are attached. */
export const TC_DIRECTIONS = ['ingress', 'egress'] as const;

/** The filters one object has attached, by hook. */
export type TcFilters = Partial<Record<TcDirection, TcFilter>>;

export interface TcSlotTarget {
  /** The host interface, e.g. `eth0`. */
  ifname: string;
  /** Namespace under /var/run/netns holding the interface; absent: this process's. */
  netns?: string;
  /** tc priority of both programs (default: the owner's). */
  priority?: number;
  /** tc handle of both filters (default: the owner's). */
  filterHandle?: number;
}

export interface TcSlot {
  priority: number;
  handle: number;
}

/** The target's slot, the owner's defaults filling what it leaves out (not validated). */
export function tcSlot(t: TcSlotTarget, defaults: TcSlot): TcSlot {
  return { priority: t.priority ?? defaults.priority, handle: t.filterHandle ?? defaults.handle };
}

/** Throws unless the slot is one tc can name: priority 1..65535, a non-zero u32 handle. */
export function checkTcSlot({ priority, handle }: TcSlot): void {
  if (!Number.isInteger(priority) || priority < 1 || priority > 0xffff) throw new ValidationError('priority', 'must be an integer from 1 to 65535');
  if (!Number.isInteger(handle) || handle < 1 || handle > 0xffffffff) throw new ValidationError('filterHandle', 'must be a non-zero u32');
}

/** `{ netns }` when given, else nothing: for spreading into the addon's options. */
export function nsOpt(netns: string | undefined): { netns?: string } {
  return netns === undefined ? {} : { netns };
}

/**
 * Removes whatever program sits in the slot on both hooks, whoever attached it
 * (cleanup after an agent that is gone). Returns how many filters were removed.
 */
export async function detachTcSlot(target: { ifname: string; netns?: string }, slot: TcSlot): Promise<number> {
  let n = 0;
  for (const direction of TC_DIRECTIONS) {
    try {
      if (await tcDetach({ ifname: target.ifname, direction, ...nsOpt(target.netns), ...slot })) n++;
    } catch (err) {
      // ENOENT: no such filter; EINVAL: no clsact qdisc at all.
      if (err instanceof NetlinkError && (err.errno === constants.errno.ENOENT || err.errno === constants.errno.EINVAL)) continue;
      throw err;
    }
  }
  return n;
}

/**
 * Attaches the object's program for each hook at the slot, replacing (never
 * duplicating) a program already there. Each filter goes into `filters` as soon as it
 * is attached, so a failure on the second hook leaves the first one recorded.
 */
export async function attachTcSlot(
  handle: BpfObjectHandle,
  programs: Readonly<Record<TcDirection, string>>,
  target: { ifname: string; netns?: string },
  slot: TcSlot,
  filters: TcFilters,
): Promise<void> {
  for (const direction of TC_DIRECTIONS) {
    filters[direction] = await tcAttach({
      handle, program: programs[direction], ifname: target.ifname, direction, ...nsOpt(target.netns),
      priority: slot.priority, filterHandle: slot.handle, replace: true,
    });
  }
}

/**
 * Detaches the filters this object attached (a successor's, which has replaced the
 * program, stay), removing each from `filters`. Errors are collected into `errors`,
 * not thrown. The clsact qdisc stays: other programs may share it, and it is harmless
 * empty.
 */
export async function detachTcFilters(
  target: { ifname: string; netns?: string } | undefined,
  filters: TcFilters,
  errors: unknown[],
): Promise<void> {
  for (const direction of ['egress', 'ingress'] as const) {
    const f = filters[direction];
    if (!f || !target) continue;
    try {
      await tcDetach({ ifname: target.ifname, direction, ...nsOpt(target.netns), priority: f.priority, handle: f.handle, progId: f.progId });
    } catch (err) {
      errors.push(err);
    }
    delete filters[direction];
  }
}
