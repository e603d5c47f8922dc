// A 3-member etcd cluster opened through the URI listing all members: with any one
// member killed, reads, writes and watches go on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatastore } from '../../src/datastore/open.js';
import type { EtcdWatch } from '../../src/datastore/etcd-watch.js';
import type { WatchEvent } from '../../src/datastore/datastore.js';
import { brief, res, waitFor } from '../unit/datastore/contract.js';
import { ETCD_BIN, ETCDCTL_BIN, startEtcdCluster } from '../helpers/etcd.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ tools: [ETCD_BIN, ETCDCTL_BIN] });

test('etcd cluster: each member in turn killed: reads, writes and watches keep working', { ...NEEDS, timeout: 90_000 }, async () => {
  const cluster = await startEtcdCluster(3);
  const ds = await openDatastore(cluster.uri);
  try {
    const from = (await ds.list()).revision;
    // Several watchers, so that some stream sits on every member that gets killed.
    const watchers = Array.from({ length: 4 }, () => {
      const events: WatchEvent[] = [];
      const errors: Error[] = [];
      const w = ds.watch({ fromRevision: from, kind: 'Node', onEvent: (e) => events.push(e), onError: (e) => errors.push(e) }) as EtcdWatch;
      return { events, errors, w };
    });
    const names: string[] = [];
    for (let k = 0; k < 3; k++) {
      await cluster.stopMember(k, 'SIGKILL');
      for (let i = 0; i < 8; i++) {
        const name = `m${k}-${i}`;
        const created = await ds.create(res('Node', name, { k }));
        names.push(name);
        assert.deepEqual(await ds.get('Node', name), created);
      }
      const updated = await ds.update(res('Node', `m${k}-0`, { k, updated: true }));
      assert.equal((await ds.get('Node', `m${k}-0`))?.metadata.resourceVersion, updated.metadata.resourceVersion);
      names.push(`m${k}-0`);
      assert.equal((await ds.list('Node')).items.length, 8 * (k + 1));
      await waitFor(() => watchers.every((x) => x.events.length >= names.length), 10_000);
      await cluster.startMember(k);
    }
    for (const x of watchers) {
      assert.deepEqual(x.errors, []);
      // Its first stream sat on some member, and every member was killed once.
      assert.ok(x.w.stats.reconnects >= 1, 'the watcher lost its stream at least once');
      assert.deepEqual(x.events.map((e) => e.name), names);
      for (let i = 1; i < x.events.length; i++) assert.ok(x.events[i]!.revision > x.events[i - 1]!.revision, brief(x.events[i]!));
      x.w.close();
    }
  } finally {
    await ds.close();
    await cluster.stop();
  }
});
