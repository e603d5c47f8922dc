// Small field checkers composed into per-kind schemas. Each returns the normalised value
// or throws a ValidationError naming the field path, so every kind reports errors the same way.
// Objects and lists keep their field table (`fields`, `items`) so the schema can be walked.
import { ValidationError } from '../errors.js';
import { parseAsn } from './asn.js';
import { formatPeerIP, parseCidr, parseIP, parsePeerIP, type Family } from './net.js';
import { validateSelector } from './selector.js';

export interface Check<T = unknown> {
  (value: unknown, path: string): T;
  /** The known fields of an object checker. */
  fields?: Readonly<Record<string, Check>>;
  /** The element checker of a list checker. */
  items?: Check;
}

export const fail = (path: string, reason: string): never => {
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

export const INT32: [number, number] = [-2147483648, 2147483647];

export function oneOf<T extends string>(...values: T[]): Check<T> {
  return (v, p) => (values.includes(v as T) ? (v as T) : fail(p, `must be one of ${values.join(', ')}; got ${show(v)}`));
}

/** A string matching `re`; `what` says what it should be. */
export function matching(re: RegExp, what: string): Check<string> {
  return (v, p) => {
    const text = str(v, p);
    return re.test(text) ? text : fail(p, `${show(v)} is not ${what}`);
  };
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

/**
 * A CIDR. `masked` demands no host bits (pools), otherwise host/len is kept (node addresses).
 * `bareIP` also takes a plain address as a full-length prefix, as Calico's ParseCIDROrIP does.
 */
export function cidr(opts: { family?: Family; masked: boolean; bareIP?: boolean }): Check<string> {
  return (v, p) => {
    let text = str(v, p);
    const bare = opts.bareIP ? parseIP(text) : undefined;
    if (bare) text = `${bare.address}/${bare.family === 4 ? 32 : 128}`;
    const c = parseCidr(text);
    const fam = opts.family ? `IPv${opts.family} ` : '';
    if (!c || (opts.family && c.family !== opts.family)) return fail(p, `${show(v)} is not an ${fam}CIDR (address/prefix-length)`);
    if (!opts.masked) return `${c.address}/${c.prefixLength}`;
    if (!c.masked) return fail(p, `${show(v)} has host bits set; did you mean ${c.network}?`);
    return c.network;
  };
}

export const peerIP: Check<string> = (v, p) => {
  const text = str(v, p);
  const a = text.length <= 64 ? parsePeerIP(text) : undefined;
  return a ? formatPeerIP(a) : fail(p, `${show(v)} is not a peer address (IP, IPv4:port or [IP]:port with port 1-65535)`);
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

/** A 6-octet MAC in any notation Go's net.ParseMAC reads, stored as lower-case colon form. */
export const mac: Check<string> = (v, p) => {
  const text = str(v, p);
  const ok = /^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(text) && new Set(text.match(/[:-]/g)).size === 1;
  const dotted = /^([0-9a-fA-F]{4}\.){2}[0-9a-fA-F]{4}$/.test(text);
  if (!ok && !dotted) return fail(p, `${show(v)} is not a MAC address`);
  return text.replace(/[:.-]/g, '').toLowerCase().replace(/(..)(?!$)/g, '$1:');
};

/** `aa:nn` (16-bit parts) or `aa:nn:mm` (32-bit parts), the two community forms Calico takes. */
export const communityValue: Check<string> = (v, p) => {
  const text = str(v, p);
  const parts = text.split(':');
  const max = parts.length === 2 ? 65535 : 4294967295;
  const ok = (parts.length === 2 || parts.length === 3) && parts.every((x) => /^\d{1,10}$/.test(x) && Number(x) <= max);
  return ok ? text : fail(p, `${show(v)} is not a community (aa:nn with 16-bit parts or aa:nn:mm with 32-bit parts)`);
};

/** A Wireguard public key: base64 of 32 bytes (wgtypes.ParseKey). */
export const wireguardKey: Check<string> = (v, p) => {
  const text = str(v, p);
  const ok = /^[A-Za-z0-9+/]{43}=$/.test(text) && Buffer.from(text, 'base64').length === 32;
  return ok ? text : fail(p, `${show(v)} is not a Wireguard public key (base64 of 32 bytes)`);
};

// Kubernetes name rules (k8s.io/apimachinery/pkg/util/validation), which Calico's validator uses.
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** A DNS-1123 subdomain of at most 253 characters: every Calico resource name. */
export const resourceName: Check<string> = (v, p) => {
  const text = str(v, p);
  if (text.length === 0) return fail(p, 'must not be empty');
  if (text.length > 253) return fail(p, `is ${text.length} characters long; names are at most 253`);
  if (!DNS_SUBDOMAIN.test(text)) return fail(p, `${show(v)} is not a valid name (lower-case letters, digits, '-' and '.')`);
  return text;
};

/** IsQualifiedName: `[prefix/]name`, prefix a DNS subdomain, name at most 63 characters. */
export function qualifiedNameProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'has more than one "/"';
  const name = parts[parts.length - 1]!;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix.length === 0) return 'has an empty prefix before "/"';
    if (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) return `has a prefix ${show(prefix)} that is not a lower-case DNS subdomain`;
  }
  if (name.length === 0) return 'has an empty name';
  if (name.length > 63) return `has a name of ${name.length} characters; at most 63`;
  if (!QUALIFIED_NAME.test(name)) return `has a name ${show(name)} with characters other than letters, digits, '-', '_' and '.' (or not starting and ending with a letter or digit)`;
  return undefined;
}

/** IsValidLabelValue: at most 63 characters, empty allowed. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63) return `is ${value.length} characters long; label values are at most 63`;
  if (!LABEL_VALUE.test(value)) return 'may only hold letters, digits, \'-\', \'_\' and \'.\', starting and ending with a letter or digit';
  return undefined;
}

export const stringMap: Check<Record<string, string>> = (v, p) => {
  if (!isPlainObject(v)) return fail(p, 'must be a map of strings');
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) out[k] = str(val, `${p}.${k}`);
  return out;
};

export function arrayOf<T>(check: Check<T>): Check<T[]> {
  const list: Check<T[]> = (v, p) => (Array.isArray(v) ? v.map((x, i) => check(x, `${p}[${i}]`)) : fail(p, 'must be a list'));
  list.items = check;
  return list;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * An object with known fields: unknown ones are rejected (as calicoctl's strict decoding
 * does) so a typo never silently does nothing. Absent and null fields are left out.
 */
export function object(fields: Record<string, Check>, required: string[] = []): Check<Record<string, unknown>> {
  const obj: Check<Record<string, unknown>> = (v, p) => {
    if (v === undefined || v === null) v = {};
    if (!isPlainObject(v)) return fail(p, `must be an object, got ${show(v)}`);
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(v)) {
      const check = Object.hasOwn(fields, k) ? fields[k] : undefined;
      const path = p ? `${p}.${k}` : k;
      if (!check) return fail(path, `unknown field (known: ${Object.keys(fields).join(', ')})`);
      if (val !== undefined && val !== null) out[k] = check(val, path);
    }
    for (const k of required) if (out[k] === undefined) fail(p ? `${p}.${k}` : k, 'is required');
    return out;
  };
  obj.fields = fields;
  return obj;
}

/**
 * k8s SecretKeySelector inside Calico's BGPPassword: `secretKeyRef` is optional, and when given
 * `key` is required and `name` defaults to "" (the CRD schema).
 */
export const bgpPassword = object({
  secretKeyRef: object({ name: str, key: str, optional: bool }, ['key']),
});
