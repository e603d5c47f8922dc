// STYLE principle 1: the codec is a leaf (test/unit/import-rules.test.ts checks its imports)
// and keeps what a session negotiated in options, never in module state.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './helpers.js';

test('no module-level mutable state carries session options', () => {
  const dir = join(packageRoot(), 'src', 'bgp', 'wire');
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.ts'))) {
    const text = readFileSync(join(dir, f), 'utf8');
    assert.doesNotMatch(text, /^(?:export )?let /m, `${f} has a module-level let`);
  }
});
