// STYLE principle 1: the codec is a leaf. Its sources import only each other and Node.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './helpers.js';

test('src/bgp/wire imports nothing else from the project and no package', () => {
  const dir = join(packageRoot(), 'src', 'bgp', 'wire');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 5);
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)[^'"]*from\s+'([^']+)'/gm)) {
      const spec = m[1]!;
      assert.ok(/^\.\/[a-z0-9-]+\.js$/.test(spec) || spec.startsWith('node:'), `${f} imports ${spec}`);
    }
  }
});

test('no module-level mutable state carries session options', () => {
  const dir = join(packageRoot(), 'src', 'bgp', 'wire');
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.ts'))) {
    const text = readFileSync(join(dir, f), 'utf8');
    assert.doesNotMatch(text, /^(?:export )?let /m, `${f} has a module-level let`);
  }
});
