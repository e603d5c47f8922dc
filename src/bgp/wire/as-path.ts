// AS_PATH / AS4_PATH segments (RFC 4271 §4.3, RFC 5065, RFC 6793).

import { AS_TRANS, AsPathSegmentType, type AsPathSegmentTypeValue } from './constants.js';
import type { Writer } from './writer.js';

export interface AsPathSegment {
  type: AsPathSegmentTypeValue;
  asns: number[];
}

const MAX_SEGMENT_ASNS = 255;

function isConfed(type: number): boolean {
  return type === AsPathSegmentType.AS_CONFED_SEQUENCE || type === AsPathSegmentType.AS_CONFED_SET;
}

/**
 * Reads segments of `size`-octet AS numbers into `out`; returns why it is malformed
 * (RFC 7606 §7.2: unknown segment type, empty segment, overrun; RFC 7607: AS 0).
 */
export function readAsPath(buf: Buffer, pos: number, end: number, size: 2 | 4, out: AsPathSegment[]): string | undefined {
  while (pos < end) {
    if (end - pos < 2) return 'truncated segment header';
    const type = buf[pos]!;
    const n = buf[pos + 1]!;
    pos += 2;
    if (type < AsPathSegmentType.AS_SET || type > AsPathSegmentType.AS_CONFED_SET) return `unknown segment type ${type}`;
    if (n === 0) return 'empty segment';
    if (pos + n * size > end) return 'segment overruns the attribute';
    const asns: number[] = [];
    for (let i = 0; i < n; i++, pos += size) {
      const asn = size === 4 ? buf.readUInt32BE(pos) : buf.readUInt16BE(pos);
      if (asn === 0) return 'AS 0 in the path';
      asns.push(asn);
    }
    out.push({ type: type as AsPathSegmentTypeValue, asns });
  }
  return undefined;
}

/** Writes segments with `size`-octet AS numbers; 2-octet writing maps big ones to AS_TRANS. */
export function writeAsPath(w: Writer, path: readonly AsPathSegment[], size: 2 | 4): void {
  for (const seg of path) {
    // A segment holds at most 255 AS numbers; longer ones continue in the next segment.
    for (let i = 0; i < seg.asns.length; i += MAX_SEGMENT_ASNS) {
      const n = Math.min(MAX_SEGMENT_ASNS, seg.asns.length - i);
      w.u8(seg.type);
      w.u8(n);
      for (let k = i; k < i + n; k++) {
        const asn = seg.asns[k]!;
        if (size === 4) w.u32(asn);
        else w.u16(asn > 0xffff ? AS_TRANS : asn);
      }
    }
  }
}

/** True when a 2-octet AS_PATH would lose information and AS4_PATH must follow it. */
export function needsAs4Path(path: readonly AsPathSegment[]): boolean {
  for (const seg of path) {
    if (isConfed(seg.type)) continue;
    for (const asn of seg.asns) if (asn > 0xffff) return true;
  }
  return false;
}

/** AS4_PATH carries no confederation segments (RFC 6793 §3). */
export function as4PathOf(path: readonly AsPathSegment[]): AsPathSegment[] {
  return path.filter((s) => !isConfed(s.type));
}

/** Path length for route selection: a set counts 1, confederation segments 0. */
export function asPathLength(path: readonly AsPathSegment[]): number {
  let n = 0;
  for (const seg of path) {
    if (seg.type === AsPathSegmentType.AS_SEQUENCE) n += seg.asns.length;
    else if (seg.type === AsPathSegmentType.AS_SET) n += 1;
  }
  return n;
}

export function hasConfedSegments(path: readonly AsPathSegment[]): boolean {
  return path.some((s) => isConfed(s.type));
}

/**
 * RFC 6793 §4.2.3: rebuild the real path from a 2-octet AS_PATH and an AS4_PATH. When
 * AS_PATH is shorter the AS4_PATH is ignored; otherwise the leading AS numbers of
 * AS_PATH that AS4_PATH lacks are put in front of it.
 */
export function mergeAs4Path(asPath: readonly AsPathSegment[], as4Path: readonly AsPathSegment[]): AsPathSegment[] {
  let need = asPathLength(asPath) - asPathLength(as4Path);
  if (need < 0) return asPath.map((s) => ({ type: s.type, asns: [...s.asns] }));
  const out: AsPathSegment[] = [];
  for (const seg of asPath) {
    if (isConfed(seg.type)) {
      // Leading confederation segments, or ones next to a taken segment, are kept.
      out.push({ type: seg.type, asns: [...seg.asns] });
      continue;
    }
    if (need === 0) break;
    if (seg.type === AsPathSegmentType.AS_SET) {
      out.push({ type: seg.type, asns: [...seg.asns] });
      need -= 1;
      continue;
    }
    const take = Math.min(need, seg.asns.length);
    out.push({ type: seg.type, asns: seg.asns.slice(0, take) });
    need -= take;
    if (take < seg.asns.length) break;
  }
  for (const seg of as4Path) {
    const last = out[out.length - 1];
    if (last && last.type === AsPathSegmentType.AS_SEQUENCE && seg.type === AsPathSegmentType.AS_SEQUENCE) {
      last.asns.push(...seg.asns);
    } else {
      out.push({ type: seg.type, asns: [...seg.asns] });
    }
  }
  return out;
}

/** "65001 {65003 65004} (65005)": sets in {}, confederation sequences in (), confederation sets in []. */
export function formatAsPath(path: readonly AsPathSegment[]): string {
  return path
    .map((s) => {
      const body = s.asns.join(' ');
      switch (s.type) {
        case AsPathSegmentType.AS_SET:
          return `{${body}}`;
        case AsPathSegmentType.AS_CONFED_SEQUENCE:
          return `(${body})`;
        case AsPathSegmentType.AS_CONFED_SET:
          return `[${body}]`;
        default:
          return body;
      }
    })
    .join(' ');
}
