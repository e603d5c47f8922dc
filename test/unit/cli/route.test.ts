// The CLI bundle and its routing (src/cli/route.ts, scripts/bundle.mjs): which runs the
// CommonJS bundle serves, that the table of commands sent to dist/src matches what the
// code imports, and that a bundled `tabby get` loads nothing from dist/src but the entry.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { AGENT_SIDE, COMMANDS, commandWord, FROM_DIST_SRC, needsDistSrc } from '../../../src/cli/route.js';
import { TABBY, tabby } from '../../helpers/cli.js';
import { ROOT } from '../../helpers/paths.js';

test('the command is the first argument naming one, whatever options come before it', () => {
  const cases: [string[], string | undefined][] = [
    [['get', 'bgppeers'], 'get'],
    [['get', 'node', 'node-1'], 'get'], // a kind named like a command is not the command
    [['--datastore', 'file:/x', 'node', 'run'], 'node'],
    [['--datastore=file:/x', 'lab', 'up'], 'lab'],
    [['-o', 'json', 'node', 'status'], 'node'],
    [['--help'], undefined],
    [[], undefined],
    [['--', 'node'], undefined],
  ];
  for (const [argv, want] of cases) assert.equal(commandWord(argv), want, JSON.stringify(argv));
  assert.equal(needsDistSrc(['bench', 'startup']), true);
  assert.equal(needsDistSrc(['get', 'node']), false);
  assert.equal(needsDistSrc(['--help']), false);
});

test('COMMANDS names every top-level command of `tabby --help`', () => {
  const r = spawnSync(process.execPath, [TABBY, '--help'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  const listed = [...r.stdout.matchAll(/^ {2}tabby ([a-z-]+)/gm)].map((m) => m[1]!).sort();
  assert.deepEqual([...COMMANDS].sort(), listed);
  for (const c of FROM_DIST_SRC) assert.ok(COMMANDS.has(c), c);
});

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? jsFiles(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : []);
}

test('only the commands routed to dist/src import agent-side modules', () => {
  const src = join(ROOT, 'dist', 'src');
  const offenders: string[] = [];
  for (const file of jsFiles(src)) {
    const rel = relative(src, file);
    if (AGENT_SIDE.includes(rel.split('/')[0]!)) continue; // not in the bundle
    for (const m of readFileSync(file, 'utf8').matchAll(/import\(\s*'(\.[^']+)'\s*\)/g)) {
      const target = relative(src, resolve(dirname(file), m[1]!));
      if (!AGENT_SIDE.includes(target.split('/')[0]!)) continue;
      const command = /^cli\/commands\/([a-z-]+)\.js$/.exec(rel)?.[1];
      if (!command || !FROM_DIST_SRC.has(command)) offenders.push(`${rel} imports ${target}`);
    }
  }
  assert.deepEqual(offenders, [], 'add the command to FROM_DIST_SRC in src/cli/route.ts, or keep the import out of the CLI');
});

test('a bundled `tabby get` loads no ES module of dist/src but the entry; `tabby lab --help` loads them', (t) => {
  const bundle = statSync(join(ROOT, 'dist', 'bundle', 'cli.cjs'), { throwIfNoEntry: false });
  assert.ok(bundle, 'dist/bundle/cli.cjs is missing: npm run build (or scripts/setup.sh) writes it');
  const dir = mkdtempSync(join(tmpdir(), 'tabby-route-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // A module loader hook that names every dist/src module resolved.
  writeFileSync(join(dir, 'hooks.mjs'), "export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.includes('/dist/src/')) process.stderr.write('LOADED ' + r.url.split('/dist/src/')[1] + '\\n'); return r; }\n");
  writeFileSync(join(dir, 'register.mjs'), "import { register } from 'node:module'; register('./hooks.mjs', import.meta.url);\n");
  const loaded = (args: string[]) => {
    const r = spawnSync(process.execPath, ['--import', join(dir, 'register.mjs'), TABBY, '--datastore', `file:${dir}`, ...args], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    return [...new Set([...r.stderr.matchAll(/^LOADED (\S+)$/gm)].map((m) => m[1]!))].sort();
  };
  assert.equal(tabby(dir, ['create', '-f', '-'], 'apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: p1}\nspec: {peerIP: 10.0.0.1, asNumber: 64512}\n').code, 0);
  assert.deepEqual(loaded(['get', 'bgppeers']), ['cli/main.js', 'cli/route.js']);
  assert.ok(loaded(['lab', '--help']).includes('cli/cli.js'), 'lab runs from dist/src');
});
