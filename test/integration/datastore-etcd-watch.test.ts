// The etcd watcher's resume, de-duplication and resync rules, driven through fake Watch
// streams so every corner (overlapping replays, a txn's events sharing a revision,
// compaction mid-way) happens on purpose. The real-etcd behaviour is in datastore-etcd.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { IKeyValue, IWatchCreateRequest, IWatchResponse } from 'etcd3';
import { EtcdWatch } from '../../src/datastore/etcd-watch.js';
import { KeyCodec } from '../../src/datastore/etcd-codec.js';
import type { EtcdConnection, PagedRange } from '../../src/datastore/etcd-client.js';
import { CompactedError } from '../../src/datastore/compacted.js';
import type { WatchEvent } from '../../src/datastore/datastore.js';
import { brief, waitFor } from '../unit/datastore/contract.js';

const codec = new KeyCodec('/tabby/v3/');

class FakeStream extends EventEmitter {
  create?: IWatchCreateRequest;
  canceled = false;
  write(req: { create_request?: IWatchCreateRequest }): void {
    this.create = req.create_request;
  }
  cancel(): void {
    this.canceled = true;
  }
  end(): void {}
  respond(r: Partial<IWatchResponse>): void {
    this.emit('data', { header: { revision: '0' }, watch_id: '0', created: false, canceled: false, compact_revision: '0', cancel_reason: '', fragment: false, events: [], ...r });
  }
}

function kv(name: string, rev: number, spec: unknown = {}): IKeyValue {
  const value = JSON.stringify({ apiVersion: 'v', kind: 'Node', metadata: { name, uid: `u-${name}` }, spec });
  return { key: Buffer.from(codec.key('Node', name)), value: Buffer.from(value), mod_revision: String(rev), create_revision: String(rev), version: '1', lease: '0' };
}
const put = (name: string, rev: number, spec?: unknown) => ({ type: 'Put' as const, kv: kv(name, rev, spec), prev_kv: undefined as unknown as IKeyValue });
const del = (name: string, rev: number, prev: IKeyValue) => ({ type: 'Delete' as const, kv: { ...kv(name, rev), value: Buffer.alloc(0) }, prev_kv: prev });

function fakeConnection(ranges: (scope: Buffer, revision?: number) => PagedRange, onCompacted: 'resync' | 'error' = 'resync') {
  const streams: FakeStream[] = [];
  const conn = {
    opts: { onCompacted, watchRetryMaxMs: 20 },
    where: 'etcd fake',
    wrap: (what: string, err: unknown) => new Error(`${what}: ${String(err)}`),
    openWatchStream: async () => {
      const s = new FakeStream();
      streams.push(s);
      return s;
    },
    rangePrefix: async (scope: Buffer, revision?: number) => ranges(scope, revision),
  };
  return { conn: conn as unknown as EtcdConnection, streams };
}

test('etcd watch: resumes at last delivered + 1, drops replayed revisions, keeps a txn whole, resyncs after compaction', async () => {
  let current: PagedRange = { kvs: [], revision: 10 };
  const baselineAt: (number | undefined)[] = [];
  const { conn, streams } = fakeConnection((_scope, revision) => {
    baselineAt.push(revision);
    return current;
  });
  const events: WatchEvent[] = [];
  const errors: Error[] = [];
  const w = new EtcdWatch(conn, codec, { fromRevision: 10, kind: 'Node', onEvent: (e) => events.push(e), onError: (e) => errors.push(e) }, () => {});
  try {
    await waitFor(() => streams.length === 1 && !!streams[0]!.create);
    assert.deepEqual(baselineAt, [10], 'baseline read at fromRevision');
    const s1 = streams[0]!;
    assert.equal(Number(s1.create!.start_revision), 11);
    assert.equal(s1.create!.key!.toString(), '/tabby/v3/Node/');
    s1.respond({ created: true, header: { revision: '12' } as IWatchResponse['header'] });
    s1.respond({ events: [put('a', 11)] });
    s1.respond({ events: [put('b', 12)] });
    s1.emit('error', new Error('14 UNAVAILABLE: connection dropped'));

    await waitFor(() => streams.length === 2 && !!streams[1]!.create);
    const s2 = streams[1]!;
    assert.equal(Number(s2.create!.start_revision), 13, 'resume after the last delivered revision');
    // A replay overlapping what was delivered, then the same revision again.
    s2.respond({ events: [put('b', 12), put('c', 13)] });
    s2.respond({ events: [put('c', 13)] });
    // One txn: two events, one revision, both delivered.
    s2.respond({ events: [put('d', 14), put('e', 14)] });
    assert.deepEqual(events.map(brief), ['put Node/a@11', 'put Node/b@12', 'put Node/c@13', 'put Node/d@14', 'put Node/e@14']);
    // A progress notice moves the resume point without events.
    s2.respond({ header: { revision: '16' } as IWatchResponse['header'] });
    s2.emit('end');
    await waitFor(() => streams.length === 3 && !!streams[2]!.create);
    const s3 = streams[2]!;
    assert.equal(Number(s3.create!.start_revision), 17);

    // Compacted while away: list again; a unchanged, b deleted, c changed, d/e unchanged, f new.
    current = { kvs: [kv('a', 11), kv('c', 18, { v: 2 }), kv('d', 14), kv('e', 14), kv('f', 19)], revision: 21 };
    s3.respond({ compact_revision: '20', canceled: true });
    await waitFor(() => streams.length === 4 && !!streams[3]!.create);
    assert.deepEqual(events.slice(5).map(brief), ['put Node/c@18', 'put Node/f@19', 'delete Node/b@21']);
    const [pc, , db] = events.slice(5);
    assert.ok(pc?.type === 'put' && db?.type === 'delete');
    assert.equal(pc.previous?.metadata.resourceVersion, '13');
    assert.equal(db.previous.metadata.name, 'b');
    assert.equal(Number(streams[3]!.create!.start_revision), 22);
    assert.ok(s1.canceled && s3.canceled, 'broken streams are cancelled');
    streams[3]!.respond({ events: [del('a', 22, kv('a', 11))] });
    assert.equal(brief(events.at(-1)!), 'delete Node/a@22');
    assert.deepEqual(errors, []);
    assert.deepEqual(w.stats, { reconnects: 2, resyncs: 1 });
  } finally {
    w.close();
  }
  assert.ok(streams[3]!.canceled, 'close cancels the stream');
});

test('etcd watch: compaction in error mode stops with CompactedError at the last delivered revision', async () => {
  const { conn, streams } = fakeConnection(() => ({ kvs: [], revision: 5 }), 'error');
  const errors: Error[] = [];
  const events: WatchEvent[] = [];
  const w = new EtcdWatch(conn, codec, { fromRevision: 5, onEvent: (e) => events.push(e), onError: (e) => errors.push(e) }, () => {});
  try {
    await waitFor(() => streams.length === 1 && !!streams[0]!.create);
    streams[0]!.respond({ events: [put('a', 7)] });
    streams[0]!.emit('error', new Error('gone'));
    await waitFor(() => streams.length === 2 && !!streams[1]!.create);
    streams[1]!.respond({ compact_revision: '9', canceled: true });
    assert.equal(errors.length, 1);
    const err = errors[0];
    assert.ok(err instanceof CompactedError);
    assert.equal(err.fromRevision, 7);
    assert.equal(err.compactRevision, 9);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(streams.length, 2, 'a stopped watcher does not reconnect');
  } finally {
    w.close();
  }
});

test('etcd watch: an onEvent that throws stops the watcher with onError', async () => {
  const { conn, streams } = fakeConnection(() => ({ kvs: [], revision: 0 }));
  const boom = new Error('boom');
  const errors: Error[] = [];
  const w = new EtcdWatch(conn, codec, { fromRevision: 0, onEvent: () => { throw boom; }, onError: (e) => errors.push(e) }, () => {});
  try {
    await waitFor(() => streams.length === 1 && !!streams[0]!.create);
    streams[0]!.respond({ events: [put('a', 1)] });
    assert.deepEqual(errors, [boom]);
    assert.ok(streams[0]!.canceled);
  } finally {
    w.close();
  }
});
