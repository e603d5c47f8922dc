// The etcd3 client set up for this backend: raw KV and Watch RPCs, our own retry rules
// and a per-endpoint gate instead of the client's defaults.
//
// Why not the defaults: the client's global policy retries every call, writes included,
// so a write whose answer was lost would be applied twice without the caller knowing;
// and its per-host circuit breaker counts our own watch cancellations as failures and
// then refuses that host for 5 s. Here reads retry freely, writes say when a retry is
// ambiguous (the txn layer checks whether it was applied), and a host is skipped for
// a second after it was unreachable.
import {
  Etcd3,
  GRPCDeadlineExceededError,
  GRPCOutOfRangeError,
  GRPCUnavailableError,
  isRecoverableError,
  type IDuplexStream,
  type IKeyValue,
  type IOptions,
  type IWatchRequest,
  type IWatchResponse,
} from 'etcd3';
import { DatastoreError } from '../errors.js';
import type { ResolvedEtcdOptions } from './etcd-options.js';

type FaultHandling = NonNullable<IOptions['faultHandling']>;
type Policy = NonNullable<FaultHandling['global']>;
export type WatchStream = IDuplexStream<IWatchRequest, IWatchResponse>;

/** Thrown in place of a call to an endpoint that failed less than a second ago. */
export class EndpointDownError extends DatastoreError {
  override readonly code = 'ENDPOINT_DOWN';
  constructor(readonly host: string) {
    super(`etcd endpoint ${host} was unreachable moments ago; skipped`);
  }
}

const NEVER_ABORTED = new AbortController().signal;
const noEvent = () => ({ dispose() {} });

/** The policy shape the client calls (`execute`); the cast covers cockatiel's typing-only members. */
function policy(execute: <T>(fn: (ctx: { signal: AbortSignal }) => PromiseLike<T> | T) => Promise<T>): Policy {
  return { execute, onSuccess: noEvent, onFailure: noEvent } as unknown as Policy;
}

/** The endpoint itself could not be reached; "etcdserver: ..." errors (leader changed, …) are answers. */
function endpointFailure(err: unknown): boolean {
  if (err instanceof GRPCDeadlineExceededError) return true;
  return err instanceof GRPCUnavailableError && !err.message.includes('etcdserver:');
}

/** Skips an endpoint for `downMs` after it was unreachable; the client then tries the next one. */
function endpointGate(host: string, downMs: number): Policy {
  let downUntil = 0;
  return policy(async (fn) => {
    if (Date.now() < downUntil) throw new EndpointDownError(host);
    try {
      return await fn({ signal: NEVER_ABORTED });
    } catch (err) {
      if (endpointFailure(err)) downUntil = Date.now() + downMs;
      throw err;
    }
  });
}

/** Worth retrying: the endpoint or the cluster may be back soon. */
export function isTransient(err: unknown): boolean {
  return err instanceof EndpointDownError || (err instanceof Error && isRecoverableError(err));
}

export function isCompactedRead(err: unknown): boolean {
  return err instanceof GRPCOutOfRangeError && /compacted/.test(err.message);
}

export function isFutureRead(err: unknown): boolean {
  return err instanceof GRPCOutOfRangeError && /future revision/.test(err.message);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Smallest key greater than every key starting with `prefix`. */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // all 0xff: to the end of the keyspace
}

export interface PagedRange {
  kvs: IKeyValue[];
  /** The revision the whole range was read at. */
  revision: number;
}

export class EtcdConnection {
  readonly client: Etcd3;
  private closed = false;

  constructor(readonly opts: ResolvedEtcdOptions) {
    const o: IOptions = {
      hosts: opts.endpoints,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + opts.requestTimeoutMs }),
      faultHandling: {
        global: policy(async (fn) => fn({ signal: NEVER_ABORTED })),
        host: (host) => endpointGate(host, 1000),
      },
      grpcOptions: {
        // Notice a silently dead peer on idle watch streams (etcd allows pings every 5 s).
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5000,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
        'grpc.max_receive_message_length': 256 * 1024 * 1024,
      },
    };
    if (opts.tls) {
      // rootCertificate may be absent: grpc then trusts the system CAs.
      o.credentials = { rootCertificate: opts.tls.ca as Buffer, privateKey: opts.tls.key, certChain: opts.tls.cert };
    }
    if (opts.auth) o.auth = { username: opts.auth.username, password: opts.auth.password };
    this.client = new Etcd3(o);
  }

  get where(): string {
    return `etcd ${this.opts.endpoints.join(',')}`;
  }

  wrap(what: string, err: unknown): DatastoreError {
    // An endpoint skipped moments ago is a transient failure still to be explained, not an answer.
    if (err instanceof DatastoreError && !(err instanceof EndpointDownError)) return err;
    return new DatastoreError(`${this.where}: ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }

  assertOpen(): void {
    if (this.closed) throw new DatastoreError(`${this.where}: datastore is closed`);
  }

  /**
   * Runs a call that is safe to repeat, retrying transient failures until `windowMs` has
   * passed. Other errors are returned to the caller unwrapped (they may mean something).
   */
  async retrying<T>(fn: () => Promise<T>, windowMs = this.opts.retryWindowMs): Promise<T> {
    const end = Date.now() + windowMs;
    for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
      this.assertOpen();
      try {
        return await fn();
      } catch (err) {
        if (!isTransient(err) || Date.now() + delay > end) throw err;
      }
      await sleep(delay);
    }
  }

  /** All keys under `prefix` at one revision (the current one unless given), page by page. */
  async rangePrefix(prefix: Buffer, revision = 0): Promise<PagedRange> {
    const rangeEnd = prefixEnd(prefix);
    const kvs: IKeyValue[] = [];
    let start = prefix;
    let at = revision;
    for (;;) {
      const page = await this.retrying(() =>
        this.client.kv.range({ key: start, range_end: rangeEnd, limit: this.opts.pageSize, revision: at }),
      );
      // Pin later pages to the first page's revision, so the whole list is one snapshot.
      if (at === 0) at = Number(page.header.revision);
      kvs.push(...page.kvs);
      if (!page.more || page.kvs.length === 0) return { kvs, revision: at };
      start = Buffer.concat([page.kvs[page.kvs.length - 1]!.key, Buffer.from([0])]);
    }
  }

  /** A new Watch RPC stream on one of the endpoints. */
  openWatchStream(): Promise<WatchStream> {
    this.assertOpen();
    return this.client.watchClient.watch();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
  }
}
