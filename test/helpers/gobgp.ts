// GoBGP for integration tests: a TOML config, `gobgpd -f CONF --api-hosts 127.0.0.1:PORT`
// inside a namespace (killed by PID), and the gobgp CLI run in the same namespace (its
// gRPC API listens on that namespace's loopback).

import { run, stopPid } from '../../src/util/exec.js';
import { TestDaemon } from './daemon.js';

export const GOBGPD = '/usr/bin/gobgpd';
export const GOBGP = '/usr/bin/gobgp';

export interface GobgpNeighbor {
  address: string;
  peerAs: number;
  holdTime?: number;
  families?: Array<'ipv4' | 'ipv6'>;
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

  async start(config: string): Promise<void> {
    const argv = [GOBGPD, '-f', this.conf, '-t', 'toml', '--api-hosts', `127.0.0.1:${this.apiPort}`, '--pprof-disable', '-p'];
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

  async addRoute(family: 'ipv4' | 'ipv6', prefix: string, nextHop: string): Promise<void> {
    await this.cli('global', 'rib', '-a', family, 'add', prefix, 'nexthop', nextHop);
  }

  async delRoute(family: 'ipv4' | 'ipv6', prefix: string): Promise<void> {
    await this.cli('global', 'rib', '-a', family, 'del', prefix);
  }

  async stop(): Promise<void> {
    const pid = this.child?.pid;
    if (pid && this.child?.exitCode === null) await stopPid(pid, 2000);
    this.child = undefined;
  }
}
