// The file backend shared by several processes: the cross-process lock, re-reading state
// inside it, and watchers that follow other processes' writes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileDatastore } from '../../src/datastore/file-datastore.js';
import type { WatchEvent } from '../../src/datastore/datastore.js';

const WRITER = fileURLToPath(new URL('../fixtures/datastore-writer.js', import.meta.url));

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

interface WriterReport {
  revisions: string[];
  conflicts: number;
  lastCommitAt: number;
}

/** Runs the writer fixture; rejects on non-zero exit or after `ms`. */
function runWriter(args: string[], startAt = 0, ms = 60_000): Promise<WriterReport> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, TABBY_TEST_START_AT: String(startAt) };
    const child = spawn(process.execPath, [WRITER, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`writer ${args.join(' ')} timed out after ${ms} ms`));
    }, ms);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`writer ${args.join(' ')} exited ${code}: ${err}`));
      else resolve(JSON.parse(out) as WriterReport);
    });
  });
}

test('two processes: 200 creates and 100 contended increments, nothing lost', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tabby-ds-mp-'));
  dirs.push(dir);
  // Both children start writing at the same moment, after their start-up.
  const startAt = Date.now() + 500;
  const [a, b] = await Promise.all([runWriter([dir, 'a', '100', '50'], startAt), runWriter([dir, 'b', '100', '50'], startAt)]);

  const ds = new FileDatastore(dir);
  try {
    const items = (await ds.list('TestItem')).items.map((r) => r.metadata.name);
    assert.equal(items.length, 200);
    for (const p of ['a', 'b']) for (let i = 0; i < 100; i++) assert.ok(items.includes(`${p}-${i}`), `${p}-${i}`);
    const counter = await ds.get('TestCounter', 'shared');
    assert.deepEqual(counter?.spec, { value: 100 });

    const all = [...a.revisions, ...b.revisions];
    assert.equal(all.length, 300);
    assert.equal(new Set(all).size, 300, 'every write got its own revision');
    const { revision } = await ds.list();
    assert.equal(revision, 300, 'the store revision counts every write exactly once');
    assert.deepEqual(all.map(Number).sort((x, y) => x - y), Array.from({ length: 300 }, (_, i) => i + 1));
    // Each process's own revisions increase in the order it wrote.
    for (const r of [a, b]) for (let i = 1; i < r.revisions.length; i++) assert.ok(Number(r.revisions[i]) > Number(r.revisions[i - 1]));
    console.log(`# conflicts retried: ${a.conflicts + b.conflicts}`);
  } finally {
    await ds.close();
  }
});

test('a watcher here sees a change made by a child process within 1 s', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tabby-ds-mp-'));
  dirs.push(dir);
  const ds = new FileDatastore(dir);
  try {
    const from = (await ds.list()).revision;
    let arrivedAt = 0;
    const seen = new Promise<WatchEvent>((resolve, reject) => {
      const w = ds.watch({
        fromRevision: from,
        onEvent: (e) => {
          arrivedAt = Date.now();
          w.close();
          resolve(e);
        },
        onError: reject,
      });
    });
    const report = await runWriter([dir, 'child', '1', '0']);
    let timer: NodeJS.Timeout | undefined;
    const event = await Promise.race([
      seen,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no event within 5 s of the child exiting')), 5000);
      }),
    ]).finally(() => clearTimeout(timer));
    assert.equal(event.type, 'put');
    assert.equal(`${event.kind}/${event.name}`, 'TestItem/child-0');
    assert.ok(arrivedAt - report.lastCommitAt < 1000, `event arrived ${arrivedAt - report.lastCommitAt} ms after the commit`);
  } finally {
    await ds.close();
  }
});
