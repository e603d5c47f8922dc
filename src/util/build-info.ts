// What this build of Tabby is: package version, git commit, Node, and the native addon and
// eBPF objects it would load (named by a digest of their bytes, since they are built
// separately from the TypeScript and can drift from it). Shown by `tabby version`, in
// `node status -o json` and as the tabby_build_info metric.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageRoot } from './package-root.js';

export interface BuildInfo {
  version: string;
  commit: string;
  node: string;
  /** `sha256:` + 12 hex digits of the addon's .node file, or "missing". */
  addon: string;
  /** Object file name → `sha256:` + 12 hex digits. */
  bpf: Record<string, string>;
}

function digest(path: string): string {
  try {
    return `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 12)}`;
  } catch {
    return 'missing';
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * The commit checked out at `root`, read from git's files (no git binary needed): `.git`
 * may be a directory or, in a worktree, a file naming the real one. An image has no .git;
 * its build writes dist/build-info.json instead.
 */
export function gitCommit(root: string): string | undefined {
  let gitDir = join(root, '.git');
  try {
    if (statSync(gitDir).isFile()) gitDir = resolve(root, readText(gitDir)!.replace(/^gitdir:\s*/, ''));
  } catch {
    return undefined;
  }
  const head = readText(join(gitDir, 'HEAD'));
  if (!head) return undefined;
  if (!head.startsWith('ref:')) return head;
  const ref = head.slice(4).trim();
  // A worktree keeps HEAD to itself but shares refs with the main repository.
  const common = readText(join(gitDir, 'commondir'));
  const refDirs = [gitDir, ...(common ? [resolve(gitDir, common)] : [])];
  for (const dir of refDirs) {
    const loose = readText(join(dir, ref));
    if (loose) return loose;
    const packed = readText(join(dir, 'packed-refs'));
    const line = packed?.split('\n').find((l) => l.endsWith(` ${ref}`));
    if (line) return line.split(' ')[0];
  }
  return undefined;
}

let cached: BuildInfo | undefined;

export function buildInfo(root = packageRoot): BuildInfo {
  if (cached) return cached;
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const stamped = (() => {
    try {
      return JSON.parse(readFileSync(join(root, 'dist', 'build-info.json'), 'utf8')) as { commit?: string };
    } catch {
      return {};
    }
  })();
  const bpfDir = join(root, 'bpf', 'build');
  let objects: string[] = [];
  try {
    objects = readdirSync(bpfDir).filter((f) => f.endsWith('.bpf.o')).sort();
  } catch {
    // No eBPF objects built: the map stays empty.
  }
  cached = {
    version: pkg.version,
    commit: gitCommit(root) ?? stamped.commit ?? 'unknown',
    node: process.version,
    addon: digest(join(root, 'addon', 'build', 'Release', 'tabby_native.node')),
    bpf: Object.fromEntries(objects.map((f) => [f, digest(join(bpfDir, f))])),
  };
  return cached;
}

/** calicoctl's `version` layout, with Tabby's extra lines. */
export function formatBuildInfo(b: BuildInfo): string {
  const bpf = Object.entries(b.bpf).map(([f, d]) => `${f} ${d}`).join(', ') || 'none built';
  const rows: [string, string][] = [
    ['Client Version:', b.version],
    ['Git commit:', b.commit],
    ['Node:', b.node],
    ['Addon:', `tabby_native.node ${b.addon}`],
    ['eBPF objects:', bpf],
  ];
  return rows.map(([k, v]) => `${k.padEnd(18)} ${v}`).join('\n') + '\n';
}
