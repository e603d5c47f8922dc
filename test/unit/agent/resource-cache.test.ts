// The agent's resource cache with a store that goes away: the last state stays, `ready`
// turns false (probe and lost watch alike), and it re-lists and watches again when the
// store is back, picking up changes made meanwhile.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ResourceCache } from '../../../src/agent/resource-cache.js';
import type { Datastore, StoredResource, WatchOptions } from '../../../src/datastore/datastore.js';
import { silentLogger } from '../../../src/util/log.js';
import { waitFor } from '../../../src/util/exec.js';

const res = (kind: string, name: string, spec: unknown = {}): StoredResource => ({ apiVersion: 'projectcalico.org/v3', kind, metadata: { name }, spec });

/** An in-memory store that can be switched off: every call then fails, watches get an error. */
class FlakyStore {
  items = new Map<string, StoredResource>();
  revision = 1;
  down = false;
  watches = new Set<WatchOptions>();

  private check(): void {
    if (this.down) throw new Error('etcd http://x:2379: 14 UNAVAILABLE: No connection established');
  }
  async get(kind: string, name: string) {
    this.check();
    return this.items.get(`${kind}/${name}`);
  }
  async list() {
    this.check();
    return { items: [...this.items.values()], revision: this.revision };
  }
  put(r: StoredResource): void {
    this.items.set(`${r.kind}/${r.metadata.name}`, r);
    this.revision++;
    if (!this.down) for (const w of this.watches) w.onEvent({ type: 'put', revision: this.revision, kind: r.kind, name: r.metadata.name, resource: r });
  }
  goDown(): void {
    this.down = true;
    for (const w of [...this.watches]) w.onError?.(new Error('watch stream lost'));
    this.watches.clear();
  }
  watch(o: WatchOptions) {
    this.watches.add(o);
    return { close: () => this.watches.delete(o) };
  }
}

test('the cache keeps its state while the store is gone and resynchronises when it is back', async () => {
  const store = new FlakyStore();
  store.put(res('BGPConfiguration', 'default', { asNumber: 64512 }));
  let changes = 0;
  const cache = new ResourceCache(store as unknown as Datastore, () => changes++, silentLogger);
  try {
    await cache.start(50);
    assert.equal(cache.ready, true);
    assert.equal(cache.get<{ spec: { asNumber: number } }>('BGPConfiguration', 'default')?.spec.asNumber, 64512);

    store.goDown();
    await waitFor('not ready', () => !cache.ready, 2000, 10);
    // Meanwhile the last known state is still served.
    assert.equal(cache.list('BGPConfiguration').length, 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(cache.ready, false, 'stays not ready while the store is down');

    // A change made while the agent could not see it, then the store comes back.
    store.put(res('BGPConfiguration', 'default', { asNumber: 64513 }));
    store.down = false;
    await waitFor('ready again', () => cache.ready, 15_000, 10);
    assert.equal(cache.get<{ spec: { asNumber: number } }>('BGPConfiguration', 'default')?.spec.asNumber, 64513, 'the re-list brought the change');

    // And the new watch delivers later changes.
    const before = changes;
    store.put(res('IPPool', 'second'));
    await waitFor('watch event', () => cache.get('IPPool', 'second'), 2000, 10);
    assert.ok(changes > before);
  } finally {
    cache.close();
  }
});

test('start() waits for a store that does not answer yet, retrying with back-off (fake timers)', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const store = new FlakyStore();
  store.put(res('BGPConfiguration', 'default'));
  store.down = true;
  const lists = { n: 0 };
  const list = store.list.bind(store);
  store.list = async () => {
    lists.n++;
    return list();
  };
  const cache = new ResourceCache(store as unknown as Datastore, () => undefined, silentLogger);
  let started = false;
  const p = cache.start(60_000).then(() => (started = true));
  const flush = () => new Promise((r) => setImmediate(r));
  for (let i = 0; i < 5; i++) {
    await flush();
    t.mock.timers.tick(15_000);
  }
  await flush();
  assert.equal(started, false);
  assert.ok(lists.n >= 5, `retried (${lists.n} lists)`);
  assert.match(cache.lastError ?? '', /UNAVAILABLE/);
  store.down = false;
  for (let i = 0; i < 3 && !started; i++) {
    t.mock.timers.tick(15_000);
    await flush();
  }
  await p;
  assert.equal(cache.ready, true);
  cache.close();
});
