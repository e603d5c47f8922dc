// Outbound groups → wire UPDATEs: as many prefixes per message as the negotiated maximum
// length allows (4096, or 65535 with RFC 8654). The attributes of a group are encoded
// once to learn their size; each prefix then costs its NLRI octets.

import { announcement, withdrawal, type Outbound } from '../rib/index.js';
import { encodeUpdate, maxMessageLength, type CodecOptions, type Family, type Update } from '../wire/index.js';

/** Octets of one NLRI entry: length octet, significant octets, path id with add-path. */
export function prefixOctets(prefix: string, addPath: boolean): number {
  const slash = prefix.lastIndexOf('/');
  const len = slash < 0 ? 128 : Number(prefix.slice(slash + 1));
  return 1 + ((len + 7) >>> 3) + (addPath ? 4 : 0);
}

/**
 * Splits `prefixes` into runs whose NLRI fits in `room` octets each. The runs are
 * slices, so a table of 100k prefixes is not copied prefix by prefix twice.
 */
export function* chunks(prefixes: readonly string[], room: number, addPath: boolean): Generator<string[]> {
  let start = 0;
  let used = 0;
  for (let i = 0; i < prefixes.length; i++) {
    const n = prefixOctets(prefixes[i]!, addPath);
    if (n > room) throw new RangeError(`prefix ${prefixes[i]} does not fit in an UPDATE`);
    if (used + n > room) {
      yield prefixes.slice(start, i);
      start = i;
      used = 0;
    }
    used += n;
  }
  if (start < prefixes.length) yield prefixes.slice(start);
}

/**
 * Room for NLRI (or withdrawn prefixes) next to `base`, the encoded size of the
 * message with none. An MP attribute may grow a length octet once it passes 255.
 */
function roomBeside(base: number, opts: CodecOptions): number {
  return maxMessageLength(opts) - base - 1;
}

/** The path ids of each run, sliced alongside it (runs are consecutive). */
function idsOf(ids: number[] | undefined): (run: string[]) => number[] | undefined {
  let at = 0;
  return (run) => {
    if (ids === undefined) return undefined;
    const out = ids.slice(at, at + run.length);
    at += run.length;
    return out;
  };
}

/** The UPDATEs for one family's outbound changes: withdrawals first, then one run per attribute group. */
export function* packOutbound(out: Outbound, opts: CodecOptions): Generator<Update> {
  const family: Family = out.family;
  const addPath = opts.addPath.send.has(family);
  if (out.withdrawn.length > 0) {
    const base = encodeUpdate(withdrawal(family, []), opts).length;
    const ids = idsOf(addPath ? out.withdrawnPathIds : undefined);
    for (const run of chunks(out.withdrawn, roomBeside(base, opts), addPath)) yield withdrawal(family, run, ids(run));
  }
  for (const group of out.announced) {
    if (group.prefixes.length === 0) continue;
    const base = encodeUpdate(announcement(family, group.attributes, []), opts).length;
    const room = roomBeside(base, opts);
    if (room <= 0) throw new RangeError(`attributes of ${base} octets leave no room for NLRI`);
    const ids = idsOf(addPath ? group.pathIds : undefined);
    for (const run of chunks(group.prefixes, room, addPath)) yield announcement(family, group.attributes, run, ids(run));
  }
}
