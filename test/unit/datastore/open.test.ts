import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_DATASTORE_URI, openDatastore, parseDatastoreUri, resolveDatastoreUri, type DatastoreUri } from '../../../src/datastore/open.js';
import { FileDatastore } from '../../../src/datastore/file-datastore.js';
import { DatastoreError } from '../../../src/errors.js';

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

test('parseDatastoreUri accepts (table)', () => {
  const cases: [string, DatastoreUri][] = [
    ['file:/var/lib/tabby', { type: 'file', dir: '/var/lib/tabby' }],
    ['file:/tmp/x/', { type: 'file', dir: '/tmp/x' }],
    ['file:///srv/tabby', { type: 'file', dir: '/srv/tabby' }],
    ['file:relative/dir', { type: 'file', dir: resolve('relative/dir') }],
    ['etcd:http://127.0.0.1:2379', { type: 'etcd', endpoints: ['http://127.0.0.1:2379'] }],
    ['etcd:http://a:2379,https://b.example:2379/', { type: 'etcd', endpoints: ['http://a:2379', 'https://b.example:2379'] }],
    ['etcd:http://a:2379, http://b:2380', { type: 'etcd', endpoints: ['http://a:2379', 'http://b:2380'] }],
    ['etcd:http://[::1]:2379', { type: 'etcd', endpoints: ['http://[::1]:2379'] }],
    ['etcd:http://h:80', { type: 'etcd', endpoints: ['http://h:80'] }],
  ];
  for (const [uri, want] of cases) assert.deepEqual(parseDatastoreUri(uri), want, uri);
});

test('parseDatastoreUri rejects with a DatastoreError naming the URI (table)', () => {
  const cases: [string, RegExp][] = [
    ['', /no scheme/],
    ['/var/lib/tabby', /no scheme/],
    [':x', /no scheme/],
    ['mysql:foo', /unknown scheme "mysql".*file:DIR or etcd:/],
    ['FILE:/x', /unknown scheme/],
    ['file:', /empty directory/],
    ['file://host/dir', /host is not supported/],
    ['etcd:', /endpoint 1.*empty/],
    ['etcd:http://a:2379,', /endpoint 2.*empty/],
    ['etcd:a:2379', /http:\/\/ or https:\/\//],
    ['etcd:not a url', /not a URL/],
    ['etcd:ftp://a:21', /http:\/\/ or https:\/\//],
    ['etcd:http://a', /needs a port/],
    ['etcd:http://a:0', /needs a port/],
    ['etcd:http://a:99999', /not a URL/],
    ['etcd:http://a:2379/v3', /just scheme/],
    ['etcd:http://a:2379?x=1', /just scheme/],
    ['etcd:http://u:p@a:2379', /credentials/],
  ];
  for (const [uri, msg] of cases) {
    assert.throws(
      () => parseDatastoreUri(uri),
      (e: unknown) => e instanceof DatastoreError && msg.test(e.message) && e.message.includes(JSON.stringify(uri)),
      uri,
    );
  }
});

test('resolveDatastoreUri: explicit, then env, then default (table)', () => {
  const cases: { uri?: string; env: NodeJS.ProcessEnv; want: string }[] = [
    { env: {}, want: DEFAULT_DATASTORE_URI },
    { env: { TABBY_DATASTORE: '' }, want: DEFAULT_DATASTORE_URI },
    { env: { TABBY_DATASTORE: 'file:/env' }, want: 'file:/env' },
    { uri: 'file:/arg', env: { TABBY_DATASTORE: 'file:/env' }, want: 'file:/arg' },
    { uri: 'etcd:http://a:1', env: {}, want: 'etcd:http://a:1' },
  ];
  for (const c of cases) assert.equal(resolveDatastoreUri(c.uri, c.env), c.want, JSON.stringify(c));
  assert.equal(DEFAULT_DATASTORE_URI, 'file:/var/lib/tabby');
});

test('openDatastore uses TABBY_DATASTORE when no URI is given', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tabby-open-'));
  dirs.push(dir);
  const saved = process.env.TABBY_DATASTORE;
  process.env.TABBY_DATASTORE = `file:${dir}`;
  try {
    const ds = await openDatastore();
    try {
      assert.ok(ds instanceof FileDatastore);
      assert.equal(ds.dir, dir);
      await ds.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' } });
    } finally {
      await ds.close();
    }
    const explicit = await openDatastore(`file:${dir}`);
    try {
      assert.equal((await explicit.list()).items.length, 1);
    } finally {
      await explicit.close();
    }
  } finally {
    if (saved === undefined) delete process.env.TABBY_DATASTORE;
    else process.env.TABBY_DATASTORE = saved;
  }
});

test('openDatastore errors (table)', async () => {
  const cases: [string, RegExp][] = [
    ['zk:host', /unknown scheme/],
    ['etcd:ftp://127.0.0.1:2379', /etcd/],
  ];
  for (const [uri, msg] of cases) await assert.rejects(openDatastore(uri), (e: unknown) => e instanceof DatastoreError && msg.test(e.message), uri);
});
