// ExaBGP for integration tests: a configuration file and `exabgp CONF` inside a
// namespace (killed by PID). What it receives is written by its API as JSON lines to a
// file (a process that appends its stdin), so a test can read every UPDATE and
// End-of-RIB the peer got, attributes included, in order.

import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stopPid } from '../../src/util/exec.js';
import { TestDaemon } from './daemon.js';

export const EXABGP = '/usr/sbin/exabgp';
export const haveExabgp = existsSync(EXABGP);

/** One route as ExaBGP received it. */
export interface ExaRoute {
  family: 'ipv4 unicast' | 'ipv6 unicast' | string;
  prefix: string;
  nextHop: string;
  attributes: Record<string, unknown>;
}

/** One received message, reduced to what tests look at. */
export type ExaEvent =
  | { kind: 'announce'; route: ExaRoute }
  | { kind: 'withdraw'; family: string; prefix: string }
  | { kind: 'eor'; family: string }
  | { kind: 'state'; state: string };

export interface ExaNeighbor {
  address: string;
  localAddress: string;
  routerId: string;
  localAs: number;
  peerAs: number;
  md5?: string;
  holdTime?: number;
  /** Graceful restart time to advertise (ExaBGP sets the F bit for every family). */
  gracefulRestart?: number;
  /** `route …;` lines inside `static { }`. */
  routes?: string[];
}

export class ExaBgp extends TestDaemon {
  readonly received: string;

  constructor(netns: string, dir: string, name: string) {
    super(netns, dir, name, 'conf');
    this.received = join(dir, `${name}.received.jsonl`);
  }

  config(n: ExaNeighbor): string {
    const oracle = join(this.dir, `${this.name}.oracle.sh`);
    // The shell keeps its stdout (ExaBGP's pipe) open while cat appends: a closed one reads as the process dying.
    writeFileSync(oracle, `#!/bin/sh\ncat >> '${this.received}'\n`);
    chmodSync(oracle, 0o755);
    return `process oracle {
  run ${oracle};
  encoder json;
}
neighbor ${n.address} {
  router-id ${n.routerId};
  local-address ${n.localAddress};
  local-as ${n.localAs};
  peer-as ${n.peerAs};
  hold-time ${n.holdTime ?? 30};
  group-updates false;
${n.md5 ? `  md5-password "${n.md5}";\n` : ''}  capability {
    route-refresh;
${n.gracefulRestart ? `    graceful-restart ${n.gracefulRestart};\n` : ''}  }
  family {
    ipv4 unicast;
    ipv6 unicast;
  }
  api {
    processes [ oracle ];
    neighbor-changes;
    receive { parsed; update; }
  }
  static {
${(n.routes ?? []).map((r) => `    ${r}\n`).join('')}  }
}
`;
  }

  async start(n: ExaNeighbor): Promise<void> {
    const env = {
      ...process.env,
      'exabgp.daemon.user': 'root',
      'exabgp.daemon.daemonize': 'false',
      'exabgp.log.destination': 'stdout',
      'exabgp.log.level': 'INFO',
      'exabgp.api.cli': 'false',
      'exabgp.tcp.bind': '',
    };
    await this.launch(this.config(n), [EXABGP, this.conf], 'ExaBGP', async () => /Loaded|reactor|Connected|peer/i.test(this.log()), env);
  }

  /** Everything received so far, in order. */
  events(): ExaEvent[] {
    let text = '';
    try {
      text = readFileSync(this.received, 'utf8');
    } catch {
      return [];
    }
    const out: ExaEvent[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      const nb = m.neighbor as Record<string, unknown> | undefined;
      if (m.type === 'state' && nb) {
        out.push({ kind: 'state', state: String(nb.state) });
        continue;
      }
      const msg = (nb?.message as Record<string, unknown> | undefined) ?? {};
      if (msg.eor) {
        const e = msg.eor as { afi: string; safi: string };
        out.push({ kind: 'eor', family: `${e.afi} ${e.safi}` });
        continue;
      }
      const u = msg.update as Record<string, unknown> | undefined;
      if (!u) continue;
      const attributes = (u.attribute as Record<string, unknown>) ?? {};
      for (const [family, byNh] of Object.entries((u.announce as Record<string, Record<string, Array<{ nlri: string }>>>) ?? {})) {
        for (const [nextHop, list] of Object.entries(byNh)) for (const r of list) out.push({ kind: 'announce', route: { family, prefix: r.nlri, nextHop, attributes } });
      }
      for (const [family, list] of Object.entries((u.withdraw as Record<string, Array<{ nlri: string }>>) ?? {})) {
        for (const r of list) out.push({ kind: 'withdraw', family, prefix: r.nlri });
      }
    }
    return out;
  }

  /** The routes it holds now: announcements not withdrawn since. */
  routes(): Map<string, ExaRoute> {
    const held = new Map<string, ExaRoute>();
    for (const e of this.events()) {
      if (e.kind === 'announce') held.set(e.route.prefix, e.route);
      else if (e.kind === 'withdraw') held.delete(e.prefix);
    }
    return held;
  }

  async stop(opts: { kill?: boolean } = {}): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child?.pid || child.exitCode !== null) return;
    if (opts.kill) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      await new Promise((r) => setTimeout(r, 100));
    } else {
      await stopPid(child.pid, 3000);
    }
  }
}
