// Shared by the bgp-session integration tests: two namespaces joined by a veth pair,
// peer processes started inside them (killed by PID), and a line reader for their events.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { run } from './netlink-netns.js';
import { killAndWait } from '../helpers/daemon.js';

export const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'bgp-session-peer.fixture.js');

export interface Pair {
  a: string;
  b: string;
  /** Addresses on a's and b's veth ends; `a2` is a second address on a. */
  addrA: string;
  addrA2: string;
  addrB: string;
  /** IPv6 addresses on the same veth ends. */
  addr6A: string;
  addr6B: string;
  destroy(): void;
}

/** Namespaces A and B with a0 (10.X.Y.1 and .3) — b0 (10.X.Y.2) in a /29. */
export function nsPair(prefix: string): Pair {
  const tag = randomBytes(3).toString('hex');
  const a = `${prefix}-${tag}-a`;
  const b = `${prefix}-${tag}-b`;
  const net = `10.${randomInt(200, 250)}.${randomInt(0, 255)}`;
  const pair: Pair = {
    a,
    b,
    addrA: `${net}.1`,
    addrA2: `${net}.3`,
    addrB: `${net}.2`,
    // Canonical text (no leading zeros in a group): tests compare addresses as strings.
    addr6A: `fd00:${parseInt(tag.slice(0, 4), 16).toString(16)}::1`,
    addr6B: `fd00:${parseInt(tag.slice(0, 4), 16).toString(16)}::2`,
    destroy() {
      for (const ns of [a, b]) {
        try {
          run('ip', 'netns', 'del', ns);
        } catch {
          /* already gone */
        }
      }
    },
  };
  run('ip', 'netns', 'add', a);
  try {
    run('ip', 'netns', 'add', b);
    run('ip', '-n', a, 'link', 'set', 'lo', 'up');
    run('ip', '-n', b, 'link', 'set', 'lo', 'up');
    run('ip', '-n', a, 'link', 'add', 'a0', 'type', 'veth', 'peer', 'name', 'b0', 'netns', b);
    run('ip', '-n', a, 'addr', 'add', `${pair.addrA}/29`, 'dev', 'a0');
    run('ip', '-n', a, 'addr', 'add', `${pair.addrA2}/29`, 'dev', 'a0');
    run('ip', '-n', b, 'addr', 'add', `${pair.addrB}/29`, 'dev', 'b0');
    run('ip', '-n', a, 'addr', 'add', `${pair.addr6A}/64`, 'dev', 'a0', 'nodad');
    run('ip', '-n', b, 'addr', 'add', `${pair.addr6B}/64`, 'dev', 'b0', 'nodad');
    run('ip', '-n', a, 'link', 'set', 'a0', 'up');
    run('ip', '-n', b, 'link', 'set', 'b0', 'up');
  } catch (err) {
    pair.destroy();
    throw err;
  }
  return pair;
}

export type PeerEvent = { event: string } & Record<string, unknown>;

/** A process started inside a namespace; its stdout is read as JSON lines. */
export class NsProcess {
  readonly child: ChildProcess;
  readonly events: PeerEvent[] = [];
  stderr = '';
  private waiters: Array<() => void> = [];

  constructor(ns: string, argv: string[], json = true) {
    this.child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-20000)));
    if (json) {
      createInterface({ input: this.child.stdout! }).on('line', (line) => {
        try {
          this.events.push(JSON.parse(line) as PeerEvent);
        } catch {
          this.events.push({ event: 'text', line });
        }
        for (const w of this.waiters.splice(0)) w();
      });
    }
    this.child.on('exit', () => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the first event matching, or undefined after `ms`. */
  async waitFor(pred: (e: PeerEvent) => boolean, ms: number): Promise<PeerEvent | undefined> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.events.find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0 || this.child.exitCode !== null) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  send(cmd: Record<string, unknown>): void {
    this.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
  }

  /** Asks a fixture for its status. */
  async status(): Promise<{ status: Record<string, unknown> & { state: string; lastError?: string; info: string; counters: Record<string, unknown> }; listener?: { accepted: number; refused: number; refusedFrom: Record<string, number> } }> {
    const n = this.events.length;
    this.send({ cmd: 'status' });
    const e = await this.waitFor((x) => x.event === 'status' && this.events.indexOf(x) >= n, 5000);
    if (!e) throw new Error(`no status from ${this.pid}; stderr: ${this.stderr}`);
    return e as never;
  }

  /** Kills by PID and waits for the exit. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await killAndWait(this.child, this.pid, 'SIGTERM');
  }
}

/** A Tabby peer (bgp-session-peer.fixture) inside `ns`. */
export function tabbyPeer(ns: string, config: Record<string, unknown>): NsProcess {
  return new NsProcess(ns, [process.execPath, FIXTURE, JSON.stringify(config)]);
}
