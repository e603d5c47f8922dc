// FRR for integration tests: zebra, bfdd and bgpd started by the test inside a namespace,
// with every path (configs, pid files, zserv and vty sockets, bfdd's control socket) in
// their own directory, owned by the frr user the daemons drop to; vtysh reaches them
// through that directory. Killed by PID. bgpd can restart alone (zebra, and so the
// kernel routes, stay: FRR's graceful restart).

import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import type { ChildProcess } from 'node:child_process';
import { run, startDaemon, waitFor } from '../../src/util/exec.js';
import { killAndWait } from './daemon.js';

const FRR_LIB = '/usr/lib/frr';
export const VTYSH = '/usr/bin/vtysh';
/** What `needs()` checks before an FRR test starts. */
export const FRR_TOOLS = [...['zebra', 'bgpd', 'bfdd'].map((d) => join(FRR_LIB, d)), VTYSH];

type Daemon = 'zebra' | 'bfdd' | 'bgpd';

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
  private readonly children = new Map<Daemon, ChildProcess>();

  constructor(
    readonly netns: string,
    parent: string,
    readonly name = 'frr',
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

  private argv(d: Daemon): string[] {
    return [
      join(FRR_LIB, d),
      '-f', join(this.dir, `${d}.conf`),
      '-i', join(this.dir, `${d}.pid`),
      '-z', join(this.dir, 'zserv.api'),
      '--vty_socket', this.dir,
      '-P', '0',
      '--log', 'stdout',
      ...(process.env.DEBUG_FRR ? ['--log-level', 'debug'] : []),
      ...(d === 'bfdd' ? ['--bfdctl', join(this.dir, 'bfdd.sock')] : []),
    ];
  }

  private async launch(d: Daemon, config: string): Promise<void> {
    writeFileSync(join(this.dir, `${d}.conf`), config);
    const child = startDaemon(this.argv(d), { netns: this.netns, logFile: join(this.dir, `${d}.log`) });
    this.children.set(d, child);
    await waitFor(`FRR ${d} in ${this.netns}`, () => child.exitCode !== null || existsSync(join(this.dir, `${d}.vty`)), 10_000, 50);
    if (child.exitCode !== null) throw new Error(`FRR ${d} exited: ${this.log(d)}`);
  }

  /** Starts zebra (once), bfdd when it has a configuration, then bgpd; resolves when bgpd answers vtysh. */
  async start(configs: { bgpd: string; zebra?: string; bfdd?: string }): Promise<void> {
    const z = this.children.get('zebra');
    if (!z || z.exitCode !== null) await this.launch('zebra', configs.zebra ?? `hostname ${this.name}-zebra\n`);
    if (configs.bfdd !== undefined) await this.launch('bfdd', configs.bfdd);
    await this.startBgpd(configs.bgpd);
  }

  /** bgpd alone (a restart keeps zebra and so the kernel routes). */
  async startBgpd(config: string): Promise<void> {
    await this.launch('bgpd', config);
    const b = this.children.get('bgpd')!;
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

  /** `show bgp neighbors ADDR json`: the neighbour's BGP state ("Established", "Active", …). */
  async bgpState(neighbor: string): Promise<string | undefined> {
    const n = await this.json<Record<string, { bgpState?: string }>>(`show bgp neighbors ${neighbor}`).catch(() => ({}) as Record<string, { bgpState?: string }>);
    return n[neighbor]?.bgpState;
  }

  /** `show bfd peer ADDR json`: the session's status ("up", "down", "init"). */
  async bfdStatus(peer: string): Promise<string | undefined> {
    return (await this.json<{ status?: string }>(`show bfd peer ${peer}`)).status;
  }

  /** One prefix from the BGP table of its family, or undefined. */
  async route(prefix: string): Promise<Record<string, unknown> | undefined> {
    const fam = prefix.includes(':') ? 'ipv6' : 'ipv4';
    const r = await this.json<{ paths?: Array<Record<string, unknown>> }>(`show bgp ${fam} unicast ${prefix}`).catch(() => ({}) as { paths?: Array<Record<string, unknown>> });
    return r.paths?.[0];
  }

  log(d: Daemon): string {
    try {
      return readFileSync(join(this.dir, `${d}.log`), 'utf8').slice(process.env.DEBUG_FRR ? -200000 : -3000); // DEBUG_FRR: the whole story
    } catch {
      return '';
    }
  }

  private async kill(d: Daemon, signal: NodeJS.Signals): Promise<void> {
    const c = this.children.get(d);
    this.children.delete(d);
    if (c?.pid && c.exitCode === null) await killAndWait(c, c.pid, signal);
  }

  /** bgpd only; SIGKILL is a crash. */
  stopBgpd(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    return this.kill('bgpd', signal);
  }

  async stop(): Promise<void> {
    await this.kill('bgpd', 'SIGKILL');
    await this.kill('bfdd', 'SIGTERM');
    await this.kill('zebra', 'SIGTERM');
  }
}

/** The head of a bgpd `router bgp` block with what every test wants: no policy needed, short timers. */
export function frrRouterBgp(asn: number, routerId: string): string {
  return `router bgp ${asn}
 bgp router-id ${routerId}
 no bgp ebgp-requires-policy
 no bgp network import-check
 timers bgp 10 30
`;
}
