// BFD timers of a BGPPeer with `failureDetectionMode: BFDIfDirectlyConnected`. Calico's
// open-source v3 API has no field for them (Calico Enterprise keeps them in a separate
// BFDConfiguration kind, per interface), so Tabby reads them from the BGPPeer's own
// annotations, named after Enterprise's BFDInterface fields.
import { ValidationError } from '../errors.js';

export const BFD_ANNOTATION_PREFIX = 'tabby.io/bfd-';

export const BFD_ANNOTATIONS = {
  minimumRecvInterval: `${BFD_ANNOTATION_PREFIX}minimum-recv-interval`,
  minimumSendInterval: `${BFD_ANNOTATION_PREFIX}minimum-send-interval`,
  multiplier: `${BFD_ANNOTATION_PREFIX}multiplier`,
} as const;

export interface BfdTimers {
  /** bfd.RequiredMinRxInterval, ms. */
  minRxMs: number;
  /** bfd.DesiredMinTxInterval while Up, ms. */
  minTxMs: number;
  /** bfd.DetectMult. */
  multiplier: number;
}

/**
 * Enterprise's send interval (100ms) and multiplier (5); the receive interval is also
 * 100ms rather than its 10ms, which a JavaScript event loop cannot promise.
 */
export const BFD_DEFAULT_TIMERS: BfdTimers = { minRxMs: 100, minTxMs: 100, multiplier: 5 };

/** The interval fields carry microseconds in 32 bits (RFC 5880 §4.1). */
const MAX_INTERVAL_MS = Math.floor(0xffffffff / 1000);
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function intervalMs(path: string, text: string): number {
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) throw new ValidationError(path, `${JSON.stringify(text)} is not a duration like 100ms or 1s`);
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  total = Math.round(total * 1e6) / 1e6;
  if (!Number.isInteger(total) || total <= 0) throw new ValidationError(path, `must be a whole number of milliseconds greater than 0, got ${text}`);
  if (total > MAX_INTERVAL_MS) throw new ValidationError(path, `must be at most ${MAX_INTERVAL_MS}ms`);
  return total;
}

/** The timers the annotations ask for, defaults filled in; ValidationError on a bad one. */
export function bfdTimers(annotations: Record<string, string> | undefined): BfdTimers {
  const a = annotations ?? {};
  const path = (key: string) => `metadata.annotations[${key}]`;
  const known = new Set<string>(Object.values(BFD_ANNOTATIONS));
  for (const key of Object.keys(a)) {
    if (key.startsWith(BFD_ANNOTATION_PREFIX) && !known.has(key)) throw new ValidationError(path(key), `unknown BFD annotation; use ${[...known].join(', ')}`);
  }
  const t = { ...BFD_DEFAULT_TIMERS };
  const rx = a[BFD_ANNOTATIONS.minimumRecvInterval];
  const tx = a[BFD_ANNOTATIONS.minimumSendInterval];
  const mult = a[BFD_ANNOTATIONS.multiplier];
  if (rx !== undefined) t.minRxMs = intervalMs(path(BFD_ANNOTATIONS.minimumRecvInterval), rx);
  if (tx !== undefined) t.minTxMs = intervalMs(path(BFD_ANNOTATIONS.minimumSendInterval), tx);
  if (mult !== undefined) {
    if (!/^\d+$/.test(mult) || Number(mult) < 1 || Number(mult) > 255) throw new ValidationError(path(BFD_ANNOTATIONS.multiplier), `must be a whole number from 1 to 255, got ${JSON.stringify(mult)}`);
    t.multiplier = Number(mult);
  }
  return t;
}

/** BGPPeer metadata check: BFD annotations are valid, and only where BFD is asked for. */
export function checkBfdAnnotations(annotations: Record<string, string> | undefined, failureDetectionMode: unknown): void {
  bfdTimers(annotations);
  if (failureDetectionMode === 'BFDIfDirectlyConnected') return;
  const key = Object.keys(annotations ?? {}).find((k) => k.startsWith(BFD_ANNOTATION_PREFIX));
  if (key) throw new ValidationError(`metadata.annotations[${key}]`, 'has no effect unless spec.failureDetectionMode is BFDIfDirectlyConnected');
}
