// The commit is read from git's own files: a checkout (.git directory, loose or packed
// ref, detached HEAD) and a worktree (.git file naming its directory, refs in commondir).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildInfo, formatBuildInfo, gitCommit } from '../../../src/util/build-info.js';
import { packageRoot } from '../../../src/util/package-root.js';

const root = mkdtempSync(join(tmpdir(), 'tabby-build-info-'));
after(() => rmSync(root, { recursive: true, force: true }));
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

function write(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

test('commit from a .git directory: loose ref, packed ref, detached HEAD', () => {
  const repo = join(root, 'repo');
  write(join(repo, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  write(join(repo, '.git', 'refs', 'heads', 'main'), `${A}\n`);
  assert.equal(gitCommit(repo), A);
  rmSync(join(repo, '.git', 'refs', 'heads', 'main'));
  write(join(repo, '.git', 'packed-refs'), `# pack-refs with: peeled\n${B} refs/heads/main\n`);
  assert.equal(gitCommit(repo), B);
  write(join(repo, '.git', 'HEAD'), `${A}\n`);
  assert.equal(gitCommit(repo), A);
});

test('commit from a worktree: .git is a file, refs live in the common dir', () => {
  const main = join(root, 'main', '.git');
  write(join(main, 'refs', 'heads', 'feature'), `${B}\n`);
  write(join(main, 'worktrees', 'wt', 'HEAD'), 'ref: refs/heads/feature\n');
  write(join(main, 'worktrees', 'wt', 'commondir'), '../..\n');
  const wt = join(root, 'wt');
  write(join(wt, '.git'), `gitdir: ${join(main, 'worktrees', 'wt')}\n`);
  assert.equal(gitCommit(wt), B);
  assert.equal(gitCommit(join(root, 'nowhere')), undefined);
});

test('this build: package version, Node, digests of the addon and eBPF objects', () => {
  const info = buildInfo(packageRoot);
  assert.match(info.version, /^\d+\.\d+\.\d+/);
  assert.equal(info.node, process.version);
  assert.match(info.commit, /^[0-9a-f]{40}$|^unknown$/);
  assert.match(info.addon, /^sha256:[0-9a-f]{12}$|^missing$/);
  for (const d of Object.values(info.bpf)) assert.match(d, /^sha256:[0-9a-f]{12}$/);
  const text = formatBuildInfo(info);
  // calicoctl version's first two lines (commands/version.go), then Tabby's.
  assert.match(text, /^Client Version: {4}\d/);
  assert.match(text, /\nGit commit: {8}\S+\nNode: {14}v\d+/);
});
