// Neighbours (ARP/ND) and FDB entries, both as permanent entries Tabby programs.

import { NetlinkError } from '../errors.js';
import { call } from './binding.js';
import { sendBatch, type BatchOutcome } from './batch.js';
import { checkFamily, checkIfname, checkIp, checkMac, checkOp, netnsArg } from './checks.js';

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
  return sendBatch(raw, raw.length, (n, r) => n.neighApply(r, args));
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
  return sendBatch(raw, raw.length, (n, r) => n.fdbApply(r, args));
}

export async function fdbList(opts: { netns?: string } = {}): Promise<FdbEntry[]> {
  const args = netnsArg(opts.netns);
  return call(NetlinkError, (n) => n.fdbList(args));
}
