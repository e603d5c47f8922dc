// One error hierarchy with stable codes, so callers and tests match on `code`, not on text.
// The root of the import graph: every layer may import this file, so it imports nothing
// of the project (the leaf codec's BgpMessageError extends TabbyError from here).
// Domain classes live beside their domain (BgpMessageError in bgp/wire, DataplaneError in
// dataplane, …); test/unit/errors.test.ts lists every one with its code.

export class TabbyError extends Error {
  readonly code: string = 'TABBY_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A resource or field failed validation; `path` names the field (e.g. `spec.peerIP`). */
export class ValidationError extends TabbyError {
  override readonly code = 'VALIDATION';
  constructor(readonly path: string, readonly reason: string, readonly document?: string) {
    super(`${document ? `${document}: ` : ''}${path ? `${path}: ` : ''}${reason}`);
  }
}

/** A selector expression did not parse; `column` is 1-based. */
export class SelectorParseError extends TabbyError {
  override readonly code = 'SELECTOR_PARSE';
  constructor(readonly selector: string, readonly column: number, readonly reason: string) {
    super(`selector ${JSON.stringify(selector)} column ${column}: ${reason}`);
  }
}

export class NotFoundError extends TabbyError {
  override readonly code = 'NOT_FOUND';
  constructor(readonly kind: string, readonly resourceName: string) {
    super(`${kind} ${JSON.stringify(resourceName)} not found`);
  }
}

export class AlreadyExistsError extends TabbyError {
  override readonly code = 'ALREADY_EXISTS';
  constructor(readonly kind: string, readonly resourceName: string) {
    super(`${kind} ${JSON.stringify(resourceName)} already exists`);
  }
}

/** Optimistic concurrency: the stored revision is not the one the writer read. */
export class ConflictError extends TabbyError {
  override readonly code = 'CONFLICT';
  constructor(readonly kind: string, readonly resourceName: string, readonly expected: string, readonly actual: string) {
    super(`${kind} ${JSON.stringify(resourceName)} was modified: expected revision ${expected}, store has ${actual}`);
  }
}

export class DatastoreError extends TabbyError {
  override readonly code: string = 'DATASTORE';
}

/** A command line that cannot run as given: a missing or conflicting option. */
export class UsageError extends TabbyError {
  override readonly code = 'USAGE';
}

/** An operation the object's state does not allow, such as starting what was stopped. */
export class StateError extends TabbyError {
  override readonly code = 'INVALID_STATE';
}

/** A kernel call made by the native addon failed. */
export class NativeError extends TabbyError {
  override readonly code: string = 'NATIVE';
  constructor(readonly op: string, readonly errno: number, message: string, options?: { cause?: unknown }) {
    super(`${op}: ${message}${errno ? ` (errno ${errno})` : ''}`, options);
  }
}

export class NetlinkError extends NativeError {
  override readonly code = 'NETLINK';
}

export class BpfLoadError extends NativeError {
  override readonly code = 'BPF';
}
