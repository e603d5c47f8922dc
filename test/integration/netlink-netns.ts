// Namespaces for the netlink and route reconciler tests: each gets a random name and
// is deleted by its test's `after`, also when the test failed.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';


export function run(cmd: string, ...args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: 20_000, maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
}

export class TestNetns {
  readonly name: string;

  constructor(prefix: string) {
    this.name = `${prefix}-${randomBytes(4).toString('hex')}`;
    run('ip', 'netns', 'add', this.name);
  }

  /** `ip -n NS ARGS…` */
  ip(...args: string[]): string {
    return run('ip', '-n', this.name, ...args);
  }

  /** A veth pair inside the namespace, both ends up, `addr` (CIDR) on the first. */
  veth(a: string, b: string, addr?: string): void {
    this.ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
    this.ip('link', 'set', a, 'up');
    this.ip('link', 'set', b, 'up');
    if (addr) this.ip('addr', 'add', addr, 'dev', a);
  }

  destroy(): void {
    try {
      run('ip', 'netns', 'del', this.name);
    } catch {
      /* already gone */
    }
  }
}

/** Polls `check` every `stepMs` until it returns true, at most `limitMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, limitMs = 5000, stepMs = 25): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return check();
}
