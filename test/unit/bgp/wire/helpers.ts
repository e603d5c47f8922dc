// Shared bits for the codec tests: fixture paths, options, hex.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CodecOptions, Family } from '../../../../src/bgp/wire/index.js';

/** The directory holding package.json, found from this file (works from src or dist). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above the tests');
    dir = up;
  }
  return dir;
}

export function fixture(...parts: string[]): string {
  return join(packageRoot(), 'test', 'fixtures', 'bgp', ...parts);
}

export function options(o: { fourOctetAs?: boolean; receive?: Family[]; send?: Family[]; extendedMessage?: boolean } = {}): CodecOptions {
  return {
    fourOctetAs: o.fourOctetAs ?? true,
    addPath: { receive: new Set(o.receive ?? []), send: new Set(o.send ?? []) },
    extendedMessage: o.extendedMessage ?? false,
  };
}

/** Both directions of an add-path session. */
export function addPathOptions(families: Family[], fourOctetAs = true): CodecOptions {
  return options({ fourOctetAs, receive: families, send: families });
}

export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

export const MARKER = 'ffffffffffffffffffffffffffffffff';

/** A whole message from a type and a hex body. */
export function message(type: number, body: string | Buffer): Buffer {
  const b = typeof body === 'string' ? hex(body) : body;
  const out = Buffer.alloc(19 + b.length, 0xff);
  out.writeUInt16BE(19 + b.length, 16);
  out[18] = type;
  b.copy(out, 19);
  return out;
}

/** An UPDATE from hex parts: withdrawn routes, path attributes, NLRI. */
export function update(withdrawn: string, attrs: string, nlri = ''): Buffer {
  const w = hex(withdrawn);
  const a = hex(attrs);
  const body = Buffer.concat([u16(w.length), w, u16(a.length), a, hex(nlri)]);
  return message(2, body);
}

export function u16(v: number): Buffer {
  return Buffer.from([v >>> 8, v & 0xff]);
}

/** ORIGIN IGP, AS_PATH [65001] (4-octet), NEXT_HOP 10.0.0.1 as hex. */
export const BASE_ATTRS = '40010100' + '4002060201' + '0000fde9' + '4003040a000001';
