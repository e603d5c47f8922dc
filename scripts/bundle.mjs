// Bundles the compiled CLI (dist/src/cli/cli.js, after `tsc -b`) into one CommonJS file,
// dist/bundle/cli.cjs. On Node 20, which has no on-disk compile cache, resolving and
// loading the forty-odd ES modules of a `tabby get` costs more than the command itself;
// one CommonJS file loads in a fraction of that (`tabby bench startup`).
//
// The bundle serves the commands that need neither the agent nor the lab or the bench
// (src/cli/route.ts: `node`, `lab` and `bench` run from dist/src). Their modules are left
// out: a dynamic import of one throws instead, so a process never holds two copies of a
// module (an error class of the bundle would not be the class of the same error thrown
// by dist/src). Packages that read files beside their own sources (etcd3's .proto
// files, pino's transports) stay external and load from node_modules when used.
import { build } from 'esbuild';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'dist', 'src');
// Which directories are left out, and which commands main.ts runs from dist/src instead.
const { AGENT_SIDE } = await import(pathToFileURL(join(src, 'cli', 'route.js')).href);
const outfile = join(root, 'dist', 'bundle', 'cli.cjs');


const agentSide = {
  name: 'agent-side',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const path = resolve(dirname(args.importer), args.path);
      const top = relative(src, path).split('/')[0];
      // Static imports (a constant, the environment table) load on every run anyway.
      if (!AGENT_SIDE.includes(top) || args.kind !== 'dynamic-import') return undefined;
      return { path: relative(src, path), namespace: 'agent-side' };
    });
    b.onLoad({ filter: /.*/, namespace: 'agent-side' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`internal: dist/src/${args.path} is not in the CLI bundle; src/cli/route.ts must run this command from dist/src`)});`,
      loader: 'js',
    }));
  },
};

mkdirSync(dirname(outfile), { recursive: true });
const tmp = `${outfile}.${process.pid}`;
try {
  await build({
    entryPoints: [join(src, 'cli', 'cli.js')],
    outfile: tmp,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // import() of an external becomes require(): one instance of each package.
    supported: { 'dynamic-import': false },
    // Identifiers are kept: error classes name themselves by new.target.name.
    minifyWhitespace: true,
    minifySyntax: true,
    // Only package-root.ts reads it, to search upwards for package.json: the bundle's own
    // place does as well.
    define: { 'import.meta.url': '__bundleUrl' },
    banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
    // Also external: what only some verbs load (YAML for apply and -o yaml, JSON Patch),
    // so a `tabby get` does not read it.
    external: ['etcd3', 'pino', 'pino-pretty', 'prom-client', 'proper-lockfile', 'node-gyp', 'kubernetes-models', 'yaml', 'fast-json-patch'],
    plugins: [agentSide],
    logLevel: 'warning',
  });
  // Renamed into place: a CLI starting meanwhile sees the old bundle or the new one.
  renameSync(tmp, outfile);
} finally {
  rmSync(tmp, { force: true });
}
