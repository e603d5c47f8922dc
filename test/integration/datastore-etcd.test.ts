// The etcd backend against a real etcd: the shared contract, writers in other processes,
// and watchers across an etcd restart, a broken connection and a compaction.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { EtcdDatastore, type EtcdDatastoreOptions } from '../../src/datastore/etcd-datastore.js';
import { CompactedError } from '../../src/datastore/compacted.js';
import { GRPCUnavailableError } from 'etcd3';
import { openDatastore } from '../../src/datastore/open.js';
import type { EtcdWatch } from '../../src/datastore/etcd-watch.js';
import type { StoredResource, WatchEvent } from '../../src/datastore/datastore.js';
import { brief, collect, res, runDatastoreContract, waitFor } from '../unit/datastore/contract.js';
import { etcdOptionsFromEnv } from '../../src/datastore/etcd-options.js';
import { ETCD_BIN, ETCDCTL_BIN, EtcdCluster, TcpProxy, startEtcd, stopProcess } from '../helpers/etcd.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ tools: [ETCD_BIN, ETCDCTL_BIN, 'openssl'] });

const WRITER = fileURLToPath(new URL('../fixtures/datastore-writer.js', import.meta.url));
const RACER = fileURLToPath(new URL('../fixtures/datastore-racer.js', import.meta.url));

// One etcd for the contract and the multi-process tests: each store gets its own prefix.
let shared: EtcdCluster | undefined;
before(async () => {
  if (!NEEDS.skip) shared = await startEtcd();
});
after(async () => {
  await shared?.stop();
});

const prefix = () => `/test-${randomUUID()}/tabby/v3/`;

if (!NEEDS.skip) runDatastoreContract('etcd', () => EtcdDatastore.open({ endpoints: shared!.endpoints, prefix: prefix() }));

test('etcd: openDatastore and TABBY_DATASTORE open the etcd backend; bad options fail clearly', NEEDS, async () => {
  const ds = await openDatastore(shared!.uri);
  try {
    assert.ok(ds instanceof EtcdDatastore);
    assert.equal(ds.prefix, '/tabby/v3/');
  } finally {
    await ds.close();
  }
  const saved = process.env.TABBY_DATASTORE;
  process.env.TABBY_DATASTORE = shared!.uri;
  try {
    const viaEnv = await openDatastore();
    await viaEnv.close();
    assert.ok(viaEnv instanceof EtcdDatastore);
  } finally {
    if (saved === undefined) delete process.env.TABBY_DATASTORE;
    else process.env.TABBY_DATASTORE = saved;
  }
  const bad: [EtcdDatastoreOptions, RegExp][] = [
    [{ endpoints: ['http://a:1', 'https://b:1'] }, /mix http/],
    [{ endpoints: ['http://a:1'], tls: { ca: Buffer.from('x') } }, /need https/],
    [{ endpoints: ['https://a:1'], tls: { cert: Buffer.from('x') } }, /needs its key/],
    [{ endpoints: ['http://a:1'], prefix: 'tabby' }, /prefix/],
  ];
  for (const [o, msg] of bad) await assert.rejects(EtcdDatastore.open(o), msg);
  // Nothing listens there: open fails within its connect timeout.
  const t0 = Date.now();
  await assert.rejects(EtcdDatastore.open({ endpoints: ['http://127.0.0.1:1'], connectTimeoutMs: 500 }), /cannot reach etcd/);
  assert.ok(Date.now() - t0 < 3000);
});

test('etcd: values are stored as JSON under /tabby/v3/<Kind>/<name>, versioned by mod_revision', NEEDS, async () => {
  const ds = await EtcdDatastore.open({ endpoints: shared!.endpoints });
  const raw = await EtcdDatastore.open({ endpoints: shared!.endpoints, prefix: '/' });
  try {
    const name = `layout-${randomUUID()}`;
    const created = await ds.create(res('BGPPeer', name, { peerIP: '10.0.0.1' }));
    // The same key read through a store rooted at "/": kind "tabby", name "v3/BGPPeer/<name>".
    const asRaw = await raw.get('tabby', `v3/BGPPeer/${name}`);
    assert.equal(asRaw, undefined, 'the stored value names its real kind, so it does not pass as another');
    const all = await raw.list();
    const stored = all.items.find((r) => r.metadata.name === name);
    assert.deepEqual(stored, created);
    await ds.delete('BGPPeer', name);
  } finally {
    await ds.close();
    await raw.close();
  }
});

interface WriterReport {
  revisions: string[];
  conflicts: number;
}

function runChild(script: string, args: string[], env: NodeJS.ProcessEnv = {}, ms = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      void stopProcess(child, 'SIGKILL');
      reject(new Error(`${script} timed out after ${ms} ms`));
    }, ms);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`${script} ${args.join(' ')} exited ${code}: ${err}`));
      else resolve(out);
    });
  });
}

test('etcd: two processes, contended read-modify-write: no lost update', { ...NEEDS, timeout: 60_000 }, async () => {
  const uri = shared!.uri;
  const tag = randomUUID().slice(0, 8);
  const startAt = String(Date.now() + 700);
  const [a, b] = (await Promise.all([
    runChild(WRITER, [uri, `a${tag}`, '40', '40'], { TABBY_TEST_START_AT: startAt }),
    runChild(WRITER, [uri, `b${tag}`, '40', '40'], { TABBY_TEST_START_AT: startAt }),
  ])).map((o) => JSON.parse(o) as WriterReport);
  const ds = await openDatastore(uri);
  try {
    assert.deepEqual((await ds.get('TestCounter', 'shared'))?.spec, { value: 80 });
    const items = (await ds.list('TestItem')).items.map((r) => r.metadata.name).filter((n) => n.includes(tag));
    assert.equal(items.length, 80);
    const all = [...a!.revisions, ...b!.revisions];
    assert.equal(new Set(all).size, all.length, 'every write got its own revision');
    console.log(`# conflicts retried: ${a!.conflicts + b!.conflicts}`);
    await ds.delete('TestCounter', 'shared');
  } finally {
    await ds.close();
  }
});

/** A racer child: sends rounds, reads answers line by line. */
class Racer {
  private readonly lines: string[] = [];
  private wake?: () => void;
  readonly proc: ChildProcess;
  constructor(uri: string, name: string, readonly id: string) {
    this.proc = spawn(process.execPath, [RACER, uri, name, id], { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.proc.stdout! }).on('line', (l) => {
      this.lines.push(l);
      this.wake?.();
    });
  }
  async next(ms = 10_000): Promise<any> {
    const end = Date.now() + ms;
    while (this.lines.length === 0) {
      if (Date.now() > end) throw new Error(`racer ${this.id}: no answer within ${ms} ms`);
      if (this.proc.exitCode !== null) throw new Error(`racer ${this.id} exited ${this.proc.exitCode}`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 50);
      });
    }
    return JSON.parse(this.lines.shift()!);
  }
  send(o: unknown): void {
    this.proc.stdin!.write(`${JSON.stringify(o)}\n`);
  }
}

test('etcd: two processes update the same revision at once: exactly one wins each round', { ...NEEDS, timeout: 60_000 }, async () => {
  const uri = shared!.uri;
  const name = `race-${randomUUID()}`;
  const racers = [new Racer(uri, name, 'x'), new Racer(uri, name, 'y')];
  const ds = await openDatastore(uri);
  try {
    for (const r of racers) assert.equal(await r.next(), 'ready');
    let current = await ds.create({ apiVersion: 'test/v1', kind: 'TestCounter', metadata: { name }, spec: { round: 0 } });
    const wins: Record<string, number> = { x: 0, y: 0 };
    for (let round = 1; round <= 20; round++) {
      const rv = current.metadata.resourceVersion!;
      const at = Date.now() + 30;
      for (const r of racers) r.send({ round, rv, at });
      const answers = await Promise.all(racers.map((r) => r.next()));
      const winners = answers.map((a, i) => (a.ok ? racers[i]!.id : undefined)).filter(Boolean);
      assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(answers)}`);
      const loser = answers.find((a) => !a.ok);
      assert.equal(loser.conflict, true, `round ${round}: the loser gets ConflictError: ${JSON.stringify(loser)}`);
      assert.equal(loser.expected, rv);
      current = (await ds.get('TestCounter', name))!;
      assert.deepEqual(current.spec, { round, by: winners[0] });
      assert.equal(current.metadata.resourceVersion, answers.find((a) => a.ok).rv);
      wins[winners[0]!]!++;
    }
    console.log(`# wins: ${JSON.stringify(wins)}`);
  } finally {
    for (const r of racers) r.proc.stdin!.end();
    await Promise.all(racers.map((r) => stopProcess(r.proc, 'SIGTERM', 5000)));
    await ds.close();
  }
});

/** A watcher that records everything, and fails the test on onError. */
function recorder(ds: EtcdDatastore, fromRevision: number, kind?: string) {
  const events: WatchEvent[] = [];
  const errors: Error[] = [];
  const w = ds.watch({ fromRevision, ...(kind ? { kind } : {}), onEvent: (e) => events.push(e), onError: (e) => errors.push(e) }) as EtcdWatch;
  return { events, errors, stats: w.stats, close: () => w.close() };
}

function assertInOrderOnce(events: WatchEvent[]): void {
  for (let i = 1; i < events.length; i++) assert.ok(events[i]!.revision > events[i - 1]!.revision, `out of order or duplicated: ${events.slice(i - 1, i + 1).map(brief)}`);
}

test('etcd: a watcher keeps receiving across etcd restarts (SIGTERM and SIGKILL), nothing lost or duplicated', { ...NEEDS, timeout: 60_000 }, async () => {
  const etcd = await startEtcd();
  const opened: EtcdDatastore[] = [];
  try {
    const ds = await EtcdDatastore.open({ endpoints: etcd.endpoints });
    const writer = await EtcdDatastore.open({ endpoints: etcd.endpoints });
    opened.push(ds, writer);
    const from = (await ds.list()).revision;
    const rec = recorder(ds, from, 'Node');
    const names: string[] = [];
    const write = async (name: string) => {
      await writer.create(res('Node', name));
      names.push(name);
    };
    for (let i = 0; i < 10; i++) await write(`a${i}`);
    await waitFor(() => rec.events.length === 10, 5000);
    // Restart while a writer keeps going: its writes wait out the outage (retry window).
    const writing = (async () => {
      for (let i = 0; i < 30; i++) await write(`b${i}`);
    })();
    await waitFor(() => rec.events.length >= 15, 5000);
    await etcd.restartMember(0, 'SIGTERM');
    await writing;
    await etcd.restartMember(0, 'SIGKILL');
    // Written before the watcher has reconnected: replayed from its last revision + 1.
    for (let i = 0; i < 10; i++) await write(`c${i}`);
    await waitFor(() => rec.events.length >= names.length, 10_000);
    await sleep(200);
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(rec.events.map((e) => e.name), names);
    assertInOrderOnce(rec.events);
    assert.ok(rec.stats.reconnects >= 2, `reconnects: ${rec.stats.reconnects}`);
    rec.close();
  } finally {
    await Promise.all(opened.map((d) => d.close()));
    await etcd.stop();
  }
});

test('etcd: broken connection (etcd stays up), then compaction: resume, re-list, deliver the difference', { ...NEEDS, timeout: 60_000 }, async () => {
  const etcd = await startEtcd();
  const proxy = await TcpProxy.start(etcd.endpoints[0]!);
  const opened: EtcdDatastore[] = [];
  try {
    const writer = await EtcdDatastore.open({ endpoints: etcd.endpoints });
    const ds = await EtcdDatastore.open({ endpoints: [proxy.url] });
    const strict = await EtcdDatastore.open({ endpoints: [proxy.url], onCompacted: 'error' });
    opened.push(writer, ds, strict);
    for (const n of ['a', 'b', 'c', 'd']) await writer.create(res('Node', n, { v: 1 }));
    await writer.create(res('BGPPeer', 'p'));
    const base = await ds.list('Node');

    // The caller's view, kept by applying events to the list it started from.
    const view = new Map(base.items.map((r) => [r.metadata.name, r]));
    const rec = recorder(ds, base.revision, 'Node');
    const strictRec = recorder(strict, base.revision, 'Node');
    const applied = () => {
      for (const e of rec.events.splice(0)) {
        if (e.type === 'put') view.set(e.name, e.resource);
        else view.delete(e.name);
        seen.push(e);
      }
    };
    const seen: WatchEvent[] = [];
    await writer.update(res('Node', 'a', { v: 2 }));
    await waitFor(() => rec.events.length === 1 && strictRec.events.length === 1, 5000);
    applied();

    // 1. Connection broken, no compaction: resumes from its last revision + 1.
    proxy.block();
    for (let i = 0; i < 5; i++) await writer.update(res('Node', 'a', { v: 10 + i }));
    proxy.unblock();
    await waitFor(() => rec.events.length === 5 && strictRec.events.length === 6, 10_000);
    applied();
    assert.deepEqual(seen.slice(1).map((e) => (e.type === 'put' ? (e.resource.spec as { v: number }).v : -1)), [10, 11, 12, 13, 14]);
    assert.ok(rec.stats.reconnects >= 1 && rec.stats.resyncs === 0);

    // 2. Connection broken, changes, compaction past everything the watcher saw.
    proxy.block();
    const cOld = (await writer.get('Node', 'c'))!;
    const bOld = (await writer.get('Node', 'b'))!;
    await writer.update(res('Node', 'b', { v: 2 }));
    await writer.delete('Node', 'c');
    await writer.create(res('Node', 'e'));
    await writer.create(res('Node', 'f'));
    await writer.delete('Node', 'f'); // came and went while away: never reported
    await writer.update(res('Node', 'd', { v: 2 }));
    await writer.update(res('Node', 'd', { v: 3 }));
    await writer.create(res('BGPPeer', 'q')); // another kind: not reported
    const compactAt = (await writer.list()).revision;
    await etcd.compact(compactAt);
    proxy.unblock();

    const truth = async () => new Map((await writer.list('Node')).items.map((r) => [r.metadata.name, r]));
    const want = await truth();
    await waitFor(() => rec.events.length >= 4, 10_000);
    await sleep(200);
    const diff = rec.events.slice();
    applied();
    assert.deepEqual(rec.errors, []);
    assert.equal(rec.stats.resyncs, 1);
    assert.deepEqual(view, want, 'the caller view equals the store after applying the difference');
    assert.deepEqual(diff.map((e) => `${e.type} ${e.name}`), ['put b', 'put e', 'put d', 'delete c']);
    const [pb, pe, pd, dc] = diff;
    assert.ok(pb?.type === 'put' && pe?.type === 'put' && pd?.type === 'put' && dc?.type === 'delete');
    assert.deepEqual(pb.previous, bOld);
    assert.equal(pe.previous, undefined);
    assert.deepEqual((pd.resource.spec as { v: number }).v, 3);
    assert.deepEqual(dc.previous, cOld);
    assert.equal(dc.revision, compactAt);
    assertInOrderOnce(seen.slice(0, -1)); // the resync's delete shares the list revision
    assert.ok(dc.revision >= pd.revision);

    // The 'error' mode (file-backend semantics) stops with CompactedError instead.
    await waitFor(() => strictRec.errors.length === 1, 10_000);
    const err = strictRec.errors[0];
    assert.ok(err instanceof CompactedError, String(err));
    assert.equal(err.compactRevision, compactAt);

    // And it goes on live after the resync.
    await writer.create(res('Node', 'g'));
    await waitFor(() => rec.events.length === 1, 5000);
    applied();
    assert.deepEqual(view, await truth());

    // Watching from a revision compacted before watch() was called: CompactedError in both modes.
    for (const d of [ds, strict]) {
      const e = await new Promise<Error>((resolve, reject) => {
        const w = d.watch({ fromRevision: base.revision, onEvent: (x) => reject(new Error(`unexpected ${brief(x)}`)), onError: resolve });
        setTimeout(() => {
          w.close();
          reject(new Error('no CompactedError within 5 s'));
        }, 5000).unref();
      });
      assert.ok(e instanceof CompactedError);
      assert.equal(e.fromRevision, base.revision);
      assert.equal(e.compactRevision, compactAt);
    }
    rec.close();
  } finally {
    await Promise.all(opened.map((d) => d.close()));
    await proxy.close();
    await etcd.stop();
  }
});

test('etcd: fromRevision ahead of the store: nothing up to it is delivered', NEEDS, async () => {
  const ds = await EtcdDatastore.open({ endpoints: shared!.endpoints, prefix: prefix() });
  try {
    const now = (await ds.list()).revision;
    const rec = recorder(ds, now + 3, 'Node');
    const written: StoredResource[] = [];
    for (let i = 0; i < 5; i++) written.push(await ds.create(res('Node', `n${i}`)));
    const wantAfter = written.filter((r) => Number(r.metadata.resourceVersion) > now + 3).map((r) => r.metadata.name);
    await waitFor(() => rec.events.length === wantAfter.length, 5000);
    await sleep(100);
    assert.deepEqual(rec.events.map((e) => e.name), wantAfter);
    rec.close();
  } finally {
    await ds.close();
  }
});

test('etcd: a write whose answer is lost is retried safely: applied once, reported as done', NEEDS, async () => {
  const ds = await EtcdDatastore.open({ endpoints: shared!.endpoints, prefix: prefix() });
  try {
    const kv = (ds as unknown as { conn: { client: { kv: { txn: (req: { compare?: unknown[] }) => Promise<unknown> } } } }).conn.client.kv;
    const realTxn = kv.txn.bind(kv);
    const lose = (mode: 'after' | 'before') => {
      let armed = true;
      kv.txn = async (req) => {
        // Only the guarded write txn (the snapshot read has no compares).
        if (!armed || !req.compare?.length) return realTxn(req);
        armed = false;
        if (mode === 'after') await realTxn(req);
        throw new GRPCUnavailableError('14 UNAVAILABLE: Connection dropped');
      };
    };
    const from = (await ds.list()).revision;
    for (const mode of ['after', 'before'] as const) {
      lose(mode);
      const a = await ds.create(res('Node', `a-${mode}`, { v: 1 }));
      assert.deepEqual(await ds.get('Node', `a-${mode}`), a, `create (${mode})`);
      lose(mode);
      const b = await ds.update(res('Node', `a-${mode}`, { v: 2 }, a.metadata.resourceVersion));
      assert.deepEqual(await ds.get('Node', `a-${mode}`), b, `update (${mode})`);
      lose(mode);
      const [c, d] = await ds.txn([
        { op: 'create', resource: res('Node', `c-${mode}`) },
        { op: 'upsert', resource: res('Node', `a-${mode}`, { v: 3 }) },
      ]);
      assert.equal(c!.metadata.resourceVersion, d!.metadata.resourceVersion);
      assert.deepEqual(await ds.get('Node', `a-${mode}`), d);
      lose(mode);
      assert.deepEqual(await ds.delete('Node', `c-${mode}`), c, `delete (${mode})`);
      assert.equal(await ds.get('Node', `c-${mode}`), undefined);
    }
    kv.txn = realTxn;
    // Each logical write is exactly one revision: 2 modes × 4 writes.
    assert.equal((await ds.list()).revision - from, 8);
  } finally {
    await ds.close();
  }
});

test('etcd: list reads large sets page by page', NEEDS, async () => {
  const ds = await EtcdDatastore.open({ endpoints: shared!.endpoints, prefix: prefix(), pageSize: 3 });
  try {
    await ds.txn(Array.from({ length: 10 }, (_, i) => ({ op: 'create' as const, resource: res('Node', `n${String(i).padStart(2, '0')}`) })));
    await ds.create(res('IPPool', 'p'));
    const l = await ds.list();
    assert.deepEqual(l.items.map((r) => r.metadata.name), ['p', ...Array.from({ length: 10 }, (_, i) => `n${String(i).padStart(2, '0')}`)]);
    assert.equal((await ds.list('Node')).items.length, 10);
  } finally {
    await ds.close();
  }
});

/** Runs `fn` with these environment variables set (undefined: unset), then restores them. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (v: Record<string, string | undefined>) => {
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) delete process.env[k];
      else process.env[k] = x;
    }
  };
  set(vars);
  try {
    return await fn();
  } finally {
    set(saved);
  }
}

/** Opens, writes and watches one resource: the whole path works. */
async function roundTrip(ds: Awaited<ReturnType<typeof openDatastore>>, name: string): Promise<void> {
  const from = (await ds.list()).revision;
  const events = collect(ds, { fromRevision: from }, 1);
  const created = await ds.create(res('Node', name));
  assert.deepEqual(await ds.get('Node', name), created);
  const [e] = await events;
  assert.ok(e?.type === 'put');
  assert.deepEqual(e.resource, created);
}

test('etcd: TLS with a client certificate from TABBY_ETCD_CA/CERT/KEY', { ...NEEDS, timeout: 30_000 }, async () => {
  const etcd = await startEtcd({ tls: true });
  try {
    const pki = etcd.pki!;
    assert.match(etcd.uri, /^etcd:https:/);
    await withEnv({ TABBY_ETCD_CA: pki.ca, TABBY_ETCD_CERT: pki.clientCert, TABBY_ETCD_KEY: pki.clientKey }, async () => {
      const ds = await openDatastore(etcd.uri);
      try {
        await roundTrip(ds, 'over-tls');
      } finally {
        await ds.close();
      }
    });
    // etcd requires a client certificate: without one the handshake fails.
    await withEnv({ TABBY_ETCD_CA: pki.ca, TABBY_ETCD_CERT: undefined, TABBY_ETCD_KEY: undefined }, () =>
      assert.rejects(EtcdDatastore.open({ endpoints: etcd.endpoints, ...etcdOptionsFromEnv(), connectTimeoutMs: 1000 }), /cannot reach etcd/),
    );
    await withEnv({ TABBY_ETCD_CA: '/nonexistent/ca.pem' }, () => assert.rejects(openDatastore(etcd.uri), /TABBY_ETCD_CA=\/nonexistent\/ca.pem: cannot read/));
  } finally {
    await etcd.stop();
  }
});

test('etcd: user and password from TABBY_ETCD_USERNAME/PASSWORD', { ...NEEDS, timeout: 30_000 }, async () => {
  const etcd = await startEtcd();
  try {
    for (const args of [
      ['user', 'add', 'root:rootpw'],
      ['user', 'grant-role', 'root', 'root'],
      ['role', 'add', 'tabby-rw'],
      ['role', 'grant-permission', 'tabby-rw', 'readwrite', '/tabby/v3/', '--prefix=true'],
      ['user', 'add', 'tabby:s3cret'],
      ['user', 'grant-role', 'tabby', 'tabby-rw'],
      ['auth', 'enable'],
    ]) {
      await etcd.etcdctl(args);
    }
    await withEnv({ TABBY_ETCD_USERNAME: 'tabby', TABBY_ETCD_PASSWORD: 's3cret' }, async () => {
      const ds = await openDatastore(etcd.uri);
      try {
        await roundTrip(ds, 'with-auth');
        // A restart forgets every auth token: the watcher must renew its own to resume
        // (the writes go through another client, so they do not renew it by chance).
        const writer = await openDatastore(etcd.uri);
        try {
          const rec = recorder(ds as EtcdDatastore, (await ds.list()).revision);
          await writer.create(res('Node', 'before-restart'));
          await waitFor(() => rec.events.length === 1, 5000);
          await etcd.restartMember(0);
          await writer.create(res('Node', 'after-restart'));
          await waitFor(() => rec.events.length === 2 || rec.errors.length > 0, 10_000);
          assert.deepEqual(rec.errors, []);
          assert.deepEqual(rec.events.map((e) => e.name), ['before-restart', 'after-restart']);
          rec.close();
        } finally {
          await writer.close();
        }
      } finally {
        await ds.close();
      }
    });
    await withEnv({ TABBY_ETCD_USERNAME: 'tabby', TABBY_ETCD_PASSWORD: 'wrong' }, () =>
      assert.rejects(openDatastore(etcd.uri), /refused the connection.*authentication failed/),
    );
    await withEnv({ TABBY_ETCD_USERNAME: undefined, TABBY_ETCD_PASSWORD: undefined }, () => assert.rejects(openDatastore(etcd.uri), /refused the connection/));
    await withEnv({ TABBY_ETCD_USERNAME: 'tabby', TABBY_ETCD_PASSWORD: undefined }, () => assert.rejects(openDatastore(etcd.uri), /must be set together/));
  } finally {
    await etcd.stop();
  }
});
