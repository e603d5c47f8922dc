#!/usr/bin/env -S node --max-semi-space-size=1 --heap-growing-percent=20
// The `tabby` executable. It turns on Node's on-disk compile cache (Node 22.1 and later;
// the image runs Node 24) before anything else loads, then starts the CLI (cli.ts): from
// the CommonJS bundle that scripts/bundle.mjs writes (dist/bundle/cli.cjs), or from the
// ES modules of dist/src. On Node 20 the bundle starts a `tabby get` in well under the
// time resolving and loading forty-odd ES modules takes (`tabby bench startup`).
// The bundle leaves the agent, lab and bench out, so those commands run from dist/src
// (route.ts); so does everything when the bundle is missing or older than the last `tsc -b`.
// The V8 flags above are for the agent (`tabby node run`), a long-running daemon with
// bursty allocation: a small young generation and tight old-generation growth keep its
// peak RSS near its live heap at no measurable CPU cost. They take effect when tabby is
// run as a program, as deployed.
import module from 'node:module';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { needsDistSrc } from './route.js';

type RunCli = () => void;

/** runCli from the bundle, when it is there and newer than the compiled sources. */
function bundled(): RunCli | undefined {
  const bundle = new URL('../../bundle/cli.cjs', import.meta.url);
  const built = statSync(bundle, { throwIfNoEntry: false });
  const compiled = statSync(new URL('../../.tsbuildinfo', import.meta.url), { throwIfNoEntry: false });
  if (!built || (compiled && compiled.mtimeMs > built.mtimeMs)) return undefined;
  return (module.createRequire(import.meta.url)(fileURLToPath(bundle)) as { runCli: RunCli }).runCli;
}

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const runCli = (needsDistSrc(process.argv.slice(2)) ? undefined : bundled()) ?? (await import('./cli.js')).runCli;
runCli();
