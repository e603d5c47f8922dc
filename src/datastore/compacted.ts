import { DatastoreError } from '../errors.js';

/**
 * Passed to WatchOptions.onError when the events after `fromRevision` are no longer
 * retained. Deletes in the lost range cannot be reconstructed from the current state, so
 * rather than deliver a partial difference the watcher stops; the caller re-lists (which
 * gives a fresh revision) and watches again from there — the same contract as etcd.
 */
export class CompactedError extends DatastoreError {
  override readonly code = 'COMPACTED';
  constructor(readonly fromRevision: number, readonly compactRevision: number) {
    super(
      `watch from revision ${fromRevision} is no longer possible: events up to revision ${compactRevision} were compacted; list again and watch from the list revision`,
    );
  }
}
