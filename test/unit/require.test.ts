// Under CI=true a missing tool, daemon or root fails an integration test instead of
// skipping it. Shown on the helper itself and on a real integration file run with
// GoBGP hidden from PATH.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ROOT } from '../helpers/paths.js';
import { inCi, MissingRequirementError, missing, needs, which } from '../helpers/require.js';

/** A directory holding a link to every program on PATH except `hidden`. */
function pathWithout(hidden: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tabby-path-'));
  const seen = new Set<string>();
  for (const d of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) {
      if (n === hidden || seen.has(n)) continue;
      seen.add(n);
      try {
        if (statSync(join(d, n)).isFile()) symlinkSync(join(d, n), join(dir, n));
      } catch {
        // a dangling link or a race: leave it out
      }
    }
  }
  return dir;
}

test('needs(): nothing missing, a skip reason outside CI, a failure naming the tool under CI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tabby-require-'));
  try {
    writeFileSync(join(dir, 'present-tool'), '#!/bin/sh\n');
    chmodSync(join(dir, 'present-tool'), 0o755);
    writeFileSync(join(dir, 'not-executable'), '');
    const env = { PATH: dir };
    assert.equal(which('present-tool', dir), join(dir, 'present-tool'));
    assert.equal(which('not-executable', dir), undefined);
    assert.deepEqual(needs({ tools: ['present-tool'] }, { ...env, CI: 'true' }), { skip: false });
    assert.deepEqual(missing({ tools: ['present-tool', 'absent-tool', '/nonexistent/bin/x'] }, env),
      ['absent-tool (not on PATH)', '/nonexistent/bin/x (missing or not executable)']);
    assert.deepEqual(needs({ tools: ['absent-tool'] }, env), { skip: 'needs absent-tool (not on PATH)' });
    assert.throws(() => needs({ tools: ['absent-tool'] }, { ...env, CI: 'true' }),
      (err: unknown) => err instanceof MissingRequirementError && /needs absent-tool \(not on PATH\)/.test(err.message));
    assert.equal(inCi({ CI: '1' }), true);
    assert.equal(inCi({ CI: 'false' }), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a real integration file under CI=true with gobgpd hidden from PATH fails, naming gobgpd', () => {
  const file = join(ROOT, 'dist', 'test', 'integration', 'bgp-speaker-gobgp.test.js');
  const path = pathWithout('gobgpd');
  try {
    // NODE_TEST_CONTEXT would make the inner runner report to this one instead of exiting.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const run = (ci: boolean) => spawnSync(process.execPath, ['--test', file], {
      encoding: 'utf8', timeout: 60_000, env: { ...env, PATH: path, CI: ci ? 'true' : '' },
    });
    const inCiRun = run(true);
    assert.notEqual(inCiRun.status, 0, 'the run must fail');
    assert.match(inCiRun.stdout + inCiRun.stderr, /MissingRequirementError: CI=true and this integration test needs [^\n]*gobgpd \(not on PATH\)/);
    const outside = run(false);
    assert.equal(outside.status, 0, outside.stdout + outside.stderr);
    assert.match(outside.stdout, /# SKIP needs [^\n]*gobgpd \(not on PATH\)/);
  } finally {
    rmSync(path, { recursive: true, force: true });
  }
});

// Every integration file states its needs through the helper; the few that need
// nothing but Node say so here.
const NEEDS_NOTHING = new Set([
  'bfd-udp-transport.test.ts', 'cli-invalid.test.ts', 'cli-ipam.test.ts', 'cli-resources.test.ts', 'datastore-file-multiprocess.test.ts', 'datastore-etcd-watch.test.ts',
]);

test('every integration file goes through needs(), none skips by hand', () => {
  const dir = join(ROOT, 'test', 'integration');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.test.ts'))) {
    const text = readFileSync(join(dir, f), 'utf8');
    assert.doesNotMatch(text, /skip:\s*(?:!?isRoot|'|`|\()/, `${f} computes a skip by hand`);
    if (NEEDS_NOTHING.has(f)) {
      assert.doesNotMatch(text, /getuid|needs\(/, `${f} is listed as needing nothing`);
    } else {
      // A file may run a shared suite (bgp-interop.ts) that states the needs itself.
      const sources = [text, ...[...text.matchAll(/from '\.\/([\w-]+)\.js'/g)].map((m) => readFileSync(join(dir, `${m[1]}.ts`), 'utf8'))];
      assert.ok(sources.some((t) => /from '\.\.\/helpers\/require\.js'/.test(t)), `${f} does not use test/helpers/require.ts`);
    }
  }
});
