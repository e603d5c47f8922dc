// Behaviour every Datastore backend must show. `open` must return a fresh, empty store
// each call; the caller's hooks clean up whatever it creates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlreadyExistsError, ConflictError, NotFoundError, TabbyError } from '../../../src/errors.js';
import type { Datastore, StoredResource, TxnOp, WatchEvent, WatchOptions } from '../../../src/datastore/datastore.js';

export function res(kind: string, name: string, spec: unknown = {}, resourceVersion?: string): StoredResource {
  const metadata: StoredResource['metadata'] = { name };
  if (resourceVersion !== undefined) metadata.resourceVersion = resourceVersion;
  return { apiVersion: 'projectcalico.org/v3', kind, metadata, spec };
}

/** Resolves with the first `n` events, or rejects after `ms`. Always closes the watcher. */
export function collect(ds: Datastore, opts: Omit<WatchOptions, 'onEvent' | 'onError'>, n: number, ms = 3000): Promise<WatchEvent[]> {
  return new Promise((resolve, reject) => {
    const got: WatchEvent[] = [];
    const timer = setTimeout(() => {
      w.close();
      reject(new Error(`timed out after ${ms} ms with ${got.length}/${n} events: ${JSON.stringify(got.map(brief))}`));
    }, ms);
    const w = ds.watch({
      ...opts,
      onEvent: (e) => {
        got.push(e);
        if (got.length === n) {
          clearTimeout(timer);
          w.close();
          resolve(got);
        }
      },
      onError: (err) => {
        clearTimeout(timer);
        reject(err);
      },
    });
  });
}

export function brief(e: WatchEvent): string {
  return `${e.type} ${e.kind}/${e.name}@${e.revision}`;
}

const rv = (r: StoredResource | undefined) => Number(r?.metadata.resourceVersion);

export function runDatastoreContract(name: string, open: () => Promise<Datastore>): void {
  // Each case gets its own store, closed even when the case fails.
  const withStore = (title: string, fn: (ds: Datastore) => Promise<void>) =>
    test(`${name}: ${title}`, { timeout: 20_000 }, async () => {
      const ds = await open();
      try {
        await fn(ds);
      } finally {
        await ds.close();
      }
    });

  withStore('empty store: get is undefined, list is empty', async (ds) => {
    assert.equal(await ds.get('BGPPeer', 'nope'), undefined);
    const l = await ds.list();
    assert.deepEqual(l.items, []);
    assert.ok(Number.isSafeInteger(l.revision) && l.revision >= 0);
  });

  withStore('create sets resourceVersion, uid, creationTimestamp; get returns it', async (ds) => {
    const before = (await ds.list()).revision;
    const created = await ds.create(res('BGPPeer', 'p1', { peerIP: '10.0.0.1', asNumber: 64512 }));
    assert.ok(rv(created) > before);
    assert.match(created.metadata.uid ?? '', /^[0-9a-f-]{36}$/);
    assert.ok(!Number.isNaN(Date.parse(created.metadata.creationTimestamp ?? '')));
    assert.deepEqual(created.spec, { peerIP: '10.0.0.1', asNumber: 64512 });
    assert.deepEqual(await ds.get('BGPPeer', 'p1'), created);
    assert.ok((await ds.list()).revision >= rv(created));
  });

  withStore('returned objects are copies', async (ds) => {
    const input = res('Node', 'n1', { a: 1 });
    const created = await ds.create(input);
    (input.spec as { a: number }).a = 2;
    (created.spec as { a: number }).a = 3;
    const got = await ds.get('Node', 'n1');
    assert.deepEqual(got?.spec, { a: 1 });
    (got!.spec as { a: number }).a = 4;
    (await ds.list()).items[0]!.metadata.name = 'changed';
    assert.deepEqual((await ds.get('Node', 'n1'))?.spec, { a: 1 });
    assert.equal((await ds.list()).items[0]!.metadata.name, 'n1');
  });

  withStore('create of an existing resource fails with AlreadyExistsError', async (ds) => {
    await ds.create(res('IPPool', 'pool'));
    await assert.rejects(ds.create(res('IPPool', 'pool')), (e) => e instanceof AlreadyExistsError && e.kind === 'IPPool' && e.resourceName === 'pool');
    // Same name, other kind: a different resource.
    await ds.create(res('BGPPeer', 'pool'));
  });

  withStore('update: unconditional without resourceVersion, keeps uid and creationTimestamp', async (ds) => {
    const a = await ds.create(res('Node', 'n', { v: 1 }));
    const b = await ds.update(res('Node', 'n', { v: 2 }));
    assert.ok(rv(b) > rv(a));
    assert.equal(b.metadata.uid, a.metadata.uid);
    assert.equal(b.metadata.creationTimestamp, a.metadata.creationTimestamp);
    assert.deepEqual((await ds.get('Node', 'n'))?.spec, { v: 2 });
    // Conditional on the current version succeeds.
    const c = await ds.update(res('Node', 'n', { v: 3 }, b.metadata.resourceVersion));
    assert.ok(rv(c) > rv(b));
  });

  withStore('error cases (table)', async (ds) => {
    const a = await ds.create(res('Node', 'n', { v: 1 }));
    const stale = a.metadata.resourceVersion!;
    await ds.update(res('Node', 'n', { v: 2 }));
    const cases: { title: string; run: () => Promise<unknown>; err: new (...a: never[]) => Error }[] = [
      { title: 'update missing', run: () => ds.update(res('Node', 'missing')), err: NotFoundError },
      { title: 'update missing with version', run: () => ds.update(res('Node', 'missing', {}, '1')), err: NotFoundError },
      { title: 'update stale', run: () => ds.update(res('Node', 'n', { v: 9 }, stale)), err: ConflictError },
      { title: 'delete missing', run: () => ds.delete('Node', 'missing'), err: NotFoundError },
      { title: 'delete stale', run: () => ds.delete('Node', 'n', stale), err: ConflictError },
      { title: 'create existing', run: () => ds.create(res('Node', 'n')), err: AlreadyExistsError },
      { title: 'txn update stale', run: () => ds.txn([{ op: 'update', resource: res('Node', 'n', {}, stale) }]), err: ConflictError },
      { title: 'create without name', run: () => ds.create(res('Node', '')), err: TabbyError },
      { title: 'create without kind', run: () => ds.create(res('', 'x')), err: TabbyError },
    ];
    const before = await ds.list();
    for (const c of cases) {
      await assert.rejects(c.run(), c.err, c.title);
    }
    assert.deepEqual((await ds.list()).items, before.items, 'failed writes change nothing');
    const conflict = await ds.update(res('Node', 'n', {}, stale)).catch((e: unknown) => e);
    assert.ok(conflict instanceof ConflictError);
    assert.equal(conflict.expected, stale);
  });

  withStore('delete returns the last stored version and removes it', async (ds) => {
    const a = await ds.create(res('BGPPeer', 'p', { x: 1 }));
    const d = await ds.delete('BGPPeer', 'p', a.metadata.resourceVersion);
    assert.deepEqual(d, a);
    assert.equal(await ds.get('BGPPeer', 'p'), undefined);
    assert.ok((await ds.list()).revision > rv(a), 'a delete is a revision');
    await ds.create(res('BGPPeer', 'p'));
    await ds.delete('BGPPeer', 'p'); // unconditional
    assert.equal(await ds.get('BGPPeer', 'p'), undefined);
  });

  withStore('list is sorted by kind then name and filters by kind', async (ds) => {
    for (const [k, n] of [['Node', 'b'], ['BGPPeer', 'z'], ['Node', 'a'], ['BGPPeer', 'a'], ['IPPool', 'm']] as const) {
      await ds.create(res(k, n));
    }
    const all = await ds.list();
    assert.deepEqual(all.items.map((r) => `${r.kind}/${r.metadata.name}`), ['BGPPeer/a', 'BGPPeer/z', 'IPPool/m', 'Node/a', 'Node/b']);
    assert.ok(all.revision >= Math.max(...all.items.map(rv)));
    const nodes = await ds.list('Node');
    assert.deepEqual(nodes.items.map((r) => r.metadata.name), ['a', 'b']);
    assert.ok(nodes.revision >= all.revision);
    assert.deepEqual((await ds.list('Nothing')).items, []);
  });

  withStore('revisions strictly increase across writes', async (ds) => {
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) seen.push(rv(await ds.create(res('Node', `n${i}`))));
    seen.push(rv(await ds.update(res('Node', 'n0'))));
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, `revision ${seen[i]} after ${seen[i - 1]}`);
  });

  withStore('concurrent writes get distinct revisions', async (ds) => {
    const out = await Promise.all(Array.from({ length: 30 }, (_, i) => ds.create(res('Node', `c${i}`))));
    assert.equal(new Set(out.map(rv)).size, 30);
    assert.equal((await ds.list('Node')).items.length, 30);
  });

  withStore('txn: all ops share one revision', async (ds) => {
    await ds.create(res('Node', 'old', { v: 1 }));
    await ds.create(res('Node', 'gone'));
    const out = await ds.txn([
      { op: 'create', resource: res('Node', 'new') },
      { op: 'update', resource: res('Node', 'old', { v: 2 }) },
      { op: 'upsert', resource: res('IPPool', 'up', { v: 1 }) },
      { op: 'delete', kind: 'Node', name: 'gone' },
    ]);
    assert.equal(out.length, 4);
    const revs = new Set(out.slice(0, 3).map(rv));
    assert.equal(revs.size, 1);
    assert.ok((await ds.list()).revision >= rv(out[0]));
    assert.equal(out[3]!.metadata.name, 'gone');
    assert.deepEqual((await ds.list()).items.map((r) => `${r.kind}/${r.metadata.name}`), ['IPPool/up', 'Node/new', 'Node/old']);
    assert.deepEqual(await ds.txn([]), []);
  });

  withStore('txn upsert creates then updates regardless of version', async (ds) => {
    const [a] = await ds.txn([{ op: 'upsert', resource: res('Node', 'u', { v: 1 }) }]);
    const [b] = await ds.txn([{ op: 'upsert', resource: res('Node', 'u', { v: 2 }, '999999') }]);
    assert.equal(b!.metadata.uid, a!.metadata.uid);
    assert.deepEqual((await ds.get('Node', 'u'))?.spec, { v: 2 });
  });

  withStore('txn is all or nothing (table)', async (ds) => {
    const a = await ds.create(res('Node', 'a', { v: 1 }));
    await ds.update(res('Node', 'a', { v: 2 }));
    const good: TxnOp = { op: 'create', resource: res('Node', 'fresh') };
    const cases: { title: string; bad: TxnOp; err: new (...a: never[]) => Error }[] = [
      { title: 'create existing', bad: { op: 'create', resource: res('Node', 'a') }, err: AlreadyExistsError },
      { title: 'update missing', bad: { op: 'update', resource: res('Node', 'zz') }, err: NotFoundError },
      { title: 'update stale', bad: { op: 'update', resource: res('Node', 'a', {}, a.metadata.resourceVersion) }, err: ConflictError },
      { title: 'delete missing', bad: { op: 'delete', kind: 'Node', name: 'zz' }, err: NotFoundError },
      { title: 'delete stale', bad: { op: 'delete', kind: 'Node', name: 'a', resourceVersion: a.metadata.resourceVersion! }, err: ConflictError },
      { title: 'same key twice', bad: { op: 'upsert', resource: res('Node', 'fresh') }, err: TabbyError },
    ];
    const before = await ds.list();
    for (const c of cases) {
      await assert.rejects(ds.txn([good, c.bad]), c.err, c.title);
      await assert.rejects(ds.txn([c.bad, good]), c.err, `${c.title} (first)`);
    }
    assert.deepEqual((await ds.list()).items, before.items);
  });

  withStore('watch delivers every change in order', async (ds) => {
    const from = (await ds.list()).revision;
    const events = collect(ds, { fromRevision: from }, 6);
    const p = await ds.create(res('BGPPeer', 'p', { v: 1 }));
    const p2 = await ds.update(res('BGPPeer', 'p', { v: 2 }));
    await ds.txn([
      { op: 'create', resource: res('Node', 'n') },
      { op: 'create', resource: res('IPPool', 'i') },
    ]);
    await ds.delete('BGPPeer', 'p');
    await ds.create(res('Node', 'last'));
    const got = await events;
    assert.deepEqual(got.map((e) => `${e.type} ${e.kind}/${e.name}`).slice(0, 2), ['put BGPPeer/p', 'put BGPPeer/p']);
    assert.deepEqual(new Set(got.slice(2, 4).map((e) => `${e.kind}/${e.name}`)), new Set(['Node/n', 'IPPool/i']));
    assert.deepEqual(got.slice(4).map((e) => `${e.type} ${e.kind}/${e.name}`), ['delete BGPPeer/p', 'put Node/last']);
    for (let i = 1; i < got.length; i++) assert.ok(got[i]!.revision >= got[i - 1]!.revision);
    assert.equal(got[2]!.revision, got[3]!.revision, 'one txn, one revision');
    const [e0, e1, , , e4] = got;
    assert.ok(e0?.type === 'put' && e1?.type === 'put' && e4?.type === 'delete');
    assert.deepEqual(e0.resource, p);
    assert.equal(e0.previous, undefined);
    assert.deepEqual(e1.resource, p2);
    assert.deepEqual(e1.previous, p);
    assert.equal(e1.revision, rv(p2));
    assert.deepEqual(e4.previous, p2);
    assert.ok(got.every((e) => e.revision > from));
  });

  withStore('watch fromRevision replays only later events', async (ds) => {
    await ds.create(res('Node', 'a'));
    const mid = (await ds.list()).revision;
    await ds.create(res('Node', 'b'));
    await ds.update(res('Node', 'a', { v: 2 }));
    const got = await collect(ds, { fromRevision: mid }, 2);
    assert.deepEqual(got.map((e) => `${e.type} ${e.name}`), ['put b', 'put a']);
    assert.ok(got[0]!.revision > mid && got[1]!.revision > got[0]!.revision);
    assert.ok(got.every((e) => e.type === 'put' && Number(e.resource.metadata.resourceVersion) === e.revision));
    // Replay then live: the watcher keeps going after the backlog.
    const live = collect(ds, { fromRevision: mid }, 3);
    await ds.delete('Node', 'b');
    assert.deepEqual((await live).map((e) => `${e.type} ${e.name}`), ['put b', 'put a', 'delete b']);
  });

  withStore('watch from the current revision sees nothing old', async (ds) => {
    await ds.create(res('Node', 'old'));
    const now = (await ds.list()).revision;
    const events = collect(ds, { fromRevision: now }, 1);
    await ds.create(res('Node', 'new'));
    assert.deepEqual((await events).map((e) => e.name), ['new']);
  });

  withStore('watch kind filter', async (ds) => {
    const from = (await ds.list()).revision;
    const nodes = collect(ds, { fromRevision: from, kind: 'Node' }, 2);
    await ds.create(res('BGPPeer', 'x'));
    await ds.create(res('Node', 'n1'));
    await ds.txn([
      { op: 'create', resource: res('IPPool', 'y') },
      { op: 'create', resource: res('Node', 'n2') },
    ]);
    await ds.delete('BGPPeer', 'x');
    const got = await nodes;
    assert.deepEqual(got.map((e) => `${e.kind}/${e.name}`), ['Node/n1', 'Node/n2']);
  });

  withStore('closed watcher gets no more events; others keep going', async (ds) => {
    const from = (await ds.list()).revision;
    const seen: string[] = [];
    const w = ds.watch({ fromRevision: from, onEvent: (e) => seen.push(e.name) });
    const other = collect(ds, { fromRevision: from }, 2);
    await ds.create(res('Node', 'a'));
    await waitFor(() => seen.length === 1);
    w.close();
    await ds.create(res('Node', 'b'));
    assert.deepEqual((await other).map((e) => e.name), ['a', 'b']);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(seen, ['a']);
  });

  withStore('several watchers each see the full sequence', async (ds) => {
    const from = (await ds.list()).revision;
    const ws = [collect(ds, { fromRevision: from }, 10), collect(ds, { fromRevision: from }, 10)];
    for (let i = 0; i < 10; i++) await ds.create(res('Node', `n${i}`));
    const [a, b] = await Promise.all(ws);
    assert.deepEqual(a!.map(brief), b!.map(brief));
    assert.deepEqual(a!.map((e) => e.name), Array.from({ length: 10 }, (_, i) => `n${i}`));
  });
}

export async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
