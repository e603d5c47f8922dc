// The storage contract every backend (file:, etcd:) fulfils. Resources are opaque JSON
// objects here: validation belongs to src/api, not to storage.

/** The metadata a store reads and sets; the rest travels untouched. */
export interface StoredMetadata {
  name: string;
  /** The store revision of the last write to this resource, as a decimal string. */
  resourceVersion?: string;
  uid?: string;
  creationTimestamp?: string;
  [extra: string]: unknown;
}

export interface StoredResource {
  apiVersion: string;
  kind: string;
  metadata: StoredMetadata;
  spec?: unknown;
  status?: unknown;
  [extra: string]: unknown;
}

export interface ListResult {
  items: StoredResource[];
  /** Store revision the list was read at; watch from here to miss nothing. */
  revision: number;
}

export type WatchEvent =
  | { type: 'put'; revision: number; kind: string; name: string; resource: StoredResource; previous?: StoredResource }
  | { type: 'delete'; revision: number; kind: string; name: string; previous: StoredResource };

/** One operation of an all-or-nothing batch. */
export type TxnOp =
  | { op: 'create'; resource: StoredResource }
  /** Update; if metadata.resourceVersion is set it must equal the stored one. */
  | { op: 'update'; resource: StoredResource }
  /** Create or update regardless of revision (apply). */
  | { op: 'upsert'; resource: StoredResource }
  | { op: 'delete'; kind: string; name: string; resourceVersion?: string };

export interface Watcher {
  close(): void;
}

export interface WatchOptions {
  /** Deliver events with revision strictly greater than this. */
  fromRevision: number;
  /** Only this kind (all kinds when absent). */
  kind?: string;
  onEvent(event: WatchEvent): void;
  /** A failure the watcher could not recover from (it has stopped). */
  onError?(err: Error): void;
}

export interface Datastore {
  get(kind: string, name: string): Promise<StoredResource | undefined>;
  list(kind?: string): Promise<ListResult>;
  /** Fails with AlreadyExistsError if it exists. */
  create(resource: StoredResource): Promise<StoredResource>;
  /** Fails with NotFoundError, or ConflictError if metadata.resourceVersion is set and stale. */
  update(resource: StoredResource): Promise<StoredResource>;
  /** Fails with NotFoundError, or ConflictError when resourceVersion is given and stale. */
  delete(kind: string, name: string, resourceVersion?: string): Promise<StoredResource>;
  /** All ops succeed together or none is written; returns the results in order. */
  txn(ops: TxnOp[]): Promise<StoredResource[]>;
  watch(options: WatchOptions): Watcher;
  close(): Promise<void>;
}
