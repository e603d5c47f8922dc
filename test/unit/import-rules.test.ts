// The layering rules hold for every import in src/, and the checker catches each kind
// of violation when one is planted in a tree of its own.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { checkImportRules, CODE_RULES, formatViolations, IMPORT_RULES, readSources } from '../helpers/import-rules.js';
import { ROOT } from '../helpers/paths.js';

test('src/ keeps every layering rule', () => {
  const sources = readSources(ROOT);
  assert.ok(sources.length > 100, `read ${sources.length} files`);
  assert.ok(sources.reduce((n, s) => n + s.imports.length, 0) > 500, 'imports were found');
  const broken = checkImportRules(ROOT);
  assert.equal(broken.length, 0, `layering rules broken:\n${formatViolations(broken)}`);
});

// A tree with one clean file per layer and one planted violation per rule.
const FIXTURE: Record<string, string> = {
  'src/errors.ts': 'export class TabbyError extends Error {}\n',
  'src/bgp/wire/ok.ts': "import { TabbyError } from '../../errors.js';\nimport { Buffer } from 'node:buffer';\nexport const ok = [TabbyError, Buffer];\n",
  'src/bgp/wire/bad.ts': "import { rib } from '../rib/ok.js';\nexport const bad = rib;\n",
  'src/bgp/wire/bad-package.ts': "import pino from 'pino';\nexport const bad = pino;\n",
  'src/bgp/rib/ok.ts': "import { ok } from '../wire/ok.js';\n// setTimeout( in a comment is fine\nexport const rib = ok;\n",
  'src/bgp/rib/bad-timer.ts': 'export function later(f: () => void) {\n  return setTimeout(f, 10);\n}\n',
  'src/bfd/codec.ts': "import { TabbyError } from '../errors.js';\nimport { x } from './constants.js';\nexport const ok = [TabbyError, x];\n",
  'src/bfd/constants.ts': "import { parseIP } from '../api/net.js';\nexport const x = parseIP;\n",
  'src/bfd/fsm.ts': "import { ok } from './codec.js';\nexport const f = () => setInterval(() => ok, 1);\n",
  'src/bfd/bad.ts': "import { rib } from '../bgp/rib/ok.js';\nexport const b = rib;\n",
  'src/calc/bad-native.ts': "import { routeDump } from '../native/routes.js';\nexport const x = routeDump;\n",
  'src/calc/bad-io.ts': "import {\n  readFileSync,\n} from 'node:fs';\nexport const x = readFileSync;\n",
  'src/native/routes.ts': "import { TabbyError } from '../errors.js';\nexport const routeDump = TabbyError;\n",
  'src/native/bad.ts': "import { x } from '../api/net.js';\nexport const y = x;\n",
  'src/api/net.ts': 'export const x = 1;\nexport const parseIP = 1;\n',
  'src/api/bad.ts': "export type { Store } from '../datastore/store.js';\n",
  'src/datastore/store.ts': 'export interface Store { a: 1 }\n',
  'src/dataplane/bad.ts': "const m = await import('../bgp/rib/ok.js');\nexport const y = m;\n",
  'src/bgp/speaker/bad.ts': "import type { Store } from '../../datastore/store.js';\nexport type S = Store;\n",
  'src/bgp/speaker.ts': "import '../dataplane/bad.js';\n",
  'src/agent/bad.ts': "import { lab } from '../lab/lab.js';\nimport { FakeClock } from '../../test/helpers/fake-clock.js';\nexport const z = [lab, FakeClock];\n",
  'src/cli/ok.ts': "import { lab } from '../lab/lab.js';\nexport const z = lab;\n",
  'src/lab/lab.ts': 'export const lab = 1;\n',
  'test/helpers/fake-clock.ts': 'export class FakeClock {}\n',
};

test('the checker reports each planted violation under its rule, and nothing else', () => {
  const root = mkdtempSync(join(tmpdir(), 'tabby-import-rules-'));
  try {
    for (const [path, text] of Object.entries(FIXTURE)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    const got = checkImportRules(root).map((v) => `${v.rule} ${v.file}:${v.line}`).sort();
    assert.deepEqual(got, [
      'api-no-storage src/api/bad.ts:1',
      'bfd-codec-leaf src/bfd/constants.ts:1',
      'bfd-no-bgp-dataplane-datastore src/bfd/bad.ts:1',
      'dataplane-no-bgp src/dataplane/bad.ts:1',
      'lab-only-from-cli-bench-lab src/agent/bad.ts:1',
      'native-imports-nothing src/native/bad.ts:1',
      'pure src/bfd/fsm.ts:2',
      'pure src/bgp/rib/bad-timer.ts:2',
      'pure src/calc/bad-io.ts:1',
      'pure src/calc/bad-native.ts:1',
      'speaker-no-datastore-dataplane src/bgp/speaker.ts:1',
      'speaker-no-datastore-dataplane src/bgp/speaker/bad.ts:1',
      'src-no-test-code src/agent/bad.ts:2',
      'wire-leaf src/bgp/wire/bad-package.ts:1',
      'wire-leaf src/bgp/wire/bad.ts:1',
    ]);
    // Every rule has a planted case above, so none can pass by never matching.
    const names = new Set([...IMPORT_RULES, ...CODE_RULES].map((r) => r.name));
    const caught = new Set(got.map((g) => g.split(' ')[0]));
    assert.deepEqual([...names].filter((n) => !caught.has(n) && n !== 'errors-root'), []);

    writeFileSync(join(root, 'src/errors.ts'), "import { x } from './api/net.js';\nexport const e = x;\n");
    assert.deepEqual(checkImportRules(root).filter((v) => v.rule === 'errors-root').map((v) => v.file), ['src/errors.ts']);

    writeFileSync(join(root, 'src/api/typo.ts'), "import { x } from './nett.js';\n");
    assert.throws(() => checkImportRules(root), /src\/api\/typo\.ts:1: import \.\/nett\.js names no file/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
