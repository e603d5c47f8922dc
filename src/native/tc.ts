// tc: direct-action BPF filters on an interface's clsact hook. Which priority and handle
// a program takes is the caller's choice.

import { NetlinkError, ValidationError } from '../errors.js';
import { call } from './binding.js';
import { checkHandle, type BpfObjectHandle } from './bpf-objects.js';
import { checkIfname, checkName, checkNetns, checkU32 } from './checks.js';

export type TcDirection = 'ingress' | 'egress';

export interface TcFilter {
  ifindex: number;
  priority: number;
  /** The filter's handle (not the object's). */
  handle: number;
  /** Kernel id of the program now in the filter. */
  progId: number;
}

/** Interface, direction and namespace of a hook, checked; the base of every call's arguments. */
interface TcHook {
  ifname: string;
  direction: TcDirection;
  netns?: string;
}

function hookArgs(o: TcHook): TcHook {
  checkIfname(o.ifname);
  if (o.direction !== 'ingress' && o.direction !== 'egress') throw new ValidationError('direction', 'must be "ingress" or "egress"');
  checkNetns(o.netns);
  const args: TcHook = { ifname: o.ifname, direction: o.direction };
  if (o.netns !== undefined) args.netns = o.netns;
  return args;
}

// Priority and handle name an existing filter; zero would make the kernel match any.
function filterId(priority: unknown, handle: unknown): { priority: number; handle: number } {
  checkU32('priority', priority, 0xffff);
  checkU32('handle', handle);
  if (priority === 0) throw new ValidationError('priority', 'must be the non-zero priority tcAttach returned');
  if (handle === 0) throw new ValidationError('handle', 'must be the non-zero handle tcAttach returned');
  return { priority, handle };
}

export interface TcAttachOptions extends TcHook {
  handle: BpfObjectHandle;
  program: string;
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
  const args: TcAttachOptions = { ...hookArgs(opts), handle: opts.handle, program: opts.program };
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
  return call(NetlinkError, (n) => n.tcAttach(args));
}

export interface TcDetachOptions extends TcHook {
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
  const args: TcDetachOptions = { ...hookArgs(opts), ...filterId(opts.priority, opts.handle) };
  if (opts.progId !== undefined) {
    checkU32('progId', opts.progId);
    args.progId = opts.progId;
  }
  return call(NetlinkError, (n) => n.tcDetach(args));
}

export interface TcQueryOptions extends TcHook {
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
  const args: TcQueryOptions = { ...hookArgs(opts), ...filterId(opts.priority, opts.handle) };
  if (opts.maps !== undefined) {
    opts.maps.forEach((m, i) => checkName(`maps[${i}]`, m));
    args.maps = [...opts.maps];
  }
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
