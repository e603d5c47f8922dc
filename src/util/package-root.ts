// The package root, found from this file (works both from src/ and from dist/src/):
// where bpf/build, dist and the fixtures live.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TabbyError } from '../errors.js';

function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new TabbyError(`no package.json above ${start}`);
    dir = up;
  }
}

export const packageRoot: string = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
