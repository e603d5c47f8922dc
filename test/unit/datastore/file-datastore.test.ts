import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, rmdir, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileDatastore, type FileDatastoreOptions } from '../../../src/datastore/file-datastore.js';
import { CompactedError } from '../../../src/datastore/compacted.js';
import { trimEvents } from '../../../src/datastore/file-apply.js';
import type { WatchEvent } from '../../../src/datastore/datastore.js';
import { DatastoreError } from '../../../src/errors.js';
import { collect, res, runDatastoreContract, waitFor } from './contract.js';

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tabby-ds-'));
  dirs.push(d);
  return d;
}

runDatastoreContract('file', async () => new FileDatastore(await tempDir()));
// A store directory that does not exist yet behaves the same.
runDatastoreContract('file (missing dir)', async () => new FileDatastore(join(await tempDir(), 'a', 'b')));

/** Each case gets fresh stores; all are closed afterwards. */
function fileTest(title: string, fn: (dir: string, open: (o?: FileDatastoreOptions, at?: string) => FileDatastore) => Promise<void>) {
  test(`file: ${title}`, { timeout: 20_000 }, async () => {
    const dir = await tempDir();
    const opened: FileDatastore[] = [];
    try {
      await fn(dir, (o, at = dir) => {
        const ds = new FileDatastore(at, o);
        opened.push(ds);
        return ds;
      });
    } finally {
      await Promise.all(opened.map((d) => d.close()));
    }
  });
}

fileTest('missing directory reads as empty at revision 0 and is created 0700 on first write', async (base, open) => {
  const dir = join(base, 'store');
  const ds = open({}, dir);
  assert.deepEqual(await ds.list(), { items: [], revision: 0 });
  await assert.rejects(stat(dir), { code: 'ENOENT' });
  await ds.create(res('Node', 'n'));
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  assert.equal((await stat(join(dir, 'store.json'))).mode & 0o777, 0o600);
});

fileTest('revision counts writes exactly; txn is one revision', async (dir, open) => {
  const ds = open();
  const a = await ds.create(res('Node', 'a'));
  assert.equal(a.metadata.resourceVersion, '1');
  await ds.txn([
    { op: 'create', resource: res('Node', 'b') },
    { op: 'create', resource: res('Node', 'c') },
  ]);
  await assert.rejects(ds.create(res('Node', 'a')));
  await ds.delete('Node', 'a');
  assert.equal((await ds.list()).revision, 3);
  const onDisk = JSON.parse(await readFile(join(dir, 'store.json'), 'utf8'));
  assert.equal(onDisk.formatVersion, 1);
  assert.equal(onDisk.revision, 3);
  assert.deepEqual(Object.keys(onDisk.resources).sort(), ['Node/b', 'Node/c']);
  assert.equal(onDisk.events.length, 4);
});

fileTest('state persists across instances; no temp files are left behind', async (dir, open) => {
  const a = open();
  for (let i = 0; i < 5; i++) await a.create(res('Node', `n${i}`));
  await a.close();
  const b = open();
  assert.equal((await b.list()).items.length, 5);
  assert.equal((await b.list()).revision, 5);
  assert.deepEqual((await readdir(dir)).sort(), ['store.json']);
});

fileTest('temp files left by a crashed writer are removed on the next write', async (dir, open) => {
  const ds = open();
  await ds.create(res('Node', 'x'));
  await writeFile(join(dir, '.store.json.99999.dead.tmp'), 'partial');
  await open().create(res('Node', 'y'));
  assert.deepEqual((await readdir(dir)).sort(), ['store.json']);
});

const corruptions: { title: string; content: string; match: RegExp }[] = [
  { title: 'invalid JSON', content: '{"formatVersion":1, "revi', match: /corrupted.*invalid JSON/ },
  { title: 'empty file', content: '', match: /corrupted/ },
  { title: 'not an object', content: '[]', match: /corrupted/ },
  { title: 'future format', content: '{"formatVersion":99}', match: /unsupported datastore format version 99/ },
  { title: 'bad revision', content: '{"formatVersion":1,"revision":-1,"compactRevision":0,"resources":{},"events":[]}', match: /revision/ },
  { title: 'resource under the wrong key', content: '{"formatVersion":1,"revision":1,"compactRevision":0,"resources":{"Node/a":{"kind":"Node","metadata":{"name":"b"}}},"events":[]}', match: /Node\/a/ },
  { title: 'bad events', content: '{"formatVersion":1,"revision":1,"compactRevision":0,"resources":{},"events":{}}', match: /events/ },
];
for (const c of corruptions) {
  fileTest(`corrupted state (${c.title}) is a DatastoreError naming the file, never a reset`, async (dir, open) => {
    const file = join(dir, 'store.json');
    await writeFile(file, c.content);
    const ds = open();
    const isIt = (e: unknown) => e instanceof DatastoreError && e.message.includes(file) && c.match.test(e.message);
    await assert.rejects(ds.get('Node', 'x'), isIt);
    await assert.rejects(ds.list(), isIt);
    await assert.rejects(ds.create(res('Node', 'x')), isIt);
    await assert.rejects(FileDatastore.open(dir), isIt);
    const err = await new Promise<Error>((resolve) => ds.watch({ fromRevision: 0, onEvent: () => {}, onError: resolve }));
    assert.ok(isIt(err));
    assert.equal(await readFile(file, 'utf8'), c.content, 'file left as it was');
  });
}

fileTest('compaction: keeps the last maxEvents; too-old watch fails with CompactedError', async (_dir, open) => {
  const ds = open({ maxEvents: 5 });
  for (let i = 1; i <= 12; i++) await ds.create(res('Node', `n${i}`));
  const err = await new Promise<Error>((resolve, reject) => {
    ds.watch({ fromRevision: 3, onEvent: (e) => reject(new Error(`unexpected event ${e.name}`)), onError: resolve });
  });
  assert.ok(err instanceof CompactedError);
  assert.equal(err.fromRevision, 3);
  assert.equal(err.compactRevision, 7);
  // From the compaction point on, nothing is missing.
  const got = await collect(ds, { fromRevision: 7 }, 5);
  assert.deepEqual(got.map((e) => e.name), ['n8', 'n9', 'n10', 'n11', 'n12']);
  // The documented recovery: list, then watch from the list revision.
  const { revision } = await ds.list();
  const live = collect(ds, { fromRevision: revision }, 1);
  await ds.create(res('Node', 'n13'));
  assert.equal((await live)[0]!.name, 'n13');
});

fileTest('a live watcher with a kind filter is not hurt by compaction of other kinds', async (_dir, open) => {
  const ds = open({ maxEvents: 3 });
  const nodes = collect(ds, { fromRevision: 0, kind: 'Node' }, 2);
  await ds.create(res('Node', 'first'));
  for (let i = 0; i < 3; i++) await ds.create(res('BGPPeer', `p${i}`));
  await ds.create(res('Node', 'second'));
  assert.deepEqual((await nodes).map((e) => e.name), ['first', 'second']);
});

test('trimEvents never splits a revision and keeps the newest one whole', () => {
  const ev = (revision: number): WatchEvent => ({ type: 'delete', revision, kind: 'K', name: `n${revision}`, previous: res('K', 'x') });
  const revs = (es: WatchEvent[]) => es.map((e) => e.revision);
  const cases: { events: number[]; max: number; keep: number[]; compact: number }[] = [
    { events: [1, 2, 3], max: 5, keep: [1, 2, 3], compact: 0 },
    { events: [1, 2, 3, 4], max: 2, keep: [3, 4], compact: 2 },
    { events: [1, 2, 2, 3], max: 2, keep: [3], compact: 2 },
    { events: [1, 2, 2, 3, 3], max: 3, keep: [3, 3], compact: 2 },
    { events: [1, 3, 3, 3], max: 2, keep: [3, 3, 3], compact: 1 },
    { events: [3, 3, 3], max: 2, keep: [3, 3, 3], compact: 0 },
  ];
  for (const c of cases) {
    const out = trimEvents(c.events.map(ev), 0, c.max);
    assert.deepEqual(revs(out.events), c.keep, JSON.stringify(c));
    assert.equal(out.compactRevision, c.compact, JSON.stringify(c));
  }
});

fileTest('two instances on one dir: writes interleave safely and watchers see each other', async (_dir, open) => {
  const a = open();
  const b = open();
  const seenByA = collect(a, { fromRevision: 0, kind: 'Node' }, 40, 10_000);
  await Promise.all(
    Array.from({ length: 20 }, (_, i) => [a.create(res('Node', `a${i}`)), b.create(res('Node', `b${i}`))]).flat(),
  );
  const got = await seenByA;
  assert.equal(new Set(got.map((e) => e.name)).size, 40);
  assert.deepEqual(got.map((e) => e.revision), Array.from({ length: 40 }, (_, i) => i + 1));
});

for (const useFsWatch of [true, false]) {
  fileTest(`a write by another instance reaches a watcher within 1 s (fs.watch ${useFsWatch ? 'on' : 'off: polling only'})`, async (_dir, open) => {
    const watcher = open({ useFsWatch });
    const writer = open();
    await writer.create(res('Node', 'warmup'));
    const from = (await watcher.list()).revision;
    let arrived = 0;
    const got = collect(watcher, { fromRevision: from }, 1).then((e) => {
      arrived = Date.now();
      return e;
    });
    await new Promise((r) => setTimeout(r, 50));
    await writer.create(res('Node', 'remote'));
    const written = Date.now();
    assert.equal((await got)[0]!.name, 'remote');
    assert.ok(arrived - written < 1000, `took ${arrived - written} ms`);
  });
}

fileTest('watch rejects a bad fromRevision; closed store refuses work', async (_dir, open) => {
  const ds = open();
  assert.throws(() => ds.watch({ fromRevision: -1, onEvent: () => {} }), DatastoreError);
  assert.throws(() => ds.watch({ fromRevision: 1.5, onEvent: () => {} }), DatastoreError);
  await ds.close();
  await assert.rejects(ds.get('Node', 'x'), DatastoreError);
  await assert.rejects(ds.create(res('Node', 'x')), DatastoreError);
  assert.throws(() => ds.watch({ fromRevision: 0, onEvent: () => {} }), DatastoreError);
});

fileTest('an onEvent that throws stops that watcher with onError', async (_dir, open) => {
  const ds = open();
  const boom = new Error('boom');
  const err = new Promise<Error>((resolve) =>
    ds.watch({
      fromRevision: 0,
      onEvent: () => {
        throw boom;
      },
      onError: resolve,
    }),
  );
  await ds.create(res('Node', 'x'));
  assert.equal(await err, boom);
});

fileTest('close() leaves no timers behind (the process could exit)', async (_dir, open) => {
  const ds = open();
  ds.watch({ fromRevision: 0, onEvent: () => {} });
  ds.watch({ fromRevision: 0, kind: 'Node', onEvent: () => {} });
  await ds.create(res('Node', 'x'));
  const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'FSEventWrap').length;
  assert.ok(before >= 1);
  await ds.close();
  // Handle closes complete asynchronously.
  await waitFor(() => !process.getActiveResourcesInfo().includes('FSEventWrap'), 1000);
});

fileTest('a lock left by a crashed writer goes stale and is taken over', async (dir, open) => {
  const lock = join(dir, 'store.lock');
  await mkdir(lock);
  const old = new Date(Date.now() - 60_000);
  await utimes(lock, old, old);
  const t0 = Date.now();
  await open().create(res('Node', 'x'));
  assert.ok(Date.now() - t0 < 2000);
  await assert.rejects(stat(lock), { code: 'ENOENT' }, 'released after the write');
});

fileTest('a writer waits for a lock held by someone else', async (dir, open) => {
  const lock = join(dir, 'store.lock');
  await mkdir(lock);
  let done = false;
  const write = open()
    .create(res('Node', 'x'))
    .then(() => (done = true));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(done, false, 'must not write while the lock is held');
  await rmdir(lock);
  await write;
  assert.equal((await open().get('Node', 'x'))?.metadata.resourceVersion, '1');
});
