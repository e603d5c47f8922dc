// Interface addresses.

import { NetlinkError } from '../errors.js';
import { call } from './binding.js';
import { sendBatch, type BatchOutcome } from './batch.js';
import { checkCidr, checkFamily, checkIfname, checkOp, netnsArg } from './checks.js';

export interface AddrOp {
  op: 'add' | 'replace' | 'delete';
  ifname: string;
  /** `address/length`, e.g. 10.0.0.1/24. */
  cidr: string;
  /** IPv6: skip duplicate address detection. */
  nodad?: boolean;
}

export interface Address {
  ifindex: number;
  ifname?: string;
  family: 4 | 6;
  address: string;
  prefixLength: number;
  cidr: string;
  scope: number;
  tentative: boolean;
}

export async function addrApply(ops: readonly AddrOp[], opts: { netns?: string } = {}): Promise<BatchOutcome> {
  const args = netnsArg(opts.netns);
  const raw = ops.map((o, i) => {
    const op = checkOp(`ops[${i}].op`, o.op, ['add', 'replace', 'delete'] as const);
    checkIfname(o.ifname);
    const c = checkCidr(`ops[${i}].cidr`, o.cidr);
    return { op, ifname: o.ifname, address: c.address, prefixLength: c.prefixLength, nodad: o.nodad === true };
  });
  return sendBatch(raw, raw.length, (n, r) => n.addrApply(r, args));
}

export async function addrList(opts: { family?: 4 | 6; netns?: string } = {}): Promise<Address[]> {
  checkFamily(opts.family);
  const args = { ...netnsArg(opts.netns), ...(opts.family ? { family: opts.family } : {}) };
  return call(NetlinkError, (n) => n.addrList(args));
}
