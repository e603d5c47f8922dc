// Running tabby-cni the way a container runtime does: CNI_* variables, the network
// configuration on stdin, inside the namespace that plays the host.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './paths.js';

export const TABBY_CNI = join(ROOT, 'dist', 'src', 'cni', 'main.js');

export interface CniRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed, when it is JSON. */
  json?: Record<string, unknown>;
  ms: number;
}

export interface CniCall {
  command: string;
  containerID?: string;
  netns?: string;
  ifname?: string;
  args?: string;
  /** Run inside this namespace (the "host"); default: the caller's. */
  hostNetns?: string;
  /** Raw stdin, or an object to serialise. */
  conf: unknown;
  /** Extra environment, or variables to drop (undefined). */
  env?: Record<string, string | undefined>;
  /** Kill the plugin after this long (default 60 s). */
  timeoutMs?: number;
}

export function runCni(c: CniCall): Promise<CniRun> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, CNI_COMMAND: c.command, CNI_PATH: '/usr/lib/cni' };
  if (c.containerID !== undefined) env.CNI_CONTAINERID = c.containerID;
  if (c.netns !== undefined) env.CNI_NETNS = c.netns;
  if (c.ifname !== undefined) env.CNI_IFNAME = c.ifname;
  if (c.args !== undefined) env.CNI_ARGS = c.args;
  for (const [k, v] of Object.entries(c.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const argv = c.hostNetns ? ['ip', 'netns', 'exec', c.hostNetns, process.execPath, TABBY_CNI] : [process.execPath, TABBY_CNI];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, timeout: c.timeoutMs ?? 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      let json: Record<string, unknown> | undefined;
      try {
        json = stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ code: code ?? -1, stdout, stderr, json, ms: performance.now() - started });
    });
    child.stdin.end(typeof c.conf === 'string' ? c.conf : JSON.stringify(c.conf));
  });
}
