// Argument checks shared by the typed modules: they run before the addon is loaded, so
// bad input fails with a ValidationError naming the field and nothing reaches C++.

import { Address4, Address6 } from 'ip-address';
import { ValidationError } from '../errors.js';

const NETNS_NAME = /^[A-Za-z0-9_.@:+-]{1,255}$/;
export const IFNAME = /^[^\s/:]{1,15}$/;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

export function checkInt(path: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ValidationError(path, `must be an integer from ${min} to ${max}`);
  }
  return v;
}

export function checkU32(path: string, v: unknown, max = 0xffffffff): asserts v is number {
  checkInt(path, v, 0, max);
}

// An optional integer: checked when present; undefined reaches C++ as "absent".
export function optU32(path: string, v: number | undefined, max: number): number | undefined {
  if (v !== undefined) checkU32(path, v, max);
  return v;
}

/** An absolute path to a namespace file, as a runtime's CNI_NETNS or /proc/PID/ns/net. */
const NETNS_PATH = /^\/[^\0]{1,4094}$/;

/** A namespace by name (under /var/run/netns) or by absolute path. */
export function checkNetns(v: unknown, path = 'netns'): void {
  if (v === undefined) return;
  const ok = typeof v === 'string' && (NETNS_PATH.test(v) ? !v.split('/').includes('..') : NETNS_NAME.test(v) && v !== '.' && v !== '..');
  if (!ok) throw new ValidationError(path, 'must be the name of a namespace under /var/run/netns or an absolute path to one');
}

/** `{netns}` when given (checked), `{}` otherwise: the addon reads absence as "this namespace". */
export function netnsArg(netns: string | undefined): { netns?: string } {
  checkNetns(netns);
  return netns === undefined ? {} : { netns };
}

export function checkIfname(v: unknown, path = 'ifname'): asserts v is string {
  if (typeof v !== 'string' || !IFNAME.test(v)) {
    throw new ValidationError(path, 'must be an interface name of 1 to 15 characters');
  }
}

export function checkName(path: string, v: unknown): asserts v is string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 255) throw new ValidationError(path, 'must be a non-empty name');
}

export function checkFamily(v: unknown): void {
  if (v !== undefined && v !== 4 && v !== 6) throw new ValidationError('family', 'must be 4 or 6');
}

export function checkOp<T extends string>(path: string, v: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) throw new ValidationError(path, `must be one of ${allowed.join(', ')}`);
  return v as T;
}

export function checkMac(path: string, v: unknown): string {
  if (typeof v !== 'string' || !MAC.test(v)) throw new ValidationError(path, 'must be a MAC address such as 66:0a:0b:0c:0d:0e');
  return v.toLowerCase();
}

function parseAddress(text: string): Address4 | Address6 | undefined {
  if (Address4.isValid(text)) return new Address4(text);
  if (Address6.isValid(text)) return new Address6(text);
  return undefined;
}

/** A bare IPv4 or IPv6 address in its canonical text. */
export function checkIp(path: string, v: unknown): string {
  const a = typeof v === 'string' && !v.includes('/') ? parseAddress(v) : undefined;
  if (!a) throw new ValidationError(path, 'must be an IPv4 or IPv6 address');
  return a.correctForm();
}

/** `address/length`, the address canonical (host bits kept). */
export function checkCidr(path: string, v: unknown): { address: string; prefixLength: number } {
  const a = typeof v === 'string' && /^[^/]+\/\d{1,3}$/.test(v) ? parseAddress(v) : undefined;
  if (!a) throw new ValidationError(path, 'must be address/length');
  return { address: a.correctForm(), prefixLength: a.subnetMask };
}

export function toBuffer(path: string, v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new ValidationError(path, 'must be a Buffer or Uint8Array');
}
