import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './paths.js';

export const TABBY = join(ROOT, 'dist', 'src', 'cli', 'main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the tabby CLI against a datastore directory (synchronously, 20 s at most). */
export function tabby(dir: string, args: string[], input?: string): CliResult {
  const r = spawnSync(process.execPath, [TABBY, '--datastore', `file:${dir}`, ...args], {
    input,
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, TABBY_DATASTORE: undefined },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The same, without blocking the event loop (for concurrent runs). */
export function tabbyAsync(dir: string, args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TABBY, '--datastore', `file:${dir}`, ...args], { timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** A temporary directory removed by the returned cleanup function. */
export function tempDir(prefix = 'tabby-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
