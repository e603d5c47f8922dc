// BIRD 2 for integration tests: a config file, `bird -f -c CONF -s SOCK` inside a
// namespace (killed by PID), and birdc over the control socket (a Unix socket, so it
// works from any namespace).

import { join } from 'node:path';
import { run, stopPid } from '../../src/util/exec.js';
import { TestDaemon } from './daemon.js';

export const BIRD = '/usr/sbin/bird';
export const BIRDC = '/usr/sbin/birdc';

export interface BirdProtocol {
  /** "up", "start", "down". */
  state: string;
  /** BGP state ("Established", "Active", …). */
  bgpState?: string;
  /** The Info column: "Established", "Active Socket: Connection refused". */
  info: string;
  lastError?: string;
  raw: string;
}

export class Bird extends TestDaemon {
  readonly sock: string;

  constructor(netns: string, dir: string, name: string) {
    super(netns, dir, name, 'conf');
    this.sock = join(dir, `${name}.ctl`);
  }

  /** Writes the config and starts BIRD; `recover` starts it in graceful-restart recovery (-R). */
  async start(config: string, opts: { recover?: boolean } = {}): Promise<void> {
    const argv = [BIRD, '-f', '-c', this.conf, '-s', this.sock, ...(opts.recover ? ['-R'] : [])];
    await this.launch(config, argv, 'BIRD', async () => (await this.birdc('show', 'status')).includes('Daemon is up'));
  }

  async birdc(...args: string[]): Promise<string> {
    const r = await run([BIRDC, '-s', this.sock, ...args], { timeoutMs: 10_000 });
    return r.stdout;
  }

  /** Routes in a table (default master4), from `show route count`. */
  async routeCount(table = 'master4'): Promise<number> {
    const out = await this.birdc('show', 'route', 'table', table, 'count');
    const m = /(\d+) of \d+ routes/.exec(out);
    return m ? Number(m[1]) : 0;
  }

  /** `show route [args]`; prefixes of the networks listed. */
  async prefixes(...args: string[]): Promise<string[]> {
    const out = await this.birdc('show', 'route', ...args);
    const nets: string[] = [];
    for (const line of out.split('\n')) {
      const m = /^(\S+\/\d+)\s/.exec(line);
      if (m) nets.push(m[1]!);
    }
    return nets;
  }

  async protocol(name: string): Promise<BirdProtocol> {
    const raw = await this.birdc('show', 'protocols', 'all', name);
    const head = raw.split('\n').find((l) => l.startsWith(`${name} `)) ?? '';
    // name proto table state since info…
    const cols = head.trim().split(/\s+/);
    const info = cols.slice(5).join(' ');
    const p: BirdProtocol = { state: cols[3] ?? '', info, raw };
    const bgp = /BGP state:\s+(\S+)/.exec(raw);
    if (bgp) p.bgpState = bgp[1]!;
    const err = /Last error:\s+(.+)/.exec(raw);
    if (err) p.lastError = err[1]!.trim();
    return p;
  }

  /** SIGTERM, then SIGKILL; or SIGKILL at once (a crash). */
  async stop(opts: { kill?: boolean } = {}): Promise<void> {
    const child = this.child;
    if (!child?.pid || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (opts.kill) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    } else {
      await stopPid(child.pid, 3000);
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    this.child = undefined;
  }
}

/** A BGP protocol block with the timers tests want short. */
export function birdBgp(o: {
  name: string;
  local: string;
  localAs: number;
  neighbor: string;
  neighborAs: number;
  /** Extra lines inside the protocol (password, rr client, graceful restart, …). */
  extra?: string[];
  /** The IPv6 next hop for IPv6 routes over an IPv4 session. */
  nextHop6?: string;
  /** Extra lines inside the ipv4 channel (`add paths rx;`, …). */
  channel4?: string[];
  ipv4?: boolean;
  ipv6?: boolean;
  holdTime?: number;
}): string {
  const ibgp = o.localAs === o.neighborAs;
  const channel = (extra: string[]): string => `{ import all; export all; ${extra.join(' ')} }`;
  return `protocol bgp ${o.name} {
  local ${o.local} as ${o.localAs};
  neighbor ${o.neighbor} as ${o.neighborAs};
  hold time ${o.holdTime ?? 30};
  connect delay time 1;
  connect retry time 2;
  error wait time 1, 4;
${ibgp ? '  direct;\n' : ''}${(o.extra ?? []).map((l) => `  ${l}\n`).join('')}${o.ipv4 !== false ? `  ipv4 ${channel(o.channel4 ?? [])};\n` : ''}${o.ipv6 !== false ? `  ipv6 ${channel(o.nextHop6 ? [`next hop address ${o.nextHop6};`] : [])};\n` : ''}}
`;
}

/** router id, device protocol and static routes per family. */
export function birdBase(routerId: string, statics: { v4?: string[]; v6?: string[] } = {}): string {
  const s4 = statics.v4?.length ? `protocol static s4 { ipv4; ${statics.v4.map((p) => `route ${p} blackhole;`).join(' ')} }\n` : '';
  const s6 = statics.v6?.length ? `protocol static s6 { ipv6; ${statics.v6.map((p) => `route ${p} blackhole;`).join(' ')} }\n` : '';
  return `router id ${routerId};
log stderr all;
protocol device { scan time 10; }
${s4}${s6}`;
}
