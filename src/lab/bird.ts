// BIRD 2 as the lab's ToR router: one eBGP session per node and address family, learned
// routes of both families exported into its kernel so the "outside" namespace behind it
// reaches workloads.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, startDaemon } from '../util/exec.js';

export interface TorConfig {
  routerId: string;
  asn: number;
  /** Any AS but the ToR's own is accepted, so nodes can change theirs live. Each session carries its address's family. */
  neighbors: { name: string; address: string; local: string }[];
}

const channel = (address: string) => (address.includes(':') ? 'ipv6' : 'ipv4');

export function torBirdConfig(c: TorConfig): string {
  const families = [...new Set(c.neighbors.map((n) => channel(n.address)))];
  const peers = c.neighbors
    .map(
      (n) => `protocol bgp ${n.name.replace(/[^A-Za-z0-9_]/g, '_')} {
  local ${n.local} as ${c.asn};
  neighbor ${n.address} external;
  multihop;
  graceful restart on;
  hold time 30;
  connect retry time 2;
  ${channel(n.address)} { import all; export where source = RTS_BGP; next hop self; };
}`,
    )
    .join('\n');
  return `router id ${c.routerId};
log stderr all;
protocol device { scan time 5; }
${families
    .map((f) => `protocol direct { ${f}; }
protocol kernel { ${f} { import none; export filter { if source = RTS_BGP then accept; reject; }; }; merge paths on; }`)
    .join('\n')}
${peers}
`;
}

export async function startBird(opts: { netns: string; dir: string; config: string }): Promise<{ pid: number; socket: string }> {
  mkdirSync(opts.dir, { recursive: true });
  const conf = join(opts.dir, 'bird.conf');
  const socket = join(opts.dir, 'bird.ctl');
  writeFileSync(conf, opts.config);
  await run(['bird', '-p', '-c', conf]); // parse check: a clear error instead of a dead daemon
  const child = startDaemon(['bird', '-f', '-c', conf, '-s', socket], { netns: opts.netns, logFile: join(opts.dir, 'bird.log') });
  return { pid: child.pid!, socket };
}

export async function birdc(socket: string, command: string): Promise<string> {
  return (await run(['birdc', '-s', socket, ...command.split(' ')], { timeoutMs: 10_000 })).stdout;
}

/** Names of BIRD's BGP protocols that are Established. */
export async function birdEstablished(socket: string): Promise<string[]> {
  const out = await birdc(socket, 'show protocols');
  return out
    .split('\n')
    .filter((l) => /\sBGP\s/.test(l) && /Established/.test(l))
    .map((l) => l.split(/\s+/)[0]!);
}
