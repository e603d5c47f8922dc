// FRR for integration tests: zebra and bgpd started by the test inside a namespace, with
// their own directory for configuration, pid files and vty sockets (owned by the frr
// user the daemons drop to), and vtysh pointed at those sockets. Killed by PID.

import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import type { ChildProcess } from 'node:child_process';
import { run, startDaemon, waitFor } from '../../src/util/exec.js';
import { killAndWait } from './daemon.js';

export const ZEBRA = '/usr/lib/frr/zebra';
export const BGPD = '/usr/lib/frr/bgpd';
export const VTYSH = '/usr/bin/vtysh';
export const haveFrr = existsSync(ZEBRA) && existsSync(BGPD) && existsSync(VTYSH);

/** The uid/gid FRR's daemons switch to (they must own the socket directory). */
function frrIds(): { uid: number; gid: number } | undefined {
  try {
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('frr:'));
    if (!line) return undefined;
    const f = line.split(':');
    return { uid: Number(f[2]), gid: Number(f[3]) };
  } catch {
    return undefined;
  }
}

export class Frr {
  readonly dir: string;
  private zebra: ChildProcess | undefined;
  private bgpd: ChildProcess | undefined;

  constructor(
    readonly netns: string,
    parent: string,
    readonly name: string,
  ) {
    this.dir = join(parent, name);
    mkdirSync(this.dir, { recursive: true });
    const ids = frrIds();
    if (ids && userInfo().uid === 0) {
      chownSync(this.dir, ids.uid, ids.gid);
      // The test's temporary directory is 0700: the frr user must get through it to its own.
      chmodSync(parent, 0o711);
    }
  }

  private common(daemon: string): string[] {
    return ['-f', join(this.dir, `${daemon}.conf`), '-i', join(this.dir, `${daemon}.pid`), '-z', join(this.dir, 'zserv.api'), '--vty_socket', this.dir, '--log', 'stdout', ...(process.env.DEBUG_FRR ? ['--log-level', 'debug'] : [])];
  }

  /** Starts zebra (once) and bgpd with this configuration; resolves when vtysh answers. */
  async start(bgpdConfig: string): Promise<void> {
    if (!this.zebra || this.zebra.exitCode !== null) {
      writeFileSync(join(this.dir, 'zebra.conf'), `hostname ${this.name}-zebra\n`);
      this.zebra = startDaemon([ZEBRA, ...this.common('zebra')], { netns: this.netns, logFile: join(this.dir, 'zebra.log') });
      await waitFor(`zebra in ${this.netns}`, () => existsSync(join(this.dir, 'zserv.api')) || this.zebra!.exitCode !== null, 10_000, 50);
      if (this.zebra.exitCode !== null) throw new Error(`zebra exited: ${this.log('zebra')}`);
    }
    await this.startBgpd(bgpdConfig);
  }

  /** bgpd alone (a restart keeps zebra and so the kernel routes). */
  async startBgpd(config: string): Promise<void> {
    writeFileSync(join(this.dir, 'bgpd.conf'), config);
    this.bgpd = startDaemon([BGPD, ...this.common('bgpd')], { netns: this.netns, logFile: join(this.dir, 'bgpd.log') });
    const b = this.bgpd;
    await waitFor(`bgpd in ${this.netns}`, async () => b.exitCode !== null || (await this.vtysh('show bgp summary json').catch(() => '')).includes('"as"'), 10_000, 100);
    if (b.exitCode !== null) throw new Error(`bgpd exited: ${this.log('bgpd')}`);
  }

  async vtysh(...commands: string[]): Promise<string> {
    const r = await run([VTYSH, '--vty_socket', this.dir, ...commands.flatMap((c) => ['-c', c])], { timeoutMs: 10_000 });
    return r.stdout;
  }

  async json<T = Record<string, unknown>>(command: string): Promise<T> {
    return JSON.parse(await this.vtysh(`${command} json`)) as T;
  }

  /** Neighbour state as `show bgp neighbors ADDR json` gives it ("Established", …). */
  async neighborState(address: string): Promise<string> {
    const n = await this.json<Record<string, { bgpState?: string }>>(`show bgp neighbors ${address}`).catch(() => ({}) as Record<string, { bgpState?: string }>);
    return n[address]?.bgpState ?? 'unknown';
  }

  /** One prefix from the BGP table of its family, or undefined. */
  async route(prefix: string): Promise<Record<string, unknown> | undefined> {
    const fam = prefix.includes(':') ? 'ipv6' : 'ipv4';
    const r = await this.json<{ paths?: Array<Record<string, unknown>> }>(`show bgp ${fam} unicast ${prefix}`).catch(() => ({}) as { paths?: Array<Record<string, unknown>> });
    return r.paths?.[0];
  }

  log(daemon: 'zebra' | 'bgpd'): string {
    try {
      return readFileSync(join(this.dir, `${daemon}.log`), 'utf8').slice(process.env.DEBUG_FRR ? -200000 : -3000); // DEBUG_FRR: the whole story
    } catch {
      return '';
    }
  }

  /** bgpd only; SIGKILL is a crash. */
  async stopBgpd(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const b = this.bgpd;
    this.bgpd = undefined;
    if (b?.pid && b.exitCode === null) await killAndWait(b, b.pid, signal);
  }

  async stop(): Promise<void> {
    await this.stopBgpd('SIGKILL');
    const z = this.zebra;
    this.zebra = undefined;
    if (z?.pid && z.exitCode === null) await killAndWait(z, z.pid, 'SIGTERM');
  }
}
