// FRR for integration tests: zebra, bfdd and bgpd started inside a namespace with every
// path (configs, pid files, zserv and vty sockets, bfdd's control socket) in the test's
// own directory, killed by PID; vtysh reaches them through that directory. The daemons
// drop to the frr user, so the directory is handed to it.

import { chownSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { run, startDaemon, stopPid, waitFor } from '../../src/util/exec.js';

const FRR_LIB = '/usr/lib/frr';
export const VTYSH = '/usr/bin/vtysh';
/** What `needs()` checks before an FRR test starts. */
export const FRR_TOOLS = [...['zebra', 'bgpd', 'bfdd'].map((d) => join(FRR_LIB, d)), VTYSH];

const DAEMONS = ['zebra', 'bfdd', 'bgpd'] as const;
type Daemon = (typeof DAEMONS)[number];

export class Frr {
  private readonly children = new Map<Daemon, ChildProcess>();

  constructor(
    readonly netns: string,
    readonly dir: string,
  ) {}

  /** Writes one config per daemon and starts zebra, then bfdd and bgpd; waits until vtysh answers. */
  async start(configs: Partial<Record<Daemon, string>>): Promise<void> {
    const uid = Number(execFileSync('id', ['-u', 'frr'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'frr'], { encoding: 'utf8' }).trim());
    chownSync(this.dir, uid, gid);
    for (const d of DAEMONS) {
      const conf = join(this.dir, `${d}.conf`);
      writeFileSync(conf, configs[d] ?? '!\n');
      chownSync(conf, uid, gid);
      const argv = [
        join(FRR_LIB, d),
        '-f', conf,
        '-i', join(this.dir, `${d}.pid`),
        '-z', join(this.dir, 'zserv.api'),
        '--vty_socket', this.dir,
        '-P', '0',
        '--log', `file:${join(this.dir, `${d}.log`)}`,
        ...(d === 'bfdd' ? ['--bfdctl', join(this.dir, 'bfdd.sock')] : []),
      ];
      this.children.set(d, startDaemon(argv, { netns: this.netns, logFile: join(this.dir, `${d}.out`) }));
      await waitFor(`FRR ${d} in ${this.netns}`, () => existsSync(join(this.dir, `${d}.vty`)), 10_000, 50);
    }
  }

  async vtysh(...commands: string[]): Promise<string> {
    const r = await run([VTYSH, '--vty_socket', this.dir, ...commands.flatMap((c) => ['-c', c])], { timeoutMs: 10_000 });
    return r.stdout;
  }

  /** `show bgp neighbors ADDR json`: the neighbor's BGP state ("Established", "Active", …). */
  async bgpState(neighbor: string): Promise<string | undefined> {
    const out = JSON.parse(await this.vtysh(`show bgp neighbors ${neighbor} json`)) as Record<string, { bgpState?: string }>;
    return out[neighbor]?.bgpState;
  }

  /** `show bfd peer ADDR json`: the session's status ("up", "down", "init"). */
  async bfdStatus(peer: string): Promise<string | undefined> {
    const out = JSON.parse(await this.vtysh(`show bfd peer ${peer} json`)) as { status?: string };
    return out.status;
  }

  log(d: Daemon): string {
    try {
      return readFileSync(join(this.dir, `${d}.log`), 'utf8');
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    for (const d of [...DAEMONS].reverse()) {
      const pid = this.children.get(d)?.pid;
      if (pid) await stopPid(pid, 3000);
    }
    this.children.clear();
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
