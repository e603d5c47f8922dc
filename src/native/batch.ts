// Results of the batched netlink writes: every request is acked on its own, so one
// failure never fails the others.

import { NetlinkError } from '../errors.js';
import { call, type NativeBinding } from './binding.js';

/** Outcome of one request of a batch. */
export type NetlinkResult = { ok: true } | { ok: false; errno: number; message: string };

export interface BatchOutcome {
  /** One per request, in request order. */
  results: NetlinkResult[];
  failed: number;
  /** sendto() calls made: requests travel many per call. */
  sends: number;
}

/** What the addon resolves a batch with: errno per request, text only for failures. */
export interface RawBatch {
  errnos: Int32Array;
  messages: Array<[number, string]>;
  sends: number;
}

export interface RawBatchOptions {
  netns?: string;
  batchSize?: number;
  batchBytes?: number;
  rcvbuf?: number;
}

const OK_RESULT: NetlinkResult = Object.freeze({ ok: true as const });

function batchOutcome(raw: RawBatch): BatchOutcome {
  const text = new Map(raw.messages);
  const results = new Array<NetlinkResult>(raw.errnos.length);
  let failed = 0;
  for (let i = 0; i < raw.errnos.length; i++) {
    const errno = raw.errnos[i]!;
    if (errno === 0) {
      results[i] = OK_RESULT;
    } else {
      failed++;
      results[i] = { ok: false, errno, message: text.get(i) ?? `errno ${errno}` };
    }
  }
  return { results, failed, sends: raw.sends };
}

/** Sends a validated batch (nothing when it is empty) and maps the acks to results. */
export async function sendBatch<T>(ops: T, count: number, send: (n: NativeBinding, ops: T) => Promise<RawBatch>): Promise<BatchOutcome> {
  if (count === 0) return { results: [], failed: 0, sends: 0 };
  return batchOutcome(await call(NetlinkError, (n) => send(n, ops)));
}
