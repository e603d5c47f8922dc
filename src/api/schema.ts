// Small field checkers composed into per-kind schemas. Each returns the normalised value
// or throws a ValidationError naming the field path, so every kind reports errors the same way.
import { ValidationError } from '../errors.js';
import { parseAsn } from './asn.js';
import { parseCidr, parseIP, parsePeerIP, type Family } from './net.js';
import { validateSelector } from './selector.js';

export type Check<T = unknown> = (value: unknown, path: string) => T;

const fail = (path: string, reason: string): never => {
  throw new ValidationError(path, reason);
};

const show = (v: unknown) => JSON.stringify(v);

export const str: Check<string> = (v, p) => (typeof v === 'string' ? v : fail(p, `must be a string, got ${show(v)}`));

export const bool: Check<boolean> = (v, p) => {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  return fail(p, `must be true or false, got ${show(v)}`);
};

export function int(min: number, max: number): Check<number> {
  return (v, p) => {
    const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) return fail(p, `must be an integer, got ${show(v)}`);
    if (n < min || n > max) return fail(p, `must be between ${min} and ${max}, got ${n}`);
    return n;
  };
}

export function oneOf<T extends string>(...values: T[]): Check<T> {
  return (v, p) => (values.includes(v as T) ? (v as T) : fail(p, `must be one of ${values.join(', ')}; got ${show(v)}`));
}

export const asn: Check<number> = (v, p) => {
  if (typeof v === 'number' && !Number.isInteger(v)) {
    return fail(p, `${v} is not an AS number (write dotted AS numbers as a quoted string, e.g. "1.10")`);
  }
  return parseAsn(v) ?? fail(p, `${show(v)} is not an AS number (0-4294967295, or dotted a.b)`);
};

export function ip(family?: Family): Check<string> {
  return (v, p) => {
    const a = parseIP(str(v, p));
    if (!a || (family && a.family !== family)) return fail(p, `${show(v)} is not an IPv${family ?? '4 or IPv6'} address`);
    return a.address;
  };
}

/** A CIDR; `masked` demands no host bits (pools), otherwise host/len is kept (node addresses). */
export function cidr(opts: { family?: Family; masked: boolean }): Check<string> {
  return (v, p) => {
    const c = parseCidr(str(v, p));
    const fam = opts.family ? `IPv${opts.family} ` : '';
    if (!c || (opts.family && c.family !== opts.family)) return fail(p, `${show(v)} is not an ${fam}CIDR (address/prefix-length)`);
    if (!opts.masked) return `${c.address}/${c.prefixLength}`;
    if (!c.masked) return fail(p, `${show(v)} has host bits set; did you mean ${c.network}?`);
    return c.network;
  };
}

export const peerIP: Check<string> = (v, p) => {
  const text = str(v, p);
  const a = parsePeerIP(text);
  if (!a) return fail(p, `${show(v)} is not a peer address (IPv4, IPv4:port, IPv6 or [IPv6]:port with port 1-65535)`);
  if (a.port === undefined) return a.address;
  return a.family === 4 ? `${a.address}:${a.port}` : `[${a.address}]:${a.port}`;
};

export const selector: Check<string> = (v, p) => {
  const text = str(v, p);
  try {
    validateSelector(text);
  } catch (err) {
    fail(p, (err as Error).message);
  }
  return text;
};

/** Go duration string as Kubernetes' metav1.Duration writes it (`120s`, `1m30s`). */
export const duration: Check<string> = (v, p) => {
  const text = str(v, p);
  return /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text) ? text : fail(p, `${show(v)} is not a duration like 90s or 2m`);
};

export const mac: Check<string> = (v, p) => {
  const text = str(v, p);
  return /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(text) ? text.toLowerCase() : fail(p, `${show(v)} is not a MAC address`);
};

/** `aa:nn` (16-bit parts) or `aa:nn:mm` (32-bit parts), the two community forms Calico takes. */
export const communityValue: Check<string> = (v, p) => {
  const text = str(v, p);
  const parts = text.split(':');
  const max = parts.length === 2 ? 65535 : 4294967295;
  const ok = (parts.length === 2 || parts.length === 3) && parts.every((x) => /^\d{1,10}$/.test(x) && Number(x) <= max);
  return ok ? text : fail(p, `${show(v)} is not a community (aa:nn or aa:nn:mm)`);
};

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const resourceName: Check<string> = (v, p) => {
  const text = str(v, p);
  if (text.length === 0) return fail(p, 'must not be empty');
  if (text.length > 253 || !NAME.test(text)) {
    return fail(p, `${show(v)} is not a valid name (lower-case letters, digits, '-' and '.', at most 253 characters)`);
  }
  return text;
};

export const stringMap: Check<Record<string, string>> = (v, p) => {
  if (!isPlainObject(v)) return fail(p, 'must be a map of strings');
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) out[k] = str(val, `${p}.${k}`);
  return out;
};

export function arrayOf<T>(check: Check<T>): Check<T[]> {
  return (v, p) => (Array.isArray(v) ? v.map((x, i) => check(x, `${p}[${i}]`)) : fail(p, 'must be a list'));
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * An object with known fields: unknown ones are rejected (as calicoctl's strict decoding
 * does) so a typo never silently does nothing. Absent and null fields are left out.
 */
export function object(fields: Record<string, Check>, required: string[] = []): Check<Record<string, unknown>> {
  return (v, p) => {
    if (v === undefined || v === null) v = {};
    if (!isPlainObject(v)) return fail(p, `must be an object, got ${show(v)}`);
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(v)) {
      const check = fields[k];
      const path = p ? `${p}.${k}` : k;
      if (!check) return fail(path, `unknown field (known: ${Object.keys(fields).join(', ')})`);
      if (val !== undefined && val !== null) out[k] = check(val, path);
    }
    for (const k of required) if (out[k] === undefined) fail(p ? `${p}.${k}` : k, 'is required');
    return out;
  };
}

export const secretKeyRef = object({ secretKeyRef: object({ name: str, key: str }, ['name', 'key']) }, ['secretKeyRef']);
