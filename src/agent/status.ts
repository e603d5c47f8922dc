// The agent's status as other tools read it (`tabby node status -o json`, DESIGN.md).
import type { BuildInfo } from '../util/build-info.js';
import type { PeerBfdJson } from './peer-bfd.js';

export interface PeerStatusJson {
  address: string;
  family: 'ipv4' | 'ipv6';
  type: 'node-to-node mesh' | 'global' | 'node specific';
  asn: number;
  /** up / start / down, as calicoctl shows BIRD's protocol state. */
  state: string;
  /** The FSM state name, optionally followed by the last error. */
  info: string;
  since: string;
  name?: string;
  prefixes: { received: number; accepted: number; advertised: number };
  /** Peers with failureDetectionMode BFDIfDirectlyConnected: their BFD session. */
  bfd?: PeerBfdJson;
}

export interface NodeStatusJson {
  node: string;
  running: true;
  ready?: boolean;
  datastoreReady?: boolean;
  /** `tabby version`'s facts about the running agent's build. */
  build?: BuildInfo;
  peers: PeerStatusJson[];
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** BIRD-style "since": the time of day when today, else the date. */
export function formatSince(since: Date, now = new Date()): string {
  const sameDay = since.toDateString() === now.toDateString();
  return sameDay
    ? `${pad2(since.getHours())}:${pad2(since.getMinutes())}:${pad2(since.getSeconds())}`
    : `${since.getFullYear()}-${pad2(since.getMonth() + 1)}-${pad2(since.getDate())}`;
}

/** BIRD's protocol state column as calicoctl shows it. */
export function protocolState(fsm: string, adminDown = false): string {
  if (adminDown) return 'down';
  return fsm === 'Established' ? 'up' : 'start';
}

/** calicoctl's boxed table (olekukonko/tablewriter look: centred headers, left cells). */
export function boxTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const centre = (s: string, w: number) => {
    const left = Math.floor((w - s.length) / 2);
    return ' '.repeat(left) + s + ' '.repeat(w - s.length - left);
  };
  const head = `|${headers.map((h, i) => ` ${centre(h, widths[i]!)} `).join('|')}|`;
  const body = rows.map((r) => `|${r.map((c, i) => ` ${c.padEnd(widths[i]!)} `).join('|')}|`);
  return [line, head, line, ...body, line].join('\n') + '\n';
}

export function formatNodeStatus(status: NodeStatusJson): string {
  const out = ['Tabby process is running.', ''];
  for (const family of ['ipv4', 'ipv6'] as const) {
    const v = family === 'ipv4' ? 'IPv4' : 'IPv6';
    const peers = status.peers.filter((p) => p.family === family);
    out.push(`${v} BGP status`);
    if (peers.length === 0) out.push(`No ${v} peers found.`, '');
    else out.push(boxTable(['PEER ADDRESS', 'PEER TYPE', 'STATE', 'SINCE', 'INFO'], peers.map((p) => [p.address, p.type, p.state, p.since, p.info])));
  }
  return out.join('\n');
}
