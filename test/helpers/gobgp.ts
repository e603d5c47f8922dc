// GoBGP for integration tests: a TOML config, `gobgpd -f CONF --api-hosts 127.0.0.1:PORT`
// inside a namespace (killed by PID), and the gobgp CLI run in the same namespace (its
// gRPC API listens on that namespace's loopback).

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { run, stopPid } from '../../src/util/exec.js';
import { killAndWait, TestDaemon } from './daemon.js';

export const GOBGPD = '/usr/bin/gobgpd';
export const GOBGP = '/usr/bin/gobgp';

export interface GobgpNeighbor {
  address: string;
  peerAs: number;
  holdTime?: number;
  families?: Array<'ipv4' | 'ipv6'>;
  /** RFC 7911: receive several paths, send up to sendMax per prefix ([neighbors.add-paths.config]). */
  addPaths?: { receive?: boolean; sendMax?: number };
  /** We reflect for this neighbor, with this cluster id. */
  rrClusterId?: string;
}

/** A gobgpd TOML config: one global AS, neighbors with both unicast families by default. */
export function gobgpConfig(o: { asn: number; routerId: string; listen: string; neighbors: GobgpNeighbor[] }): string {
  let t = `[global.config]
  as = ${o.asn}
  router-id = "${o.routerId}"
  port = 179
  local-address-list = ["${o.listen}"]
`;
  for (const n of o.neighbors) {
    const hold = n.holdTime ?? 30;
    t += `
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${n.address}"
    peer-as = ${n.peerAs}
  [neighbors.timers.config]
    hold-time = ${hold}
    keepalive-interval = ${Math.max(1, Math.floor(hold / 3))}
    connect-retry = 2
  [neighbors.transport.config]
    local-address = "${o.listen}"
`;
    if (n.addPaths) t += `  [neighbors.add-paths.config]\n    receive = ${n.addPaths.receive === true}\n    send-max = ${n.addPaths.sendMax ?? 0}\n`;
    if (n.rrClusterId) t += `  [neighbors.route-reflector.config]\n    route-reflector-client = true\n    route-reflector-cluster-id = "${n.rrClusterId}"\n`;
    for (const f of n.families ?? ['ipv4', 'ipv6']) {
      t += `  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "${f}-unicast"
`;
    }
  }
  return t;
}

export class GoBgp extends TestDaemon {
  constructor(
    netns: string,
    dir: string,
    name: string,
    readonly apiPort = 50051,
  ) {
    super(netns, dir, name, 'toml');
  }

  /** `restarting`: gobgpd -r, graceful-restart recovery (R and F bits, selection deferral). */
  async start(config: string, opts: { restarting?: boolean } = {}): Promise<void> {
    const argv = [GOBGPD, '-f', this.conf, '-t', 'toml', '--api-hosts', `127.0.0.1:${this.apiPort}`, '--pprof-disable', '-p', ...(opts.restarting ? ['-r'] : [])];
    await this.launch(config, argv, 'gobgpd', async () => (await this.cli('global')).includes('AS'));
  }

  async cli(...args: string[]): Promise<string> {
    const r = await run([GOBGP, '-u', '127.0.0.1', '-p', String(this.apiPort), ...args], { netns: this.netns, timeoutMs: 10_000 });
    return r.stdout;
  }

  /** `gobgp neighbor ADDRESS -j`: the peer's state and what it received. */
  async neighbor(address: string): Promise<{ state: string; raw: Record<string, unknown> }> {
    const raw = JSON.parse(await this.cli('neighbor', address, '-j')) as { state?: { session_state?: number | string } } & Record<string, unknown>;
    const s = raw.state?.session_state;
    // The JSON has the gRPC enum: 6 (or "ESTABLISHED") when up.
    const state = s === 6 || s === 'ESTABLISHED' || s === 'established' ? 'established' : String(s ?? 'unknown');
    return { state, raw };
  }

  /** Prefixes in the global RIB of a family. */
  async prefixes(family: 'ipv4' | 'ipv6'): Promise<string[]> {
    const out = await this.cli('global', 'rib', '-a', family, '-j');
    const rib = out.trim() ? (JSON.parse(out) as Record<string, unknown>) : {};
    return Object.keys(rib).sort();
  }

  /** The paths of one prefix in the global RIB, as gobgp prints them in JSON. */
  async paths(family: 'ipv4' | 'ipv6', prefix: string): Promise<Array<Record<string, unknown>>> {
    const out = await this.cli('global', 'rib', '-a', family, '-j');
    const rib = out.trim() ? (JSON.parse(out) as Record<string, Array<Record<string, unknown>>>) : {};
    return rib[prefix] ?? [];
  }

  /** `gobgp monitor global rib -a FAMILY -j` in the namespace: each line's paths to `on`, until stop(). */
  monitor(family: 'ipv4' | 'ipv6', on: (paths: Array<Record<string, unknown>>) => void): { stop(): Promise<void> } {
    const child = spawn('ip', ['netns', 'exec', this.netns, GOBGP, '-u', '127.0.0.1', '-p', String(this.apiPort), 'monitor', 'global', 'rib', '--current', '-a', family, '-j'], { stdio: ['ignore', 'pipe', 'ignore'] });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const v = JSON.parse(line) as unknown;
        on(Array.isArray(v) ? (v as Array<Record<string, unknown>>) : [v as Record<string, unknown>]);
      } catch {
        /* not a path line */
      }
    });
    return {
      async stop() {
        if (child.pid && child.exitCode === null) await killAndWait(child, child.pid, 'SIGTERM');
      },
    };
  }

  async addRoute(family: 'ipv4' | 'ipv6', prefix: string, nextHop: string): Promise<void> {
    await this.cli('global', 'rib', '-a', family, 'add', prefix, 'nexthop', nextHop);
  }

  async delRoute(family: 'ipv4' | 'ipv6', prefix: string): Promise<void> {
    await this.cli('global', 'rib', '-a', family, 'del', prefix);
  }

  /** SIGTERM (or SIGKILL with `kill`: a crash) by PID. */
  async stop(opts: { kill?: boolean } = {}): Promise<void> {
    const child = this.child;
    this.child = undefined;
    const pid = child?.pid;
    if (!pid || child.exitCode !== null) return;
    if (opts.kill) await killAndWait(child, pid, 'SIGKILL');
    else await stopPid(pid, 2000);
  }
}
