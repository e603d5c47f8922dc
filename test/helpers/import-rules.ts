// The layering rules of src/ (DESIGN.md "The pieces", STYLE.md "Shape of the code") as
// data, and a checker that reads every import of a tree and lists what breaks them.
// src/errors.ts is the one module every layer may import: it imports nothing itself,
// so a leaf that uses it stays a leaf.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';

export interface ImportEdge {
  /** The importing file, relative to the root, with forward slashes. */
  file: string;
  line: number;
  specifier: string;
  /** A project file relative to the root (`src/native/routes.ts`), or the bare package (`node:fs`, `pino`). */
  target: string;
}

export interface SourceFile {
  file: string;
  /** The text with comments blanked (line numbers kept). */
  code: string;
  imports: ImportEdge[];
}

export interface Violation {
  rule: string;
  file: string;
  line: number;
  detail: string;
}

// `import … from 'x'`, `export … from 'x'` (across lines), `import 'x'`, `import('x')`.
const STATIC = /\b(?:import|export)\s+(?:type\s+)?(?:[\w*${},\s]+?\s+from\s+)?['"]([^'"]+)['"]/g;
const DYNAMIC = /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

function blankComments(text: string): string {
  const keepLines = (m: string) => m.replace(/[^\n]/g, ' ');
  return text.replace(/\/\*[\s\S]*?\*\//g, keepLines).replace(/(^|[^:'"`\\])\/\/[^\n]*/g, (m, pre: string) => pre + keepLines(m.slice(pre.length)));
}

function listTs(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(listTs(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function toPosix(p: string): string {
  return p.split(sep).join('/');
}

/** Every .ts file under `root/src` with its imports resolved. Throws on a relative import that names no file. */
export function readSources(root: string): SourceFile[] {
  return listTs(join(root, 'src')).map((abs) => {
    const file = toPosix(relative(root, abs));
    const code = blankComments(readFileSync(abs, 'utf8'));
    const imports: ImportEdge[] = [];
    for (const re of [STATIC, DYNAMIC]) {
      for (const m of code.matchAll(re)) {
        const specifier = m[1]!;
        const line = code.slice(0, m.index).split('\n').length;
        let target = specifier;
        if (specifier.startsWith('.')) {
          target = posix.normalize(posix.join(posix.dirname(file), specifier)).replace(/\.js$/, '.ts');
          if (!existsSync(join(root, target))) throw new Error(`${file}:${line}: import ${specifier} names no file (${target})`);
        } else if (!specifier.startsWith('node:')) {
          target = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
        }
        imports.push({ file, line, specifier, target });
      }
    }
    return { file, code, imports };
  });
}

const under = (...dirs: string[]) => (p: string) => dirs.some((d) => (d.endsWith('.ts') ? p === d : p.startsWith(`${d}/`)));
const isProject = (t: string) => t.startsWith('src/') || t.startsWith('test/') || t.startsWith('scripts/') || t.startsWith('../');
const ERRORS = 'src/errors.ts';

export interface ImportRule {
  name: string;
  why: string;
  /** Which importing files the rule speaks of. */
  applies: (file: string) => boolean;
  /** True when the import breaks the rule. */
  forbids: (target: string) => boolean;
}

export interface CodeRule {
  name: string;
  why: string;
  applies: (file: string) => boolean;
  /** Source text (comments blanked) that breaks the rule. */
  pattern: RegExp;
}

const PURE = under('src/bgp/rib', 'src/calc', 'src/bfd/fsm.ts');
// The BFD codec: packets in, typed values out, like bgp/wire.
const BFD_CODEC = under('src/bfd/codec.ts', 'src/bfd/constants.ts', 'src/bfd/errors.ts');
// Node modules a pure module may use: none that touches a file, socket, process or clock.
const PURE_NODE = new Set(['node:buffer']);

export const IMPORT_RULES: ImportRule[] = [
  {
    name: 'errors-root',
    why: 'src/errors.ts is imported by every layer, so it imports nothing of the project',
    applies: (f) => f === ERRORS,
    forbids: isProject,
  },
  {
    name: 'wire-leaf',
    why: 'the BGP codec is a leaf: only itself, src/errors.ts and Node',
    applies: under('src/bgp/wire'),
    forbids: (t) => (isProject(t) ? !under('src/bgp/wire', ERRORS)(t) : !t.startsWith('node:')),
  },
  {
    name: 'pure',
    why: 'bgp/rib, calc and the BFD state machine are pure: no I/O, timers, logging or native code',
    applies: PURE,
    forbids: (t) =>
      (t.startsWith('node:') && !PURE_NODE.has(t)) ||
      under('src/native', 'src/util', 'src/datastore', 'src/dataplane', 'src/bgp/session', 'src/agent')(t) ||
      ['pino', 'prom-client', 'etcd3', 'proper-lockfile'].includes(t),
  },
  {
    name: 'bfd-codec-leaf',
    why: 'the BFD codec is a leaf: only itself, src/errors.ts and Node',
    applies: BFD_CODEC,
    forbids: (t) => (isProject(t) ? !(BFD_CODEC(t) || t === ERRORS) : !t.startsWith('node:')),
  },
  {
    name: 'bfd-no-bgp-dataplane-datastore',
    why: 'BFD tells liveness as data; the agent joins it to the speaker',
    applies: under('src/bfd'),
    forbids: under('src/bgp', 'src/dataplane', 'src/datastore', 'src/client', 'src/agent'),
  },
  {
    name: 'dataplane-no-bgp',
    why: 'the dataplane receives routes as plain data and never imports bgp',
    applies: under('src/dataplane'),
    forbids: under('src/bgp'),
  },
  {
    name: 'api-no-storage',
    why: 'the resource API knows no storage (src/client joins the two)',
    applies: under('src/api'),
    forbids: (t) => under('src/datastore', 'src/client')(t) || ['etcd3', 'proper-lockfile'].includes(t),
  },
  {
    name: 'speaker-no-datastore-dataplane',
    why: 'the speaker gets its configuration and hands out routes as data; the agent wires it',
    applies: under('src/bgp/speaker.ts', 'src/bgp/speaker'),
    forbids: under('src/datastore', 'src/dataplane', 'src/client'),
  },
  {
    name: 'native-imports-nothing',
    why: 'native knows nothing of its callers: only itself and src/errors.ts',
    applies: under('src/native'),
    forbids: (t) => isProject(t) && !under('src/native', ERRORS)(t),
  },
  {
    name: 'src-no-test-code',
    why: 'test doubles live under test/; nothing shipped imports them',
    applies: under('src'),
    forbids: (t) => isProject(t) && !t.startsWith('src/'),
  },
  {
    name: 'lab-only-from-cli-bench-lab',
    why: 'the lab builds demo topologies; only the CLI, the bench and the lab itself use it',
    applies: (f) => f.startsWith('src/') && !under('src/cli', 'src/bench', 'src/lab')(f),
    forbids: under('src/lab'),
  },
];

export const CODE_RULES: CodeRule[] = [
  {
    name: 'pure',
    why: 'bgp/rib, calc and the BFD state machine are pure: no timers, process state or console output',
    applies: PURE,
    pattern: /\b(?:setTimeout|setInterval|setImmediate|queueMicrotask)\s*\(|\bprocess\.|\bconsole\./,
  },
];

/** Every broken rule in the tree at `root`, in file order. */
export function checkImportRules(root: string, rules = { imports: IMPORT_RULES, code: CODE_RULES }): Violation[] {
  const out: Violation[] = [];
  for (const src of readSources(root)) {
    for (const rule of rules.imports) {
      if (!rule.applies(src.file)) continue;
      for (const e of src.imports) {
        if (rule.forbids(e.target)) out.push({ rule: rule.name, file: src.file, line: e.line, detail: `imports ${e.specifier}: ${rule.why}` });
      }
    }
    for (const rule of rules.code) {
      if (!rule.applies(src.file)) continue;
      const m = rule.pattern.exec(src.code);
      if (m) out.push({ rule: rule.name, file: src.file, line: src.code.slice(0, m.index).split('\n').length, detail: `uses ${m[0].trim()}: ${rule.why}` });
    }
  }
  return out;
}

export function formatViolations(v: Violation[]): string {
  return v.map((x) => `${x.file}:${x.line} [${x.rule}] ${x.detail}`).join('\n');
}
