// LocalRoute[] → per-family tables for Rib.setOriginated: prefixes in canonical text
// (the RIB keys by string, so "FD00:0::/64" and "fd00::/64" must be one), and one
// attribute object per distinct (MED, communities) so equal routes share a path.

import { ValidationError } from '../../errors.js';
import { Writer } from '../wire/writer.js';
import { FAMILIES, Origin, prefixFamily, type Family, type PathAttributes } from '../wire/index.js';
import type { LocalRoute } from './types.js';

/** The prefix as the codec prints it (host bits cleared), or undefined when it is not one. */
export function canonicalPrefix(prefix: string): { family: Family; prefix: string } | undefined {
  const family = prefixFamily(prefix);
  const row = FAMILIES[family];
  const w = new Writer(24);
  try {
    row.writePrefix(w, prefix);
  } catch {
    return undefined;
  }
  const out: string[] = [];
  if (row.readPrefixes(w.buf, 0, w.pos, out, undefined) !== undefined || out.length !== 1) return undefined;
  return { family, prefix: out[0]! };
}

function attributeKey(r: LocalRoute): string {
  return `${r.med ?? '-'}|${r.communities?.join(',') ?? '-'}|${r.largeCommunities?.map((c) => c.join(':')).join(',') ?? '-'}`;
}

export type LocalTables = Record<Family, Map<string, PathAttributes>>;

export function localTables(routes: readonly LocalRoute[]): LocalTables {
  const tables: LocalTables = { ipv4: new Map(), ipv6: new Map() };
  const shared = new Map<string, PathAttributes>();
  routes.forEach((r, i) => {
    const c = typeof r?.prefix === 'string' ? canonicalPrefix(r.prefix) : undefined;
    if (!c) throw new ValidationError(`routes[${i}].prefix`, `not an IPv4 or IPv6 prefix: ${JSON.stringify(r?.prefix)}`);
    const key = attributeKey(r);
    let attrs = shared.get(key);
    if (attrs === undefined) {
      attrs = { origin: Origin.IGP, asPath: [] };
      if (r.med !== undefined) attrs.med = r.med;
      if (r.communities?.length) attrs.communities = [...r.communities];
      if (r.largeCommunities?.length) attrs.largeCommunities = r.largeCommunities.map((l) => [l[0], l[1], l[2]] as const);
      shared.set(key, attrs);
    }
    tables[c.family].set(c.prefix, attrs);
  });
  return tables;
}
